"""Billing profiles as the window lists and edits them (DESIGN §1.2).

A profile links one PSA product with a price policy, a billing option and
the agreement types it may be used on. The price a seat bills at is always
``PricePolicy.unit_price`` of the billing core, here as in the sync: a
percentage follows the PSA's price, so the effective price shown is
computed from the cached PSA price each time, never stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from app.billing.types import BillingOption, BillingProfile, PriceKind, PricePolicy, Product
from app.errors import SeatsyncError
from app.services.uow import UnitOfWork


class ProfileInvalid(SeatsyncError):
    """The billing profile cannot be saved as it is."""


@dataclass(frozen=True, kw_only=True)
class ProfileRow:
    profile: BillingProfile
    connection_id: int
    connection_name: str
    currency: str
    unit_price: Decimal  # what a seat bills at (PricePolicy.unit_price of the PSA price)
    #: The profile's version when read: the editor hands it back on save (EditConflict when it is stale).
    version: int | None = None

    @property
    def psa_price(self) -> Decimal:
        return self.profile.product.price


@dataclass(frozen=True, kw_only=True)
class ConnectionCatalog:
    """What the profile form offers for one PSA connection."""

    connection_id: int
    name: str
    currency: str
    products: tuple[Product, ...]
    agreement_types: tuple[str, ...]
    #: Product ids that already have at least one profile.
    profiled: frozenset[str]


def effective_price(policy: PricePolicy, psa_price: Decimal, currency: str = "USD") -> Decimal:
    """The unit price a seat bills at under ``policy`` (the billing core decides)."""
    return policy.unit_price(psa_price, currency)


def policy_text(policy: PricePolicy) -> str:
    if policy.kind is PriceKind.FIXED:
        return f"fixed {policy.fixed}"
    if policy.kind is PriceKind.PERCENT:
        assert policy.percent is not None
        sign = "+" if policy.percent >= 0 else "−"
        return f"PSA price {sign} {abs(policy.percent).normalize():f} %"
    return "PSA price"


def option_text(option: BillingOption) -> str:
    return {BillingOption.BILLABLE: "Billable", BillingOption.NON_BILLABLE: "Non-billable",
            BillingOption.NO_CHARGE: "No charge"}[option]


def profile_name(product: Product) -> str:
    """The name bulk creation gives a product's profile."""
    return (product.description or product.identifier or f"Product {product.id}").strip()[:200]


class ProfileService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def rows(self) -> list[ProfileRow]:
        rows = []
        for connection in self.uow.psa_connections.all():
            currency = self._currency(connection.id)
            with self.uow:  # the profiles and their versions as of one moment
                profiles, versions = self.uow.profiles.all(connection.id), self.uow.profiles.versions(connection.id)
            for profile in profiles:
                rows.append(ProfileRow(profile=profile, connection_id=connection.id, connection_name=connection.name,
                                       currency=currency,
                                       unit_price=effective_price(profile.price, profile.product.price, currency),
                                       version=versions.get(profile.id)))
        return rows

    def catalogs(self) -> list[ConnectionCatalog]:
        out = []
        for connection in self.uow.psa_connections.all():
            profiled = frozenset(p.product.id for p in self.uow.profiles.all(connection.id))
            out.append(ConnectionCatalog(
                connection_id=connection.id, name=connection.name, currency=self._currency(connection.id),
                products=tuple(self.uow.catalog.products(connection.id)),
                agreement_types=tuple(self.uow.catalog.agreement_types(connection.id)), profiled=profiled))
        return out

    def save(self, connection_id: int, profile: BillingProfile, *, expected_version: int | None = None,
             actor: str = "") -> BillingProfile:
        """Save the profile as its editor left it. ``expected_version``: the version the editor read
        (``ProfileRow.version``): ``EditConflict``, naming who saved it since, when the stored one is newer."""
        _check(profile)
        product = self.uow.catalog.product(connection_id, profile.product.id)
        if product is None:
            raise ProfileInvalid(f"(the PSA has no product {profile.product.id} in the cached catalog; "
                                 "refresh the catalog in Settings)")
        return self.uow.profiles.save(connection_id, replace(profile, product=product),
                                      expected_version=expected_version, actor=actor)

    def saved(self, profile_id: str) -> tuple[BillingProfile, int | None]:
        """The profile as stored now and its version: what its editor shows after a refused save."""
        with self.uow:
            return self.uow.profiles.get(profile_id), self.uow.profiles.versions().get(profile_id)

    def delete(self, profile_id: str, *, expected_version: int | None = None, actor: str = "") -> None:
        self.uow.profiles.delete(profile_id, expected_version=expected_version, actor=actor)

    def bulk_create(self, connection_id: int, product_ids: Iterable[str], *, price: PricePolicy = PricePolicy(),
                    billing_option: BillingOption = BillingOption.BILLABLE,
                    allowed_agreement_types: frozenset[str] = frozenset(), actor: str = "") -> list[BillingProfile]:
        """One profile per product, named after it; all or none."""
        products = {p.id: p for p in self.uow.catalog.products(connection_id)}
        missing = [i for i in product_ids if i not in products]
        if missing:
            raise ProfileInvalid(f"(products {', '.join(missing)} are not in the cached catalog)")
        profiles = [BillingProfile(id="", name=profile_name(products[i]), product=products[i], price=price,
                                   billing_option=billing_option, allowed_agreement_types=allowed_agreement_types)
                    for i in dict.fromkeys(product_ids)]
        for profile in profiles:
            _check(profile)
        return self.uow.profiles.save_many(connection_id, profiles, actor=actor)

    def _currency(self, connection_id: int) -> str:
        """The connection's usual currency: that of most of its agreements (USD when none are cached)."""
        counts = Counter(a.currency for a in self.uow.catalog.agreements(connection_id) if a.currency)
        return counts.most_common(1)[0][0] if counts else "USD"


def _check(profile: BillingProfile) -> None:
    if not profile.name.strip():
        raise ProfileInvalid("(give the profile a name)")
    if profile.price.kind is PriceKind.FIXED and profile.price.fixed is not None and profile.price.fixed < 0:
        raise ProfileInvalid(f"(a fixed price cannot be negative: {profile.price.fixed})")
    if profile.price.kind is PriceKind.PERCENT and profile.price.percent is not None and \
            profile.price.percent <= Decimal(-100):
        raise ProfileInvalid(f"(a percentage of {profile.price.percent} % would make the price zero or negative)")


def product_label(product: Product) -> str:
    return " — ".join(x for x in (product.identifier, product.description) if x) or product.id
