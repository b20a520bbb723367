"""Bulk reads for the list of every company: a few queries, whatever the number of companies.

The Companies view shows, for thousands of companies at once, their tenants,
licenses, unmapped licenses, held changes and failed writes. Reading those
one company at a time would be thousands of queries; these read each kind of
fact once, as plain tuples, and the service joins them in memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from peewee import fn

from app.models.connections import Tenant, TenantCompany
from app.models.inventory import InventorySnapshot, SnapshotLicense, SnapshotSubscription
from app.models.records import HeldStatus, JournalState
from app.models.repositories._base import Repository
from app.models.sync import HeldEntry, JournalEntry


@dataclass(frozen=True, kw_only=True)
class LinkFact:
    """A tenant billed to a company (``filter_field`` '' for the whole tenant)."""

    company_id: int
    tenant_id: str
    tenant_name: str
    filter_field: str = ""
    filter_value: str = ""


@dataclass(frozen=True, kw_only=True)
class LicenseFact:
    """One license of a tenant's latest snapshot, with Graph's counts."""

    tenant_id: str
    sku_id: str
    purchased: int
    assigned: int


def _latest_snapshot_ids():
    """A subquery: the id of each tenant's most recent snapshot."""
    latest = (
        InventorySnapshot.select(InventorySnapshot.tenant, fn.MAX(InventorySnapshot.fetched_at).alias("at"))
        .group_by(InventorySnapshot.tenant)
        .alias("latest")
    )
    return (
        InventorySnapshot.select(fn.MAX(InventorySnapshot.id))
        .join(latest, on=(InventorySnapshot.tenant == latest.c.tenant_id)
              & (InventorySnapshot.fetched_at == latest.c.at))
        .group_by(InventorySnapshot.tenant)
    )


class Overview(Repository):
    def links(self) -> list[LinkFact]:
        query = (
            TenantCompany.select(
                TenantCompany.company, Tenant.tenant_id, Tenant.name, TenantCompany.filter_field,
                TenantCompany.filter_value,
            )
            .join(Tenant)
            .order_by(TenantCompany.id)
            .tuples()
        )
        return [LinkFact(company_id=c, tenant_id=t, tenant_name=n, filter_field=f, filter_value=v)
                for c, t, n, f, v in query]

    def latest_licenses(self) -> list[LicenseFact]:
        """Every license of every tenant's latest snapshot."""
        query = (
            SnapshotLicense.select(
                Tenant.tenant_id, SnapshotLicense.sku_id, SnapshotLicense.enabled + SnapshotLicense.warning,
                SnapshotLicense.consumed,
            )
            .join(InventorySnapshot)
            .join(Tenant)
            .where(SnapshotLicense.snapshot.in_(_latest_snapshot_ids()))
            .tuples()
        )
        return [LicenseFact(tenant_id=t, sku_id=s, purchased=p, assigned=a) for t, s, p, a in query]

    def latest_active_subscriptions(self) -> list[tuple[str, str, str]]:
        """(tenant id, SKU id, subscription id) of each active subscription in the latest snapshots."""
        query = (
            SnapshotSubscription.select(Tenant.tenant_id, SnapshotLicense.sku_id, SnapshotSubscription.subscription_id)
            .join(SnapshotLicense)
            .join(InventorySnapshot)
            .join(Tenant)
            .where(SnapshotLicense.snapshot.in_(_latest_snapshot_ids()) & (SnapshotSubscription.status == "active"))
            .tuples()
        )
        # peewee's stubs keep .tuples() typed as a query of models
        return list(query)  # type: ignore[arg-type]

    def held_per_tenant(self) -> Counter[str]:
        """Operations waiting for a person's decision, by tenant."""
        query = (
            HeldEntry.select(HeldEntry.tenant_id, fn.COUNT(HeldEntry.id))
            .where(HeldEntry.status == HeldStatus.HELD.value)
            .group_by(HeldEntry.tenant_id)
            .tuples()
        )
        # peewee's stubs keep .tuples() typed as a query of models
        return Counter(dict(query))  # type: ignore[arg-type]

    def failed_per_tenant(self) -> Counter[str]:
        """Writes the PSA refused at their last attempt, by tenant."""
        query = (
            JournalEntry.select(JournalEntry.tenant_id, fn.COUNT(JournalEntry.id))
            .where(JournalEntry.state == JournalState.FAILED.value)
            .group_by(JournalEntry.tenant_id)
            .tuples()
        )
        # peewee's stubs keep .tuples() typed as a query of models
        return Counter(dict(query))  # type: ignore[arg-type]
