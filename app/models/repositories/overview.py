"""Bulk reads for the list of every company: a few queries, whatever the number of companies.

The Companies view shows, for thousands of companies at once, their tenants,
licenses, unmapped licenses, monthly amounts, held changes, failed writes and
last sync. Reading those one company at a time would be thousands of queries;
these read each kind of fact once and the service joins them in memory. What
takes working out (licenses, unmapped licenses, monthly amounts) is kept on
each company's row by the writes that change it (summaries.py): ``companies``
reads it with the companies themselves.

The rows of a query of thousands are read straight from the database's
cursor, each column converted here once: peewee's conversion of every value
of every row was most of the list's time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from peewee import fn

from app.models.connections import Company, Tenant, TenantCompany
from app.models.records import ConsentStatus, HeldStatus, JournalState, SyncOutcome
from app.models.repositories._base import Repository, raw_rows
from app.models.repositories.summaries import Figures, decode_monthly
from app.models.sync import HeldEntry, JournalEntry, TenantSyncOutcome


class CompanyFact(NamedTuple):
    """A company with at least one tenant, and the list's figures kept on its row (None: not worked out)."""

    id: int
    connection_id: int
    psa_id: str
    name: str
    identifier: str = ""
    active: bool = True
    figures: Figures | None = None


@dataclass(frozen=True, kw_only=True)
class OutcomeFact:
    """How a tenant's latest finished run went, as the runs stored it (``SyncOutcomes``)."""

    tenant_id: str
    status: SyncOutcome
    finished_at: datetime
    writes: int = 0
    error: str = ""


def _instant(value: object) -> datetime:
    """An instant as the driver gives it (text on SQLite, a datetime on PostgreSQL), aware in UTC."""
    found = TenantSyncOutcome.finished_at.python_value(value)
    if found is None:
        raise ValueError("an instant of a NOT NULL column is NULL")
    return found


class Overview(Repository):
    def companies(self) -> list[CompanyFact]:
        """Every company with at least one tenant, with the figures kept on its row, in one query."""
        query = (Company.select(Company.id, Company.connection, Company.psa_id, Company.name, Company.identifier,
                                Company.active, Company.list_licenses, Company.list_unmapped, Company.list_unpriced,
                                Company.list_monthly)
                 .where(Company.id.in_(TenantCompany.select(TenantCompany.company))))
        decoded: dict[tuple[int, int, int, str], Figures] = {}  # companies with the same figures share them
        found = []
        for company_id, connection_id, psa_id, name, identifier, active, *kept in raw_rows(query):
            licenses, unmapped, unpriced, monthly = kept
            figures = None
            if monthly is not None:
                key = (licenses, unmapped, unpriced, monthly)
                figures = decoded.get(key)
                if figures is None:
                    figures = decoded[key] = Figures(licenses=licenses, unmapped=unmapped,
                                                     monthly=decode_monthly(monthly), unpriced=unpriced)
            found.append(CompanyFact(company_id, connection_id, psa_id, name, identifier, bool(active), figures))
        return found

    def tenants(self) -> dict[int, list[tuple[str, str]]]:
        """Each company's tenants, as (name, tenant id) in that order, each once, by company id."""
        query = TenantCompany.select(TenantCompany.company, Tenant.name, Tenant.tenant_id).join(Tenant)
        found: dict[int, list[tuple[str, str]]] = {}
        for company_id, name, tenant_id in raw_rows(query):
            pair = (name, tenant_id)
            have = found.get(company_id)
            if have is None:
                found[company_id] = [pair]
            elif pair not in have:  # a tenant linked twice (two user filters) is one tenant
                have.append(pair)
                have.sort()
        return found

    def partners(self) -> dict[str, int | None]:
        """Each tenant's partner connection (None: not recorded), by tenant id, in one query."""
        return dict(raw_rows(Tenant.select(Tenant.tenant_id, Tenant.partner)))

    def without_access(self) -> set[str]:
        """The tenants seatsync has no Microsoft access to (consent missing, expired or revoked), in one query."""
        lost = [ConsentStatus.MISSING.value, ConsentStatus.EXPIRED.value, ConsentStatus.REVOKED.value]
        return {tenant_id for (tenant_id,) in raw_rows(Tenant.select(Tenant.tenant_id).where(
            Tenant.consent_status.in_(lost)))}

    def outcomes(self, tenant_ids: Iterable[str] | None = None) -> list[OutcomeFact]:
        """Each tenant's stored outcome (of ``tenant_ids`` only, when given), in one query."""
        query = TenantSyncOutcome.select(TenantSyncOutcome.tenant_id, TenantSyncOutcome.status,
                                         TenantSyncOutcome.finished_at, TenantSyncOutcome.writes,
                                         TenantSyncOutcome.error)
        if tenant_ids is not None:
            query = query.where(TenantSyncOutcome.tenant_id.in_(list(tenant_ids)))
        statuses = {s.value: s for s in SyncOutcome}
        return [OutcomeFact(tenant_id=tenant_id, status=statuses[status], finished_at=_instant(finished_at),
                            writes=writes, error=error)
                for tenant_id, status, finished_at, writes, error in raw_rows(query)]

    def held_per_tenant(self) -> Counter[str]:
        """Operations waiting for a person's decision, by tenant."""
        query = (
            HeldEntry.select(HeldEntry.tenant_id, fn.COUNT(HeldEntry.id))
            .where(HeldEntry.status == HeldStatus.HELD.value)
            .group_by(HeldEntry.tenant_id)
        )
        return Counter(dict(raw_rows(query)))

    def failed_per_tenant(self) -> Counter[str]:
        """Writes the PSA refused at their last attempt, by tenant."""
        query = (
            JournalEntry.select(JournalEntry.tenant_id, fn.COUNT(JournalEntry.id))
            .where(JournalEntry.state == JournalState.FAILED.value)
            .group_by(JournalEntry.tenant_id)
        )
        return Counter(dict(raw_rows(query)))
