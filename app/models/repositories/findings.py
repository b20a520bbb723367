"""What each tenant's latest sync found: the findings the notices and the company page show after a restart.

A finished sync replaces the findings of each tenant it planned, in the
transaction that stores the tenants' outcomes; a tenant it did not reach, or
that failed before planning, keeps its previous ones. So a finding stays in
front of the person until a sync of that tenant no longer reports it, and the
headless runner's findings reach the window's notices, and the other way round.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from collections.abc import Mapping as AnyMapping
from datetime import datetime

from app.billing.operations import Finding, FindingKind
from app.models.repositories._base import Repository, in_chunks
from app.models.sync import TenantFinding

log = logging.getLogger(__name__)

#: Rows per INSERT (eight columns each: far below SQLite's limit on bound values).
_BATCH = 100
_COLUMNS = (TenantFinding.tenant_id, TenantFinding.kind, TenantFinding.sku_id, TenantFinding.agreement_id,
            TenantFinding.line_id, TenantFinding.message)


class TenantFindings(Repository):
    def replace(self, findings: AnyMapping[str, Iterable[Finding]], *, at: datetime,
                sync_run_id: int | None = None) -> None:
        """Each tenant given now has exactly these findings (none: it has none left), stored as the tenant's,
        each once; every other tenant keeps its own."""
        tenants = list(findings)
        rows = [{"tenant_id": tenant_id, "sync_run": sync_run_id, "found_at": at, "kind": FindingKind(f.kind).value,
                 "sku_id": f.sku_id, "agreement_id": f.agreement_id, "line_id": f.line_id, "message": f.message}
                for tenant_id, found in findings.items() for f in dict.fromkeys(found)]
        with self.atomic():
            for chunk in in_chunks(tenants):
                TenantFinding.delete().where(TenantFinding.tenant_id.in_(chunk)).execute()
            for start in range(0, len(rows), _BATCH):
                TenantFinding.insert_many(rows[start:start + _BATCH]).execute()

    def latest(self, tenant_ids: Iterable[str] | None = None) -> dict[str, tuple[Finding, ...]]:
        """Each tenant's findings in the order its sync found them (of ``tenant_ids`` only, when given), in one
        query; a tenant without any is absent."""
        query = TenantFinding.select(*_COLUMNS).order_by(TenantFinding.id)
        if tenant_ids is not None:
            query = query.where(TenantFinding.tenant_id.in_(list(tenant_ids)))
        out: dict[str, list[Finding]] = {}
        for tenant_id, kind, sku_id, agreement_id, line_id, message in query.tuples():
            try:
                known = FindingKind(kind)
            except ValueError:  # written by a newer seatsync sharing the database: it shows it, this one cannot
                log.debug("finding of unknown kind %r skipped", kind)
                continue
            out.setdefault(tenant_id, []).append(Finding(kind=known, tenant_id=tenant_id, sku_id=sku_id,
                                                         agreement_id=agreement_id, line_id=line_id, message=message))
        return {tenant_id: tuple(found) for tenant_id, found in out.items()}
