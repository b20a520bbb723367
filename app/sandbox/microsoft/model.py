"""The sandbox's world: customer tenants, their users and subscriptions.

This is mutable state (the sandbox's "database"), changed by the scenario's
time-travel methods and read by the API routes under the scenario's lock.
Graph's license counts are derived from it, never stored: purchased seats
are the quantities of the tenant's subscriptions by status, assigned seats
the users holding the SKU (APIS.md §A1).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

# Partner Center status -> Graph companySubscription / prepaidUnits bucket.
GRAPH_STATUS = {"active": "Enabled", "expired": "Warning", "suspended": "Suspended", "disabled": "LockedOut",
                "deleted": "Deleted"}
TERM_MONTHS = {"P1M": 1, "P1Y": 12, "P3Y": 36}


@dataclass(frozen=True, kw_only=True)
class Office:
    name: str
    city: str
    state: str
    country: str = "US"


@dataclass
class SandboxUser:
    id: str
    upn: str
    display_name: str
    given_name: str
    surname: str
    office: str = ""
    department: str = ""
    city: str = ""
    state: str = ""
    job_title: str = ""
    enabled: bool = True
    sku_ids: list[str] = field(default_factory=list)


@dataclass
class SandboxSubscription:
    id: str  # Partner Center subscription id == Graph commerceSubscriptionId
    directory_id: str  # Graph companySubscription id (in subscribedSku.subscriptionIds)
    sku_id: str
    part_number: str
    offer_id: str
    offer_name: str
    quantity: int
    term: str  # P1M | P1Y | P3Y
    billing_cycle: str  # monthly | annual
    created: date
    terms: int = 0  # renewals so far: the current term is the (terms + 1)th
    status: str = "active"
    auto_renew: bool = True
    is_trial: bool = False
    in_partner_center: bool = True  # free SKUs and direct purchases are not

    @property
    def graph_status(self) -> str:
        return GRAPH_STATUS.get(self.status, "Enabled")

    @property
    def term_start(self) -> date:
        # Terms keep the purchase's day of month (no drift after a short month).
        return add_months(self.created, TERM_MONTHS[self.term] * self.terms)

    @property
    def commitment_end(self) -> date:
        """Last day of the current term (NCE commitment ends are inclusive)."""
        return add_months(self.created, TERM_MONTHS[self.term] * (self.terms + 1)) - timedelta(days=1)

    @property
    def cancellation_allowed_until(self) -> date:
        # NCE: about 7 days after purchase or renewal (APIS.md §A2, [U]).
        return self.term_start + timedelta(days=7)

    def renew_until(self, today: date) -> None:
        """Roll auto-renewing terms forward to the term holding ``today``."""
        while self.commitment_end < today:
            if not self.auto_renew:
                # Not renewed: expired (still usable, Graph "Warning") for 30 days,
                # then disabled, then deleted (Microsoft's lifecycle, shortened).
                lapsed = (today - self.commitment_end).days
                if self.status in ("active", "expired", "disabled"):
                    self.status = "expired" if lapsed <= 30 else "disabled" if lapsed <= 120 else "deleted"
                return
            self.terms += 1


@dataclass
class SandboxTenant:
    id: str
    name: str
    default_domain: str  # the <name>.onmicrosoft.com domain
    domains: list[str]  # verified custom domains
    offices: list[Office]
    created: date
    commerce_id: str = ""
    consent: bool = True  # seatsync's app is consented in this tenant
    #: The Graph application permissions consented here when they differ from the app's (Scenario.graph_roles).
    graph_roles: set[str] | None = None
    gdap_until: date | None = None  # last day of the GDAP relationship (None: none)
    reseller: bool = True  # Partner Center reseller relationship
    users: list[SandboxUser] = field(default_factory=list)
    subscriptions: list[SandboxSubscription] = field(default_factory=list)

    def gdap_active(self, today: date) -> bool:
        return self.gdap_until is not None and today <= self.gdap_until

    def holders(self, sku_id: str) -> int:
        return sum(1 for u in self.users if sku_id in u.sku_ids)

    def sku_ids(self) -> list[str]:
        """SKUs in Graph's subscribedSkus: those with a subscription not deleted."""
        seen: dict[str, None] = {}
        for sub in self.subscriptions:
            if sub.status != "deleted":
                seen.setdefault(sub.sku_id, None)
        return list(seen)

    def units(self, sku_id: str) -> dict[str, int]:
        """prepaidUnits of a SKU, by Graph status bucket."""
        out = {"enabled": 0, "warning": 0, "suspended": 0, "lockedOut": 0}
        bucket = {"Enabled": "enabled", "Warning": "warning", "Suspended": "suspended", "LockedOut": "lockedOut"}
        for sub in self.subscriptions:
            if sub.sku_id == sku_id and sub.graph_status in bucket:
                out[bucket[sub.graph_status]] += sub.quantity
        return out


@dataclass(frozen=True, kw_only=True)
class TenantProfile:
    """What the PSA side needs to build matching companies."""

    id: str
    name: str
    default_domain: str
    domains: tuple[str, ...]


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
