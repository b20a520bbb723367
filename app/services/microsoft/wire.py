"""Microsoft's JSON -> the billing core's types (License, Subscription, User).

Counts come from Graph's subscribedSkus (DESIGN §2). A license's
subscriptions are joined across the two APIs: subscribedSku.subscriptionIds
name Graph's directory subscriptions, whose ``commerceSubscriptionId`` is the
Partner Center subscription id (APIS.md §A1/§A2) that carries the terms
(term, billing cycle, commitment end, cancellation window). A subscription
Partner Center does not know (bought elsewhere, a free or trial SKU) keeps
what Graph says of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from app.billing.types import Cycle, License, Subscription, Term, User
from app.services.microsoft.fields import Reader, shown
from app.services.microsoft.skus import SkuCatalogue

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TERMS = {"p1m": Term.MONTH, "p1y": Term.YEAR, "p3y": Term.THREE_YEARS}
# Multi-year and one-time plans are paid up front like an annual one; usage
# ("none"/"unknown") has no cycle of its own and is billed monthly.
_CYCLES = {"monthly": Cycle.MONTHLY, "annual": Cycle.ANNUAL, "triennial": Cycle.ANNUAL,
           "biennial": Cycle.ANNUAL, "onetime": Cycle.ANNUAL, "none": Cycle.MONTHLY, "unknown": Cycle.MONTHLY}
_GRAPH_STATUS = {"enabled": "active", "warning": "warning", "suspended": "suspended", "lockedout": "locked_out",
                 "deleted": "deleted"}


@dataclass(frozen=True, kw_only=True)
class Customer:
    """A Partner Center customer: a tenant the partner may bill."""

    tenant_id: str
    name: str
    default_domain: str = ""
    domains: tuple[str, ...] = ()  # verified custom domains
    relationship: str = ""
    #: The partner connection whose Partner Center listed it (its database id and name); None: not said.
    partner_id: int | None = None
    partner: str = ""

    @property
    def all_domains(self) -> tuple[str, ...]:
        seen = dict.fromkeys(d.lower() for d in (self.default_domain, *self.domains) if d)
        return tuple(seen)


def customer_from_partner_center(item: Reader) -> Customer:
    profile = item.obj_at("companyProfile")
    assert profile is not None
    tenant = profile.str("tenantId", "") or item.str("id")
    if not _GUID.fullmatch(tenant):  # it goes into every URL of the customer's reads
        where, key = (profile, "tenantId") if profile.str("tenantId", "") else (item, "id")
        raise where.fail(key, f"is {shown(tenant)}, not a tenant ID (a GUID)")
    domains = tuple(str(d).lower() for d in item.list("customDomains", required=False) if isinstance(d, str))
    return Customer(tenant_id=tenant.lower(), name=profile.str("companyName"),
                    default_domain=profile.str("domain", "").lower(), domains=domains,
                    relationship=item.str("relationshipToPartner", ""))


def subscription_from_partner_center(item: Reader, sku_id: str) -> Subscription:
    term_text = item.str("termDuration", "P1M")
    term = _TERMS.get(term_text.lower())
    if term is None:
        raise item.fail("termDuration", f"is {shown(term_text)}, not P1M, P1Y or P3Y")
    cycle_text = item.str("billingCycle", "monthly")
    cycle = _CYCLES.get(cycle_text.lower())
    if cycle is None:
        raise item.fail("billingCycle", f"is {shown(cycle_text)}, not a known billing cycle")
    return Subscription(
        id=item.str("id").lower(),
        sku_id=sku_id,
        offer_name=item.str("offerName", "") or item.str("friendlyName", ""),
        quantity=item.count("quantity"),
        term=term,
        billing_cycle=cycle,
        status=item.str("status", "active").lower(),
        commitment_end=item.date("commitmentEndDate"),
        cancellation_allowed_until=item.date("cancellationAllowedUntilDate"),
        auto_renew=item.bool("autoRenewEnabled", True),
        is_trial=item.bool("isTrial", False),
    )


def subscription_from_directory(item: Reader, sku_id: str) -> Subscription:
    """What Graph alone says of a subscription: its seats, status and trial flag."""
    return Subscription(
        id=(item.str("commerceSubscriptionId", "") or item.str("id")).lower(),
        sku_id=sku_id,
        quantity=item.count("totalLicenses", 0),
        status=_GRAPH_STATUS.get(item.str("status", "Enabled").lower(), item.str("status", "").lower()),
        commitment_end=item.date("nextLifecycleDateTime"),
        is_trial=item.bool("isTrial", False),
    )


def user_from_graph(item: Reader) -> User:
    skus = []
    for i, assigned in enumerate(item.list("assignedLicenses", required=False)):
        skus.append(Reader(assigned, f"{item.where}.assignedLicenses[{i}]", item.tenant_id).str("skuId").lower())
    return User(
        id=item.str("id"),
        upn=item.str("userPrincipalName"),
        display_name=item.str("displayName", ""),
        office=item.str("officeLocation", ""),
        department=item.str("department", ""),
        city=item.str("city", ""),
        state=item.str("state", ""),
        enabled=item.bool("accountEnabled", True),
        sku_ids=frozenset(skus),
        member=item.str("userType", "Member").lower() != "guest",
    )


def licenses_from_graph(skus: Iterable[Reader], directory: Iterable[Reader] | None,
                        partner_center: Iterable[Reader] | None, catalogue: SkuCatalogue) -> tuple[License, ...]:
    """One License per subscribed SKU, its subscriptions joined across the APIs."""
    dir_by_id: dict[str, Reader] = {}
    dir_by_sku: dict[str, list[Reader]] = {}
    for sub in directory or ():
        dir_by_id[sub.str("id").lower()] = sub
        dir_by_sku.setdefault(sub.str("skuId", "").lower(), []).append(sub)
    pc_by_id = {sub.str("id").lower(): sub for sub in partner_center or ()}

    licenses = []
    for sku in skus:
        sku_id = sku.str("skuId").lower()
        part = sku.str("skuPartNumber", "")
        prepaid = sku.obj_at("prepaidUnits")
        assert prepaid is not None
        licenses.append(License(
            sku_id=sku_id,
            part_number=part,
            name=catalogue.name(sku_id, part),
            enabled=prepaid.count("enabled"),
            warning=prepaid.count("warning", 0),
            suspended=prepaid.count("suspended", 0),
            locked_out=prepaid.count("lockedOut", 0),  # older payloads omit it
            consumed=sku.count("consumedUnits"),
            subscriptions=_subscriptions_of(sku, sku_id, dir_by_id, dir_by_sku, pc_by_id),
        ))
    return tuple(sorted(licenses, key=lambda lic: (lic.part_number, lic.sku_id)))


def _subscriptions_of(sku: Reader, sku_id: str, dir_by_id: dict[str, Reader],
                      dir_by_sku: dict[str, list[Reader]], pc_by_id: dict[str, Reader]) -> tuple[Subscription, ...]:
    ids = [str(i).lower() for i in sku.list("subscriptionIds", required=False)]
    linked = [dir_by_id[i] for i in ids if i in dir_by_id] if ids else dir_by_sku.get(sku_id, [])
    subs: dict[str, Subscription] = {}
    for entry in linked:
        if entry.str("status", "").lower() == "deleted":
            continue
        commerce = entry.str("commerceSubscriptionId", "").lower()
        pc = pc_by_id.get(commerce)
        sub = subscription_from_partner_center(pc, sku_id) if pc else subscription_from_directory(entry, sku_id)
        subs[sub.id] = sub
    if not linked:  # no directory subscriptions read: the ids may be Partner Center's own
        for i in ids:
            if i in pc_by_id:
                subs[i] = subscription_from_partner_center(pc_by_id[i], sku_id)
    return tuple(sorted(subs.values(), key=lambda s: (s.commitment_end or date.max, s.id)))
