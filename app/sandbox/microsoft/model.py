"""The sandbox's world: partners, their customer tenants, users, groups, mailboxes and subscriptions.

This is mutable state (the sandbox's "database"), changed by the scenario's
time-travel methods and read by the API routes under the scenario's lock.
Graph's license counts are derived from it, never stored: purchased seats
are the quantities of the tenant's subscriptions by status, assigned seats
the users holding the SKU (APIS.md §A1). Each partner (a CSP tenant with its
own Partner Center account and app registration, APIS.md §A4) has its own
customers; a customer tenant holds the consent of each app admitted into it
and the GDAP relationships partners hold with it.
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
    user_type: str = "Member"  # or "Guest"
    #: Exchange's userPurpose of the user's mailbox (user, shared, room, equipment, ...); None: no mailbox.
    mailbox: str | None = None
    #: The mailbox's primary SMTP address ('' : the UPN, Exchange's default) and its further SMTP addresses.
    mail: str = ""
    aliases: list[str] = field(default_factory=list)
    business_phone: str = ""
    mobile_phone: str = ""

    @property
    def primary_smtp(self) -> str | None:
        """Graph's ``mail``: the mailbox's primary address, None without a mailbox."""
        return (self.mail or self.upn) if self.mailbox is not None else None

    @property
    def proxy_addresses(self) -> list[str]:
        """Graph's ``proxyAddresses``: ``SMTP:`` before the primary address, ``smtp:`` before each alias; none
        without a mailbox."""
        primary = self.primary_smtp
        return [] if primary is None else [f"SMTP:{primary}", *(f"smtp:{a}" for a in self.aliases)]


@dataclass
class SandboxGroup:
    """A group: its direct members, users and groups by id (nesting is what transitiveMembers flattens)."""

    id: str
    display_name: str
    members: list[str] = field(default_factory=list)


#: Microsoft's status values of a delegatedAdminRelationship (APIS.md §A4).
RELATIONSHIP_STATUSES = ("created", "approvalPending", "approved", "activating", "active", "expiring", "expired",
                         "terminationRequested", "terminating", "terminated")


@dataclass
class SandboxRelationship:
    """A GDAP relationship a partner holds with a customer tenant (APIS.md §A4)."""

    id: str
    partner_id: str
    display_name: str
    created: date
    end: date | None  # endDateTime's day; None before approval
    role_ids: list[str]
    status: str = "active"
    duration_days: int = 730
    auto_extend_days: int = 0

    def status_on(self, today: date) -> str:
        """The status Graph states on ``today``: an active relationship past its end has expired."""
        if self.status in ("active", "expiring") and self.end is not None and self.end < today:
            return "expired"
        return self.status


@dataclass
class SandboxPartner:
    """A CSP partner tenant: its Partner Center account and its multi-tenant app registration."""

    tenant_id: str
    name: str
    client_id: str
    client_secret: str = field(repr=False)
    secret_expired: bool = False
    #: The Graph application permissions configured on the app (consented with it in every tenant).
    graph_roles: set[str] = field(default_factory=set)
    #: The redirect URIs registered on the app (admin consent returns only to one of them).
    redirect_uris: list[str] = field(default_factory=lambda: ["https://localhost/seatsync/consent"])


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
    partner_id: str = ""  # the partner tenant whose customer this is
    consent: bool = True  # its partner's app is consented in this tenant
    #: The Graph application permissions consented here when they differ from the app's (Scenario.graph_roles).
    graph_roles: set[str] | None = None
    #: Other partners' apps consented here, by client id.
    other_apps: set[str] = field(default_factory=set)
    reseller: bool = True  # Partner Center reseller relationship
    #: Whether the usage reports conceal user names (adminReportSettings.displayConcealedNames, APIS.md §A4).
    conceal_report_names: bool = True
    users: list[SandboxUser] = field(default_factory=list)
    groups: list[SandboxGroup] = field(default_factory=list)
    subscriptions: list[SandboxSubscription] = field(default_factory=list)
    relationships: list[SandboxRelationship] = field(default_factory=list)

    def gdap_active(self, today: date, partner_id: str | None = None) -> bool:
        """Whether a relationship of ``partner_id`` (default: the tenant's own partner) is active today."""
        partner = partner_id or self.partner_id
        return any(r.status_on(today) == "active" for r in self.relationships if r.partner_id == partner)

    @property
    def gdap_until(self) -> date | None:
        """The last day of the own partner's latest relationship (None: none)."""
        ends = [r.end for r in self.relationships if r.partner_id == self.partner_id and r.end is not None]
        return max(ends, default=None)

    def transitive_members(self, group_id: str) -> tuple[list[SandboxUser], list[SandboxGroup]]:
        """The users and groups under a group, each once, nesting followed (cycles too)."""
        users = {u.id: u for u in self.users}
        groups = {g.id: g for g in self.groups}
        seen_users: dict[str, SandboxUser] = {}
        seen_groups: dict[str, SandboxGroup] = {}
        stack = list(groups[group_id].members) if group_id in groups else []
        while stack:
            member = stack.pop()
            if member in users:
                seen_users.setdefault(member, users[member])
            elif member in groups and member not in seen_groups and member != group_id:
                seen_groups[member] = groups[member]
                stack.extend(groups[member].members)
        return list(seen_users.values()), list(seen_groups.values())

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
