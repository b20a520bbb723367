"""Ignored accounts: licenses that a customer tenant's admin, break-glass, service or test accounts hold.

The MSP keeps such accounts in the customer's tenant for its own work, and
does not bill the customer for them. A pattern names them by UPN, in one
tenant or in every tenant: ``admin@contoso.com``, ``*-svc@*``, ``breakglass*@*``.
``*`` stands for any run of characters and is the only wildcard; a pattern
matches a whole UPN, without case.

``apply_ignored`` marks the tenant's users that a pattern matches and counts,
per license, the seats they hold (``License.ignored``). Every row then
counts as if those accounts, and their seats, did not exist
(app/billing/quantities.py): a license row bills its assigned (or purchased)
seats less the ignored ones; a filtered, domain or usernames row leaves the
ignored users out. Custom licenses count what their rule says: an account
is left out of one by leaving it out of the group the rule counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache

from app.billing.types import TenantInventory

MAX_PATTERN_LENGTH = 256


@dataclass(frozen=True, kw_only=True)
class IgnoredAccount:
    """Accounts whose licenses are never billed: in one tenant, or in every tenant (``tenant_id`` None)."""

    pattern: str
    tenant_id: str | None = None
    reason: str = ""

    def applies_to(self, tenant_id: str) -> bool:
        return self.tenant_id is None or self.tenant_id == tenant_id


def pattern_problem(pattern: str) -> str:
    """Why ``pattern`` cannot name ignored accounts ("" when it can)."""
    text = pattern.strip()
    if not text:
        return "the pattern is empty: give a UPN, such as admin@contoso.com, or one with *, such as *-svc@*"
    if len(text) > MAX_PATTERN_LENGTH:
        return f"the pattern is too long ({len(text)} characters; at most {MAX_PATTERN_LENGTH})"
    if any(ch.isspace() for ch in text):
        return "a UPN has no space: remove the space from the pattern"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return "the pattern holds a control character"
    if not text.replace("*", "").replace("@", ""):
        return "the pattern would match every account, and nothing would be billed: name the accounts"
    if "@" not in text:
        return "a UPN has an @ and a domain: write admin@contoso.com, or admin@* for every domain"
    return ""


def normal(pattern: str) -> str:
    """How a pattern is kept and compared: trimmed, in lower case (UPNs compare without case)."""
    return pattern.strip().lower()


def matches(pattern: str, upn: str) -> bool:
    """Whether ``pattern`` names the account ``upn`` (the whole UPN, without case; ``*``: any characters)."""
    return _compiled(normal(pattern)).fullmatch(upn.lower()) is not None


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def apply_ignored(inventory: TenantInventory, accounts: Iterable[IgnoredAccount]) -> TenantInventory:
    """The inventory with the users the tenant's ignored accounts match marked, and the seats they hold
    counted on each license. Needs the tenant's users read (``ValueError`` otherwise)."""
    patterns = sorted({normal(a.pattern) for a in accounts if a.applies_to(inventory.tenant_id)})
    if not patterns:
        return inventory
    if inventory.users is None:
        raise ValueError(f"ignored accounts apply to tenant {inventory.tenant_id}, whose users were not read")
    users = tuple(replace(u, ignored=True) if any(matches(p, u.upn) for p in patterns) else u
                  for u in inventory.users)
    held: dict[str, int] = {}
    for user in users:
        if user.ignored:
            for sku in user.sku_ids:
                held[sku.lower()] = held.get(sku.lower(), 0) + 1
    licenses = tuple(replace(lic, ignored=held.get(lic.sku_id.lower(), 0)) for lic in inventory.licenses)
    return replace(inventory, users=users, licenses=licenses)
