"""Ignored accounts: UPN patterns whose accounts' licenses are never billed (app/billing/ignored.py).

A pattern is kept trimmed and in lower case, once per tenant (or once for
every tenant); each change is checked and audited as exclusions' are
(scoped.py).
"""

from __future__ import annotations

from app.billing.ignored import IgnoredAccount, normal
from app.models.billing import IgnoredAccount as IgnoredRow
from app.models.repositories.scoped import ScopedEntries, entry_tenant_id


class IgnoredAccounts(ScopedEntries):
    KIND = "ignored_account"
    MODEL = IgnoredRow
    NAME = "pattern"
    TITLE = "Ignored accounts"

    @staticmethod
    def same(name: str) -> str:
        return normal(name)

    def add(self, account: IgnoredAccount, *, expected_version: int | None = None,
            actor: str = "") -> IgnoredAccount:
        """Ignore the accounts ``account.pattern`` names, or change the reason; ``EditConflict`` when someone
        saved it since ``expected_version`` (0: the editor saw no such pattern)."""
        return _core(self._put(normal(account.pattern), account.tenant_id, account.reason,
                               expected_version=expected_version, actor=actor))

    def remove(self, pattern: str, tenant_id: str | None = None, *, expected_version: int | None = None,
               actor: str = "") -> bool:
        """Stop ignoring the pattern (False: it was not ignored); ``EditConflict`` when someone saved it since
        ``expected_version``."""
        return super().remove(normal(pattern), tenant_id, expected_version=expected_version, actor=actor)

    def all(self) -> list[IgnoredAccount]:
        return [_core(row) for row in self._rows()]

    def of_tenant(self, tenant_id: str) -> list[IgnoredAccount]:
        """The patterns that apply to the tenant: its own and every tenant's."""
        return [_core(row) for row in self._applying_to(tenant_id)]


def _core(row: IgnoredRow) -> IgnoredAccount:
    return IgnoredAccount(pattern=row.pattern, tenant_id=entry_tenant_id(row), reason=row.reason)
