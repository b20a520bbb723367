"""GDAP facts: the partner's delegated admin relationships, and what they mean for one customer (APIS.md §A4).

Relationships are read in the partner's own tenant
(``/tenantRelationships/delegatedAdminRelationships``, app permission
DelegatedAdminRelationship.Read.All) and typed here. ``gdap_status`` says
where a customer stands: no relationship, one still awaiting approval, all
ended (expired or terminated), its roles short of what license reads need,
ending within N days without auto-extend, or fine.

The roles license reads need come from Partner Center's DAP-to-GDAP parity
table (APIS.md §A4): for each read, any one role of its list. seatsync's own
reads use the app consented into each tenant and need no GDAP role; these
facts matter to a partner that reads through GDAP, or consents the app
through Partner Center, and warn before a relationship lapses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from app.services.microsoft.fields import Reader, shown
from app.services.microsoft.graph import GraphClient

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

#: Entra built-in role template ids (APIS.md §A4; Directory Writers from Entra's role reference).
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
DIRECTORY_WRITERS = "9360feb5-f418-4baa-8175-e2a00bac4301"
LICENSE_ADMINISTRATOR = "4d6ac14f-3453-41d0-bef9-a3e0c569773a"
USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"
REPORTS_READER = "4a5d8f65-41da-4de4-8968-e035b65339cf"
ROLE_NAMES = {GLOBAL_READER: "Global Reader", DIRECTORY_READERS: "Directory Readers",
              DIRECTORY_WRITERS: "Directory Writers", LICENSE_ADMINISTRATOR: "License Administrator",
              USER_ADMINISTRATOR: "User Administrator", REPORTS_READER: "Reports Reader"}

#: What license reads need through GDAP: (the read, the roles any one of which allows it).
LICENSE_READ_ROLES: tuple[tuple[str, frozenset[str]], ...] = (
    ("the licenses available (GetSubscribedSkus)",
     frozenset({DIRECTORY_READERS, GLOBAL_READER, USER_ADMINISTRATOR, LICENSE_ADMINISTRATOR})),
    ("a user's licenses (GetAssignedLicensesAsync)",
     frozenset({DIRECTORY_READERS, DIRECTORY_WRITERS, USER_ADMINISTRATOR, LICENSE_ADMINISTRATOR})),
    ("the customer's users (GetCustomerUsersAsync)",
     frozenset({DIRECTORY_READERS, GLOBAL_READER, USER_ADMINISTRATOR})),
)

STATUSES = frozenset({"created", "approvalPending", "approved", "activating", "active", "expiring", "expired",
                      "terminationRequested", "terminating", "terminated", "unknownFutureValue"})
#: Before the customer's approval takes effect.
PENDING = frozenset({"created", "approvalPending", "approved", "activating"})
#: Past its end or ended by partner or customer ("expiring" is past its expiration date, APIS.md §A4).
ENDED = frozenset({"expiring", "expired", "terminationRequested", "terminating", "terminated"})


@dataclass(frozen=True)
class Relationship:
    id: str
    customer_tenant_id: str
    customer_name: str
    status: str
    end: datetime | None  # None before approval
    role_ids: frozenset[str]
    auto_extends: bool  # autoExtendDuration other than P0D/PT0S

    @property
    def display(self) -> str:
        return f"{self.id}, ends {self.end:%Y-%m-%d}" if self.end else self.id


def relationship(item: Reader) -> Relationship:
    customer = item.obj_at("customer")
    assert customer is not None
    tenant = customer.str("tenantId")
    if not _GUID.fullmatch(tenant):
        raise customer.fail("tenantId", f"is {shown(tenant)}, not a tenant ID (a GUID)")
    status = item.str("status")
    if status not in STATUSES:
        raise item.fail("status", f"is {shown(status)}, not a relationship status")
    access = item.obj_at("accessDetails", required=False)
    roles = []
    for i, role in enumerate(access.list("unifiedRoles", required=False) if access else ()):
        role_id = Reader(role, f"{item.where}.accessDetails.unifiedRoles[{i}]", item.tenant_id).str(
            "roleDefinitionId")
        roles.append(role_id.lower())
    extend = item.str("autoExtendDuration", "PT0S").upper()
    return Relationship(id=item.str("id"), customer_tenant_id=tenant.lower(),
                        customer_name=customer.str("displayName", ""), status=status,
                        end=_moment(item, "endDateTime"), role_ids=frozenset(roles),
                        auto_extends=extend not in ("P0D", "PT0S", "P0M", "P0Y"))


def _moment(item: Reader, key: str) -> datetime | None:
    text = item.str(key, "")
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise item.fail(key, f"is {shown(text)}, not a date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def relationships(graph: GraphClient, partner_tenant: str) -> tuple[Relationship, ...]:
    """Every GDAP relationship of the partner, typed (read in its own tenant, 300 a page)."""
    return tuple(relationship(item) for item in graph.delegated_admin_relationships(partner_tenant))


class GdapState(Enum):
    MISSING = "no relationship"
    PENDING = "awaiting the customer's approval"
    ENDED = "expired or terminated"
    ROLES_INSUFFICIENT = "roles insufficient"
    ENDING = "ending soon"
    FINE = "fine"


@dataclass(frozen=True)
class GdapStatus:
    state: GdapState
    #: The relationship the state is about (the latest-ending active one, or the latest one), if any.
    relationship: Relationship | None = None
    #: Whole days until the active access ends (None: no active relationship).
    days_left: int | None = None
    #: For ROLES_INSUFFICIENT: each read the roles do not allow, with the roles that would.
    missing: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        who = f" ({self.relationship.display})" if self.relationship else ""
        if self.state is GdapState.MISSING:
            return "No GDAP relationship with this customer: request one in Partner Center."
        if self.state is GdapState.PENDING:
            return f"The GDAP relationship{who} awaits the customer's approval."
        if self.state is GdapState.ENDED:
            return f"The GDAP relationship{who} has expired or been terminated: request a new one in Partner Center."
        if self.state is GdapState.ROLES_INSUFFICIENT:
            return f"The GDAP relationship{who} lacks roles license reads need: " + "; ".join(self.missing) + "."
        if self.state is GdapState.ENDING:
            return (f"The GDAP relationship{who} ends in {self.days_left} day(s) and does not auto-extend: "
                    "extend it in Partner Center.")
        return f"The GDAP relationship{who} is active."


def gdap_status(all_relationships: tuple[Relationship, ...], tenant_id: str, now: datetime,
                within_days: int = 30) -> GdapStatus:
    """Where a customer stands with the partner's GDAP relationships on ``now`` (UTC)."""
    mine = [r for r in all_relationships if r.customer_tenant_id == tenant_id.lower()]
    if not mine:
        return GdapStatus(GdapState.MISSING)
    active = [r for r in mine if r.status == "active" and (r.end is None or r.end > now)]
    if not active:
        pending = [r for r in mine if r.status in PENDING]
        if pending:
            return GdapStatus(GdapState.PENDING, pending[-1])
        latest = max(mine, key=lambda r: r.end or datetime.min.replace(tzinfo=UTC))
        return GdapStatus(GdapState.ENDED, latest)
    last = max(active, key=lambda r: r.end or datetime.max.replace(tzinfo=UTC))
    days_left = None if last.end is None else (last.end - now) // timedelta(days=1)
    roles = frozenset().union(*(r.role_ids for r in active))
    missing = tuple(f"{read} needs one of {', '.join(sorted(ROLE_NAMES.get(r, r) for r in allowed))}"
                    for read, allowed in LICENSE_READ_ROLES if not roles & allowed)
    if missing:
        return GdapStatus(GdapState.ROLES_INSUFFICIENT, last, days_left, missing)
    renews = any(r.auto_extends for r in active)
    if days_left is not None and days_left < within_days and not renews:
        return GdapStatus(GdapState.ENDING, last, days_left)
    return GdapStatus(GdapState.FINE, last, days_left)
