"""Ignored accounts: UPN patterns whose accounts' licenses are never billed (app/billing/ignored.py).

A pattern is kept trimmed and in lower case, once per tenant (or once for
every tenant). Each change is checked against the version its editor read
and audited, as exclusions are (versions.py).
"""

from __future__ import annotations

from typing import Any

from peewee import JOIN

from app.billing.ignored import IgnoredAccount, normal
from app.models.billing import IgnoredAccount as IgnoredRow
from app.models.connections import Tenant
from app.models.repositories._base import Repository
from app.models.repositories.customers import tenant_row
from app.models.repositories.versions import (
    check_version,
    conflict,
    delete_versioned,
    record_change,
    update_versioned,
)

KIND = "ignored_account"


def ignored_key(pattern: str, tenant_id: str | None) -> str:
    """An ignored account's name in the configuration history: its tenant ('*' for every tenant) and pattern."""
    return f"{tenant_id or '*'}|{normal(pattern)}"


class IgnoredAccounts(Repository):
    def add(self, account: IgnoredAccount, *, expected_version: int | None = None,
            actor: str = "") -> IgnoredAccount:
        """Ignore the accounts ``account.pattern`` names, or change the reason; ``EditConflict`` when someone
        saved it since ``expected_version`` (0: the editor saw no such pattern)."""
        pattern = normal(account.pattern)
        tenant = None if account.tenant_id is None else tenant_row(account.tenant_id)
        key = ignored_key(pattern, account.tenant_id)
        what = lambda: _what(pattern, tenant)  # noqa: E731
        with self.atomic():
            row = _row(pattern, account.tenant_id)
            check_version(row, expected_version, kind=KIND, key=key, what=what)
            now = self._now()
            if row is None:
                row = IgnoredRow.create(tenant=tenant, pattern=pattern, reason=account.reason, created_at=now,
                                        version=1, updated_by=actor)
                record_change(kind=KIND, key=key, action="created", before=None, after=_doc(row), actor=actor,
                              at=now)
            elif row.reason != account.reason:
                before = _doc(row)
                if not update_versioned(IgnoredRow, row, {IgnoredRow.reason: account.reason}, actor=actor):
                    raise conflict(KIND, key, what(), _row(pattern, account.tenant_id))
                row.reason = account.reason
                record_change(kind=KIND, key=key, action="changed", before=before, after=_doc(row), actor=actor,
                              at=now)
        return _core(row)

    def remove(self, pattern: str, tenant_id: str | None = None, *, expected_version: int | None = None,
               actor: str = "") -> bool:
        """Stop ignoring the pattern (False: it was not ignored); ``EditConflict`` when someone saved it since
        ``expected_version``."""
        pattern = normal(pattern)
        key = ignored_key(pattern, tenant_id)
        with self.atomic():
            row = _row(pattern, tenant_id)
            tenant = None if tenant_id is None else Tenant.get_or_none(Tenant.tenant_id == tenant_id)
            what = lambda: _what(pattern, tenant)  # noqa: E731
            check_version(row, expected_version, kind=KIND, key=key, what=what)
            if row is None:
                return False
            before = _doc(row)
            if not delete_versioned(IgnoredRow, row):
                raise conflict(KIND, key, what(), _row(pattern, tenant_id))
            record_change(kind=KIND, key=key, action="removed", before=before, after=None, actor=actor,
                          at=self._now())
        return True

    def all(self) -> list[IgnoredAccount]:
        return [_core(row) for row in _query()]

    def of_tenant(self, tenant_id: str) -> list[IgnoredAccount]:
        """The patterns that apply to the tenant: its own and every tenant's."""
        return [_core(row) for row in _query().where(IgnoredRow.tenant.is_null() | (Tenant.tenant_id == tenant_id))]

    def versions(self) -> dict[tuple[str | None, str], int]:
        """Each pattern's version, by (tenant id or None, pattern), for an editor of the list."""
        query = (IgnoredRow.select(IgnoredRow.pattern, IgnoredRow.version, Tenant.tenant_id)
                 .join(Tenant, join_type=JOIN.LEFT_OUTER).tuples())
        return {(tenant_id, pattern): version for pattern, version, tenant_id in query}


def _query() -> Any:
    return IgnoredRow.select(IgnoredRow, Tenant).join(Tenant, join_type=JOIN.LEFT_OUTER).order_by(IgnoredRow.id)


def _core(row: IgnoredRow) -> IgnoredAccount:
    tenant = None if row.tenant_id is None else row.tenant
    return IgnoredAccount(pattern=row.pattern, tenant_id=None if tenant is None else tenant.tenant_id,
                          reason=row.reason)


def _row(pattern: str, tenant_id: str | None) -> IgnoredRow | None:
    query = IgnoredRow.select().where(IgnoredRow.pattern == pattern)
    if tenant_id is None:
        query = query.where(IgnoredRow.tenant.is_null())
    else:
        query = query.join(Tenant).where(Tenant.tenant_id == tenant_id)
    return query.first()


def _doc(row: IgnoredRow) -> dict[str, Any]:
    tenant = None if row.tenant_id is None else row.tenant
    return {"tenant_id": tenant.tenant_id if tenant else None, "tenant": tenant.name if tenant else "",
            "pattern": row.pattern, "reason": row.reason}


def _what(pattern: str, tenant: Tenant | None) -> str:
    return f"Ignored accounts {pattern} in {tenant.name if tenant else 'every tenant'}"
