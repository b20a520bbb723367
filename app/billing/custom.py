"""Custom licenses: rows of their own, counted from what a tenant has besides its SKUs.

A person adds one to a tenant with a name and a count rule (all enabled
member users, licensed users, users of a UPN domain, members of a group,
user or shared mailboxes, a sum or difference of other rows, a fixed
number). It is then a license like Microsoft's: it has its own row, is
mapped through a profile on an agreement with every option, and bills with
the same ledger. It never replaces a Microsoft row's billing.

``with_custom_licenses`` adds each custom license to a tenant's inventory as
a ``License`` of SKU id ``custom:<id>`` whose seats are all assigned, and
gives that SKU id to every user it counts, so usernames on the invoice and
a filtered link's rows work for it as for any license. Counts that come
from separate reads (the users, a group's members, the mailbox report) must
agree: a member or mailbox the users read does not hold means one read was
partial, and the tenant is not counted (``CustomCountError``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Mapping as AnyMapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from app.billing.types import License, TenantInventory, User

CUSTOM_PREFIX = "custom:"


class CountRule(StrEnum):
    ENABLED_MEMBERS = "enabled_members"  # enabled accounts of members (not guests)
    LICENSED_USERS = "licensed_users"  # enabled users holding at least one license
    UPN_DOMAIN = "upn_domain"  # enabled licensed users whose UPN has a domain (param)
    GROUP_MEMBERS = "group_members"  # the enabled users of a group, nested groups' included (param: its id)
    USER_MAILBOXES = "user_mailboxes"
    SHARED_MAILBOXES = "shared_mailboxes"
    SUM = "sum"  # other rows' assigned seats, added or subtracted (terms)
    FIXED = "fixed"  # a number (param)


class MailboxKind(StrEnum):
    USER = "user"
    SHARED = "shared"


#: What each rule needs read besides the tenant's licenses.
USER_RULES = frozenset({CountRule.ENABLED_MEMBERS, CountRule.LICENSED_USERS, CountRule.UPN_DOMAIN,
                        CountRule.GROUP_MEMBERS, CountRule.USER_MAILBOXES, CountRule.SHARED_MAILBOXES})
MAILBOX_RULES = {CountRule.USER_MAILBOXES: MailboxKind.USER, CountRule.SHARED_MAILBOXES: MailboxKind.SHARED}


class CustomCountError(ValueError):
    """A custom license could not be counted from reads that agree."""


@dataclass(frozen=True, kw_only=True)
class CustomLicense:
    """A custom license of one tenant. ``terms``: for a sum, (+1 or -1, SKU id) of the rows it adds or subtracts."""

    id: str
    tenant_id: str
    name: str
    rule: CountRule
    param: str = ""
    terms: tuple[tuple[int, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "rule", CountRule(self.rule))
        if not self.name.strip():
            raise ValueError("a custom license needs a name")
        if self.rule is CountRule.UPN_DOMAIN and not self.domain:
            raise ValueError("type a UPN domain, e.g. contoso.com")
        if self.rule is CountRule.GROUP_MEMBERS and not self.param.strip():
            raise ValueError("choose a group")
        if self.rule is CountRule.FIXED and not (self.param.strip().isdigit() and self.param.strip().isascii()):
            raise ValueError(f"the fixed number of seats must be a whole number of 0 or more, not {self.param!r}")
        if self.rule is CountRule.SUM:
            if not self.terms:
                raise ValueError("a sum needs at least one license to add")
            if any(sign not in (1, -1) for sign, _ in self.terms):
                raise ValueError("each license of a sum is added (+1) or subtracted (-1)")

    @property
    def sku_id(self) -> str:
        """The row's SKU id: its row digest, markers and snapshots name it by this, for ever."""
        return f"{CUSTOM_PREFIX}{self.id}"

    @property
    def domain(self) -> str:
        return self.param.strip().lower().lstrip("@")

    @property
    def needs_users(self) -> bool:
        return self.rule in USER_RULES

    def describe(self, group_name: str = "") -> str:
        """The rule as a person reads it beside the row (``group_name``: the counted group's, when known)."""
        if self.rule is CountRule.SUM:
            return " ".join(f"{'+' if sign > 0 else '−'} {sku}" for sign, sku in self.terms).lstrip("+ ")
        return {CountRule.ENABLED_MEMBERS: "all enabled member users", CountRule.LICENSED_USERS: "licensed users",
                CountRule.UPN_DOMAIN: f"licensed users @{self.domain}",
                CountRule.GROUP_MEMBERS: f"members of group {group_name or self.param}",
                CountRule.USER_MAILBOXES: "user mailboxes", CountRule.SHARED_MAILBOXES: "shared mailboxes",
                CountRule.FIXED: f"fixed: {self.param.strip()}"}[self.rule]


def is_custom(sku_id: str) -> bool:
    return sku_id.startswith(CUSTOM_PREFIX)


@dataclass(frozen=True, kw_only=True)
class TenantFacts:
    """What custom counts read besides licenses and users.

    ``groups``: group id -> the ids of its users, nested groups included.
    ``mailboxes``: kind -> the mailboxes' UPNs (None: not read); with
    ``names_concealed`` the tenant's report settings hide them, so they are
    counted but not matched to users.
    """

    groups: AnyMapping[str, Sequence[str]] = field(default_factory=dict)
    mailboxes: AnyMapping[MailboxKind, Sequence[str]] | None = None
    names_concealed: bool = False


def with_custom_licenses(inventory: TenantInventory, customs: Iterable[CustomLicense],
                         facts: TenantFacts) -> TenantInventory:
    """``inventory`` with each custom license of its tenant added, in the order given (a sum may count an
    earlier one); ``CustomCountError`` when one cannot be counted from reads that agree."""
    customs = [c for c in customs if c.tenant_id == inventory.tenant_id]
    if not customs:
        return inventory
    licenses = list(inventory.licenses)
    users = list(inventory.users) if inventory.users is not None else None
    for custom in customs:
        assigned = {lic.sku_id.lower(): lic.assigned for lic in licenses}
        counted = _count(custom, users, facts, assigned)
        if isinstance(counted, int):
            seats = counted
        else:
            seats = len(counted)
            assert users is not None
            users = [replace(u, sku_ids=u.sku_ids | {custom.sku_id}) if u.id in counted else u for u in users]
        licenses.append(License(sku_id=custom.sku_id, part_number="CUSTOM", name=custom.name, enabled=seats,
                                consumed=seats))
    return replace(inventory, licenses=tuple(licenses), users=tuple(users) if users is not None else None)


def _count(custom: CustomLicense, users: list[User] | None, facts: TenantFacts,
           assigned: AnyMapping[str, int]) -> int | set[str]:
    """The seats of a count-only rule, or the ids of the users a user rule counts."""
    rule = custom.rule
    if rule is CountRule.FIXED:
        return int(custom.param.strip())
    if rule is CountRule.SUM:
        total = 0
        for sign, sku in custom.terms:
            if sku.lower() not in assigned:
                raise CustomCountError(f"{custom.name}: the tenant has no license {sku} to count")
            total += sign * assigned[sku.lower()]
        return max(total, 0)
    if users is None:
        raise CustomCountError(f"{custom.name}: the tenant's users were not read")
    if rule is CountRule.ENABLED_MEMBERS:
        return {u.id for u in users if u.enabled and u.member}
    if rule is CountRule.LICENSED_USERS:
        return {u.id for u in users if u.enabled and _licensed(u)}
    if rule is CountRule.UPN_DOMAIN:
        return {u.id for u in users if u.enabled and _licensed(u) and u.upn_domain == custom.domain}
    if rule is CountRule.GROUP_MEMBERS:
        members = facts.groups.get(custom.param)
        if members is None:
            raise CustomCountError(f"{custom.name}: group {custom.param} was not read")
        enabled = {u.id: u.enabled for u in users}
        found = {m for m in members if m in enabled}
        if len(found) != len(set(members)):
            raise CustomCountError(f"{custom.name}: the users read lists {len(found)} of the group's "
                                   f"{len(set(members))} members; one of the reads may be partial")
        return {m for m in found if enabled[m]}
    return _mailboxes(custom, users, facts)


def _mailboxes(custom: CustomLicense, users: list[User], facts: TenantFacts) -> int | set[str]:
    if facts.mailboxes is None:
        raise CustomCountError(f"{custom.name}: the tenant's mailboxes were not read")
    names = facts.mailboxes.get(MAILBOX_RULES[custom.rule], ())
    if facts.names_concealed:
        return len(names)  # billed by count; the report hides who they are
    by_upn = {u.upn.lower(): u.id for u in users}
    found: set[str] = set()
    for upn in names:
        user = by_upn.get(upn.lower())
        if user is None:
            raise CustomCountError(f"{custom.name}: mailbox {upn} has no user in the users read; one of the "
                                   "reads may be partial")
        found.add(user)
    return found


def _licensed(user: User) -> bool:
    return any(not is_custom(sku) for sku in user.sku_ids)
