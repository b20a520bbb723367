"""The PSA's agreements and products (a cache), and the billing profiles built on products.

Converts to and from the billing core's Agreement, Product and
BillingProfile. A profile's ``id`` in the core is the database id as text.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from peewee import IntegrityError

from app.billing import types as core
from app.models.billing import BillingProfile, Mapping, PsaAgreement, PsaProduct
from app.models.connections import PsaConnection
from app.models.records import RecordInUse, RecordNotFound
from app.models.repositories import summaries
from app.models.repositories._base import Repository
from app.models.repositories.versions import (
    check_version,
    conflict,
    delete_versioned,
    record_change,
    update_versioned,
)

PROFILE = "profile"


def _connection(connection_id: int) -> PsaConnection:
    row = PsaConnection.get_or_none(PsaConnection.id == connection_id)
    if row is None:
        raise RecordNotFound(f"(PSA connection {connection_id})")
    return row


def agreement_to_core(row: PsaAgreement) -> core.Agreement:
    return core.Agreement(
        id=row.psa_id,
        company_id=row.company_psa_id,
        name=row.name,
        type_name=row.type_name,
        cycle=core.Cycle(row.cycle),
        anchor=core.Anchor(row.anchor),
        start=row.start,
        prorates=row.prorates,
        status=core.AgreementStatus(row.status),
        currency=row.currency,
    )


def product_to_core(row: PsaProduct) -> core.Product:
    return core.Product(
        id=row.psa_id,
        identifier=row.identifier,
        description=row.description,
        price=row.price,
        cost=row.cost,
        active=row.active,
    )


def _write_product(row: PsaProduct, product: core.Product, fetched_at: datetime) -> None:
    row.identifier = product.identifier
    row.description = product.description
    row.price = product.price
    row.cost = product.cost
    row.active = product.active
    row.fetched_at = fetched_at
    row.save()


class Catalog(Repository):
    """Cached agreements and products of each PSA connection."""

    def replace_agreements(
        self,
        connection_id: int,
        agreements: Iterable[core.Agreement],
        *,
        company_psa_id: str | None = None,
        fetched_at: datetime | None = None,
    ) -> None:
        """Store the agreements as read now, dropping cached ones the PSA no longer lists
        (of ``company_psa_id`` only, when given)."""
        _connection(connection_id)
        fetched_at = fetched_at or self._now()
        with self.atomic():
            query = PsaAgreement.select().where(PsaAgreement.connection == connection_id)
            if company_psa_id is not None:
                query = query.where(PsaAgreement.company_psa_id == company_psa_id)
            existing = {row.psa_id: row for row in query}
            seen = set()
            changed = set()
            for agreement in agreements:
                if company_psa_id is not None and agreement.company_id != company_psa_id:
                    raise ValueError(
                        f"agreement {agreement.id} belongs to company {agreement.company_id}, not {company_psa_id}"
                    )
                seen.add(agreement.id)
                row = existing.get(agreement.id) or PsaAgreement.get_or_none(
                    (PsaAgreement.connection == connection_id) & (PsaAgreement.psa_id == agreement.id)
                )
                row = row or PsaAgreement(connection=connection_id, psa_id=agreement.id)
                before = agreement_to_core(row) if row.id is not None else None
                row.company_psa_id = agreement.company_id
                row.name = agreement.name
                row.type_name = agreement.type_name
                row.cycle = agreement.cycle.value
                row.anchor = agreement.anchor.value
                row.start = agreement.start
                row.prorates = agreement.prorates
                row.status = agreement.status.value
                row.currency = agreement.currency
                row.fetched_at = fetched_at
                row.save()
                if before != agreement_to_core(row):
                    changed.add(agreement.id)
            gone = {psa_id: row.id for psa_id, row in existing.items() if psa_id not in seen}
            if gone:
                PsaAgreement.delete().where(PsaAgreement.id.in_(list(gone.values()))).execute()
            summaries.agreements_changed(changed | set(gone))

    def agreements(self, connection_id: int, company_psa_id: str | None = None) -> list[core.Agreement]:
        query = PsaAgreement.select().where(PsaAgreement.connection == connection_id)
        if company_psa_id is not None:
            query = query.where(PsaAgreement.company_psa_id == company_psa_id)
        return [agreement_to_core(row) for row in query.order_by(PsaAgreement.name, PsaAgreement.id)]

    def agreement(self, connection_id: int, psa_id: str) -> core.Agreement | None:
        row = PsaAgreement.get_or_none((PsaAgreement.connection == connection_id) & (PsaAgreement.psa_id == psa_id))
        return None if row is None else agreement_to_core(row)

    def agreement_types(self, connection_id: int) -> list[str]:
        """The agreement type names seen on cached agreements, sorted."""
        query = (
            PsaAgreement.select(PsaAgreement.type_name)
            .where((PsaAgreement.connection == connection_id) & (PsaAgreement.type_name != ""))
            .distinct()
        )
        return sorted(row.type_name for row in query)

    def replace_products(
        self, connection_id: int, products: Iterable[core.Product], *, fetched_at: datetime | None = None
    ) -> None:
        """Store the catalog as read now. Products the PSA no longer lists are kept,
        marked inactive, because billing profiles may still name them."""
        _connection(connection_id)
        fetched_at = fetched_at or self._now()
        with self.atomic():
            existing = {row.psa_id: row for row in PsaProduct.select().where(PsaProduct.connection == connection_id)}
            seen = set()
            priced = set()  # products new to the connection, or at another price: what the Companies list bills
            for product in products:
                seen.add(product.id)
                row = existing.get(product.id) or PsaProduct(connection=connection_id, psa_id=product.id)
                before = None if row.id is None else str(row.price)
                _write_product(row, product, fetched_at)
                if before != str(row.price):
                    priced.add(product.id)
            for psa_id, row in existing.items():
                if psa_id not in seen and row.active:
                    row.active = False
                    row.save()
            summaries.products_changed(priced)

    def products(self, connection_id: int, *, active_only: bool = False) -> list[core.Product]:
        query = PsaProduct.select().where(PsaProduct.connection == connection_id)
        if active_only:
            query = query.where(PsaProduct.active == True)  # noqa: E712 (peewee expression)
        return [product_to_core(row) for row in query.order_by(PsaProduct.identifier, PsaProduct.id)]

    def product(self, connection_id: int, psa_id: str) -> core.Product | None:
        row = PsaProduct.get_or_none((PsaProduct.connection == connection_id) & (PsaProduct.psa_id == psa_id))
        return None if row is None else product_to_core(row)


def profile_to_core(row: BillingProfile) -> core.BillingProfile:
    return core.BillingProfile(
        id=str(row.id),
        name=row.name,
        product=product_to_core(row.product),
        price=core.PricePolicy(kind=core.PriceKind(row.price_kind), fixed=row.price_fixed, percent=row.price_percent),
        billing_option=core.BillingOption(row.billing_option),
        allowed_agreement_types=frozenset(row.allowed_agreement_types),
    )


def profile_row(profile_id: str | int) -> BillingProfile:
    try:
        key = int(profile_id)
    except (TypeError, ValueError):
        raise RecordNotFound(f"(billing profile {profile_id!r}: save the profile first)") from None
    row = BillingProfile.select(BillingProfile, PsaProduct).join(PsaProduct).where(BillingProfile.id == key).first()
    if row is None:
        raise RecordNotFound(f"(billing profile {profile_id})")
    return row


def profile_doc(profile: core.BillingProfile, product: PsaProduct) -> dict[str, Any]:
    """A billing profile as the configuration history keeps it (JSON; money as text)."""
    return {"name": profile.name, "connection_id": product.connection_id, "product_id": product.psa_id,
            "product": product.identifier or product.description, "price_kind": profile.price.kind.value,
            "price_fixed": profile.price.fixed, "price_percent": profile.price.percent,
            "billing_option": profile.billing_option.value,
            "allowed_agreement_types": sorted(profile.allowed_agreement_types)}


def _stored_doc(row: BillingProfile) -> dict[str, Any]:
    return profile_doc(profile_to_core(row), row.product)


class Profiles(Repository):
    """Billing profiles: a PSA product with a price policy, billing option and allowed types.
    Each change is checked against the version its editor read and audited (versions.py)."""

    def save(self, connection_id: int, profile: core.BillingProfile, *, expected_version: int | None = None,
             actor: str = "") -> core.BillingProfile:
        """Create (``profile.id`` empty) or update the profile; return it with its id.

        The profile's product is looked up in the connection's cached catalog;
        when absent it is cached from the profile's own copy. ``expected_version``: the version the editor
        read (None: save over whatever is stored); ``EditConflict`` when someone saved or removed the
        profile since. A save that changes nothing writes nothing.
        """
        _connection(connection_id)
        with self.atomic():
            product = PsaProduct.get_or_none(
                (PsaProduct.connection == connection_id) & (PsaProduct.psa_id == profile.product.id)
            )
            if product is None:
                product = PsaProduct(connection=connection_id, psa_id=profile.product.id)
                _write_product(product, profile.product, self._now())
                summaries.products_changed([product.psa_id])  # a company's catalog now has it
            now = self._now()
            row = _profile_or_none(profile.id) if profile.id else None
            if profile.id and row is None and expected_version is None:
                profile_row(profile.id)  # RecordNotFound, saying which
            if profile.id:
                check_version(row, expected_version, kind=PROFILE, key=profile.id,
                              what=lambda: f"Billing profile '{row.name if row else profile.name}'")
            before = None if row is None else _stored_doc(row)
            values = {BillingProfile.name: profile.name, BillingProfile.product: product,
                      BillingProfile.price_kind: profile.price.kind.value,
                      BillingProfile.price_fixed: profile.price.fixed,
                      BillingProfile.price_percent: profile.price.percent,
                      BillingProfile.billing_option: profile.billing_option.value,
                      BillingProfile.allowed_agreement_types: sorted(profile.allowed_agreement_types),
                      BillingProfile.updated_at: now}
            if row is None:
                profile_id = BillingProfile.insert({**values, BillingProfile.created_at: now, BillingProfile.version: 1,
                                                    BillingProfile.updated_by: actor}).execute()
            else:
                profile_id = row.id
                if profile_doc(profile, product) == before:
                    return self.get(profile_id)
                if not update_versioned(BillingProfile, row, values, actor=actor):
                    raise conflict(PROFILE, str(row.id), f"Billing profile '{row.name}'", _profile_or_none(row.id))
                summaries.profile_changed(row.id)
            saved = profile_row(profile_id)
            record_change(kind=PROFILE, key=str(saved.id), action="changed" if row else "created", before=before,
                          after=_stored_doc(saved), actor=actor, at=now)
        return profile_to_core(saved)

    def save_many(self, connection_id: int, profiles: Iterable[core.BillingProfile], *,
                  actor: str = "") -> list[core.BillingProfile]:
        """Bulk creation: all or none."""
        with self.atomic():
            return [self.save(connection_id, profile, actor=actor) for profile in profiles]

    def get(self, profile_id: str | int) -> core.BillingProfile:
        return profile_to_core(profile_row(profile_id))

    def versions(self, connection_id: int | None = None) -> dict[str, int]:
        """Each profile's version by its id, for an editor of the list."""
        query = BillingProfile.select(BillingProfile.id, BillingProfile.version)
        if connection_id is not None:
            query = query.join(PsaProduct).where(PsaProduct.connection == connection_id)
        return {str(profile_id): version for profile_id, version in query.tuples()}

    def all(self, connection_id: int | None = None) -> list[core.BillingProfile]:
        query = BillingProfile.select(BillingProfile, PsaProduct).join(PsaProduct)
        if connection_id is not None:
            query = query.where(PsaProduct.connection == connection_id)
        return [profile_to_core(row) for row in query.order_by(BillingProfile.name, BillingProfile.id)]

    def delete(self, profile_id: str | int, *, expected_version: int | None = None, actor: str = "") -> None:
        """Remove the profile; ``RecordInUse`` while mappings use it, ``EditConflict`` when someone saved it
        since ``expected_version``."""
        with self.atomic():
            row = _profile_or_none(profile_id)
            if row is None and expected_version is not None:
                raise conflict(PROFILE, str(profile_id), f"Billing profile {profile_id}", None)
            row = profile_row(profile_id)
            check_version(row, expected_version, kind=PROFILE, key=str(row.id),
                          what=lambda: f"Billing profile '{row.name}'")
            in_use = Mapping.select().where(Mapping.profile == row.id).count()
            if in_use:
                raise RecordInUse(f"Billing profile '{row.name}' is used by {in_use} mapping(s); remap them first.")
            before = _stored_doc(row)
            try:
                with self.atomic():
                    deleted = delete_versioned(BillingProfile, row)
            except IntegrityError:
                raise RecordInUse(f"Billing profile '{row.name}' is still in use.") from None
            if not deleted:
                raise conflict(PROFILE, str(row.id), f"Billing profile '{row.name}'", _profile_or_none(row.id))
            record_change(kind=PROFILE, key=str(row.id), action="removed", before=before, after=None, actor=actor,
                          at=self._now())


def _profile_or_none(profile_id: str | int) -> BillingProfile | None:
    try:
        return profile_row(profile_id)
    except RecordNotFound:
        return None
