"""Ignored accounts as the window and the command line edit them (app/billing/ignored.py).

A pattern is checked before it is kept (``IgnoredRefused`` says why not),
and ``who`` reads the users of the tenants a pattern would apply to and
lists the accounts it matches, with the licenses each holds, before anyone
relies on it. A change counts from the next read of each tenant: the next
sync, or Sync now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.billing.ignored import IgnoredAccount, matches, pattern_problem
from app.errors import SeatsyncError
from app.services.microsoft.skus import SkuCatalogue
from app.services.microsoft.wire import user_from_graph
from app.services.providers import MicrosoftProvider
from app.services.sync.pool import for_each_tenant
from app.services.uow import UnitOfWork


class IgnoredRefused(SeatsyncError):
    """This pattern cannot name ignored accounts; nothing was saved."""

    advice = "Write the account's UPN, such as admin@contoso.com, or a pattern with *, such as *-svc@contoso.com."


@dataclass(frozen=True, kw_only=True)
class IgnoredRow:
    account: IgnoredAccount
    tenant_name: str  # "" for every tenant
    #: The pattern's version when read: handed back on removal (EditConflict when it is stale).
    version: int | None = None


@dataclass(frozen=True, kw_only=True)
class Match:
    """An account a pattern matches, as its tenant's users read now."""

    tenant_id: str
    tenant_name: str
    upn: str
    licenses: tuple[str, ...]  # the names of the licenses it holds: the seats that would not be billed


@dataclass(frozen=True, kw_only=True)
class Matches:
    found: tuple[Match, ...]
    tenants: int  # tenants read
    failed: tuple[tuple[str, str], ...]  # (tenant name, why) of the tenants that could not be read


class IgnoredAccountService:
    def __init__(self, uow: UnitOfWork, microsoft: MicrosoftProvider,
                 catalogue: Callable[[], SkuCatalogue]) -> None:
        self.uow = uow
        self.microsoft = microsoft
        self.catalogue = catalogue

    def rows(self) -> list[IgnoredRow]:
        names = {t.tenant_id: t.name for t in self.uow.tenants.all()}
        with self.uow:  # the patterns and their versions as of one moment
            accounts, versions = self.uow.ignored_accounts.all(), self.uow.ignored_accounts.versions()
        return [IgnoredRow(account=a, tenant_name=names.get(a.tenant_id or "", ""),
                           version=versions.get((a.tenant_id, a.pattern))) for a in accounts]

    def ignore(self, account: IgnoredAccount, *, expected_version: int | None = None,
               actor: str = "") -> IgnoredAccount:
        """Keep the pattern (or change its reason); ``IgnoredRefused`` for a pattern that cannot name accounts,
        ``EditConflict`` when someone saved it since ``expected_version`` (0: none was seen)."""
        _check(account.pattern)
        if account.tenant_id is not None and self.uow.tenants.find(account.tenant_id) is None:
            raise IgnoredRefused(f"(tenant {account.tenant_id} has not been added to seatsync)")
        return self.uow.ignored_accounts.add(account, expected_version=expected_version, actor=actor)

    def stop_ignoring(self, pattern: str, tenant_id: str | None, *, expected_version: int | None = None,
                      actor: str = "") -> bool:
        """Bill the accounts again from the next read (False: the pattern was not kept)."""
        return self.uow.ignored_accounts.remove(pattern, tenant_id, expected_version=expected_version, actor=actor)

    def who(self, pattern: str, tenant_id: str | None = None) -> Matches:
        """The accounts ``pattern`` matches in the tenant (None: in every added tenant), read from Microsoft now.
        A tenant that cannot be read is named in ``failed``; the others are still listed."""
        _check(pattern)
        tenants = {t.tenant_id: t.name for t in self.uow.tenants.all()
                   if tenant_id is None or t.tenant_id == tenant_id}
        if tenant_id is not None and not tenants:
            raise IgnoredRefused(f"(tenant {tenant_id} has not been added to seatsync)")
        catalogue = self.catalogue()

        def read(tenant: str) -> list[Match]:
            users = (user_from_graph(u) for u in self.microsoft.clients_of(tenant).graph.users(tenant))
            return [Match(tenant_id=tenant, tenant_name=tenants[tenant], upn=u.upn,
                          licenses=tuple(sorted(catalogue.name(sku) for sku in u.sku_ids)))
                    for u in users if matches(pattern, u.upn)]

        found: list[Match] = []
        failed: list[tuple[str, str]] = []
        for tenant, result in for_each_tenant(sorted(tenants), read).items():
            if isinstance(result, Exception):
                failed.append((tenants[tenant], str(result)))
            else:
                found.extend(result)
        found.sort(key=lambda m: (m.tenant_name.lower(), m.upn.lower()))
        return Matches(found=tuple(found), tenants=len(tenants), failed=tuple(failed))


def _check(pattern: str) -> None:
    """``IgnoredRefused`` saying why ``pattern`` cannot name accounts."""
    if problem := pattern_problem(pattern):
        raise IgnoredRefused(f"({pattern.strip()[:80]!r}: {problem})")
