"""Inventory snapshots: a TenantInventory as read, kept for charts and reports, once per change.

Licenses and subscriptions round-trip in the order they were read. Users
are not kept: a snapshot read back has ``users=None``. A read that finds
what the tenant's latest snapshot holds is not kept again: it moves that
snapshot's ``read_at`` forward, so the database grows with change, not with
time. A snapshot read back says when it was last read (``fetched_at`` of
the TenantInventory); the seats over time have a point at its first and at
its last read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from peewee import JOIN, Field, fn

from app.billing import types as core
from app.models.connections import Tenant
from app.models.inventory import InventorySnapshot, SnapshotLicense, SnapshotSubscription
from app.models.records import RecordNotFound, SeatPoint
from app.models.repositories import summaries
from app.models.repositories._base import Prepared, Repository, in_chunks, raw_rows
from app.models.repositories.customers import tenant_row


class Inventory(Repository):
    def save(self, inventory: core.TenantInventory, *, previous: core.TenantInventory | None = None) -> int:
        """Keep the inventory as a snapshot, or as a later read of the latest one when nothing changed; return
        the snapshot's id. The tenant must have been added. ``previous``: the tenant's latest snapshot as the
        caller read it (``latest``), which spares reading it again."""
        if inventory.fetched_at is None:
            raise ValueError(f"the inventory of tenant {inventory.tenant_id} has no fetched_at; a snapshot needs one")
        if previous is not None and previous.fetched_at is not None and _found_again(previous, inventory):
            again = self._read_again(inventory.tenant_id, previous.fetched_at, inventory.fetched_at)
            if again is not None:
                return again
        tenant = tenant_row(inventory.tenant_id)
        with self.atomic():
            latest = self._latest_row(tenant)
            kept = None
            if latest is not None and _last_read(latest) <= inventory.fetched_at:
                kept = previous if previous is not None and previous.fetched_at == _last_read(latest) \
                    else self.load(latest.id)
                if (kept.name, kept.licenses) == (inventory.name, inventory.licenses):
                    InventorySnapshot.update(read_at=inventory.fetched_at).where(
                        InventorySnapshot.id == latest.id).execute()
                    return int(latest.id)
            snapshot = InventorySnapshot.create(tenant=tenant, name=inventory.name, fetched_at=inventory.fetched_at,
                                                read_at=inventory.fetched_at)
            for lic in inventory.licenses:
                license_row = SnapshotLicense.create(
                    snapshot=snapshot,
                    sku_id=lic.sku_id,
                    part_number=lic.part_number,
                    name=lic.name,
                    enabled=lic.enabled,
                    warning=lic.warning,
                    suspended=lic.suspended,
                    locked_out=lic.locked_out,
                    consumed=lic.consumed,
                    ignored=lic.ignored,
                )
                for sub in lic.subscriptions:
                    SnapshotSubscription.create(
                        license=license_row,
                        subscription_id=sub.id,
                        sku_id=sub.sku_id,
                        offer_name=sub.offer_name,
                        quantity=sub.quantity,
                        term=sub.term.value,
                        billing_cycle=sub.billing_cycle.value,
                        status=sub.status,
                        commitment_end=sub.commitment_end,
                        cancellation_allowed_until=sub.cancellation_allowed_until,
                        auto_renew=sub.auto_renew,
                        is_trial=sub.is_trial,
                    )
            # The Companies list counts the latest snapshot's licenses: its figures change when this one is the
            # latest (a later read; the same instant: the one kept last) and counts otherwise than the one before.
            if latest is None or (inventory.fetched_at >= latest.fetched_at
                                  and (kept is None or _counted(kept) != _counted(inventory))):
                summaries.refresh_tenants([inventory.tenant_id])
        return snapshot.id

    def keep(self, inventory: core.TenantInventory, *, previous: core.TenantInventory | None = None) -> None:
        """``save`` for a caller that needs no id (a sync): a read that finds what ``previous`` holds, while that
        is still the tenant's latest snapshot as then read, moves its last read in one statement."""
        if previous is None or previous.fetched_at is None or inventory.fetched_at is None \
                or not _found_again(previous, inventory) \
                or not self._moved(inventory.tenant_id, previous.fetched_at, inventory.fetched_at):
            self.save(inventory, previous=previous)

    @staticmethod
    def _moved(tenant_id: str, last_read: datetime, at: datetime) -> bool:
        """The tenant's latest snapshot's last read moved to ``at`` when it was read last at ``last_read``."""
        return bool(InventorySnapshot.update(read_at=at).where(
            (InventorySnapshot.id == _newest(tenant_id)) & _last_read_was(last_read)).execute())

    def _read_again(self, tenant_id: str, last_read: datetime, at: datetime) -> int | None:
        """Move the tenant's latest snapshot's last read to ``at`` when it is still the one last read at
        ``last_read`` (a sync that found nothing changed): two statements and no transaction, as the update
        itself checks that no other read was kept since. None: it is not; ``save`` keeps the read as usual."""
        latest = (InventorySnapshot.select(InventorySnapshot.id, InventorySnapshot.tenant, InventorySnapshot.fetched_at,
                                           InventorySnapshot.read_at).join(Tenant).where(Tenant.tenant_id == tenant_id)
                  .order_by(InventorySnapshot.fetched_at.desc(), InventorySnapshot.id.desc()).first())
        if latest is None or _last_read(latest) != last_read:
            return None
        newest = (InventorySnapshot.select(InventorySnapshot.id).where(InventorySnapshot.tenant == latest.tenant_id)
                  .order_by(InventorySnapshot.fetched_at.desc(), InventorySnapshot.id.desc()).limit(1))
        moved = InventorySnapshot.update(read_at=at).where(
            (InventorySnapshot.id == latest.id) & (InventorySnapshot.id == newest) & _last_read_was(last_read)
        ).execute()
        return int(latest.id) if moved else None

    def load(self, snapshot_id: int) -> core.TenantInventory:
        inventory = _read(InventorySnapshot.id == snapshot_id)
        if inventory is None:
            raise RecordNotFound(f"(inventory snapshot {snapshot_id})")
        return inventory

    def latest(self, tenant_id: str) -> core.TenantInventory | None:
        """The tenant's most recent snapshot, or None when it was never read (one query)."""
        return next(iter(_inventories(_LATEST.rows(tenant_id), None)), None)

    @staticmethod
    def _latest_row(tenant: Tenant) -> InventorySnapshot | None:
        return (InventorySnapshot.select(InventorySnapshot.id, InventorySnapshot.fetched_at, InventorySnapshot.read_at)
                .where(InventorySnapshot.tenant == tenant)
                .order_by(InventorySnapshot.fetched_at.desc(), InventorySnapshot.id.desc()).first())

    def latest_all(self) -> dict[str, core.TenantInventory]:
        """Every tenant's most recent snapshot (the notices', reports' and exclusions' input), in two queries."""
        return {inv.tenant_id: inv for inv in _read_all(InventorySnapshot.id.in_(self._latest_query()))}

    def latest_of(self, tenant_ids: Iterable[str]) -> dict[str, core.TenantInventory]:
        """The most recent snapshot of each of ``tenant_ids`` that was read, in two queries per 500 tenants."""
        found: dict[str, core.TenantInventory] = {}
        for chunk in in_chunks(tenant_ids):
            tenants = Tenant.select(Tenant.id).where(Tenant.tenant_id.in_(chunk))
            latest = self._latest_query().where(InventorySnapshot.tenant.in_(tenants))
            found.update((inv.tenant_id, inv) for inv in _read_all(InventorySnapshot.id.in_(latest)))
        return found

    def previous_skus(self) -> dict[str, set[str]]:
        """Per tenant whose latest read found a change, the SKUs that had seats in its snapshot before.

        A tenant read only once is absent: nothing can be "new" at its first read; so is one whose latest
        snapshot was read again since, unchanged: what was new is no longer.
        """
        ranked = InventorySnapshot.select(
            InventorySnapshot.id, InventorySnapshot.tenant, InventorySnapshot.fetched_at, InventorySnapshot.read_at,
            fn.ROW_NUMBER().over(partition_by=[InventorySnapshot.tenant],
                                 order_by=[InventorySnapshot.fetched_at.desc(), InventorySnapshot.id.desc()])
            .alias("rank")).alias("ranked")
        rows = list(InventorySnapshot.select(ranked.c.id, ranked.c.tenant_id, ranked.c.fetched_at, ranked.c.read_at,
                                             ranked.c.rank).from_(ranked).where(ranked.c.rank <= 2).tuples())
        changed = {tenant for _, tenant, fetched_at, read_at, rank in rows
                   if rank == 1 and read_at in (None, fetched_at)}
        previous = {snapshot: tenant for snapshot, tenant, _, _, rank in rows if rank == 2 and tenant in changed}
        tenants = {row_id: tenant_id for row_id, tenant_id in Tenant.select(Tenant.id, Tenant.tenant_id).tuples()}
        found: dict[str, set[str]] = {tenants[t]: set() for t in previous.values()}
        for snapshot, sku_id in SnapshotLicense.select(SnapshotLicense.snapshot, SnapshotLicense.sku_id).where(
                SnapshotLicense.snapshot.in_(list(previous))
                & ((SnapshotLicense.enabled + SnapshotLicense.warning > 0) | (SnapshotLicense.consumed > 0))).tuples():
            found[tenants[previous[snapshot]]].add(sku_id.lower())
        return found

    def history(
        self, tenant_id: str, sku_id: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[SeatPoint]:
        """The license's seats at the first and the last read of each snapshot in [since, until), oldest first.

        A read where the tenant did not have the license is a point at zero.
        """
        query = (
            InventorySnapshot.select(InventorySnapshot.id, InventorySnapshot.fetched_at, InventorySnapshot.read_at)
            .where(InventorySnapshot.tenant == tenant_row(tenant_id))
            .order_by(InventorySnapshot.fetched_at, InventorySnapshot.id)
        )
        if since is not None:
            query = query.where(InventorySnapshot.fetched_at >= since)
        if until is not None:
            query = query.where(InventorySnapshot.fetched_at < until)
        snapshots = list(query)
        counts = {
            row.snapshot_id: row
            for row in SnapshotLicense.select().where(
                (SnapshotLicense.sku_id == sku_id) & SnapshotLicense.snapshot.in_([s.id for s in snapshots])
            )
        }
        points = []
        for snapshot in snapshots:
            row = counts.get(snapshot.id)
            purchased, assigned = (0, 0) if row is None else (row.enabled + row.warning, row.consumed)
            reads = dict.fromkeys((snapshot.fetched_at, _last_read(snapshot)))
            points += [SeatPoint(fetched_at=at, purchased=purchased, assigned=assigned) for at in reads
                       if until is None or at < until]
        return points

    def prune(self, before: datetime) -> int:
        """Delete snapshots last read before ``before``, keeping each tenant's latest; return how many."""
        keep = self._latest_ids()
        with self.atomic():
            query = InventorySnapshot.delete().where(
                (InventorySnapshot.read_at < before)
                | (InventorySnapshot.read_at.is_null() & (InventorySnapshot.fetched_at < before)))
            if keep:
                query = query.where(InventorySnapshot.id.not_in(keep))
            return query.execute()

    @classmethod
    def _latest_ids(cls) -> list[int]:
        return [row.id for row in cls._latest_query()]

    @staticmethod
    def _latest_query() -> Any:
        """The id of each tenant's most recent snapshot, as a query."""
        latest = (
            InventorySnapshot.select(InventorySnapshot.tenant, fn.MAX(InventorySnapshot.fetched_at).alias("at"))
            .group_by(InventorySnapshot.tenant)
            .alias("latest")
        )
        return (
            InventorySnapshot.select(fn.MAX(InventorySnapshot.id).alias("id"))
            .join(
                latest,
                on=(InventorySnapshot.tenant == latest.c.tenant_id) & (InventorySnapshot.fetched_at == latest.c.at),
            )
            .group_by(InventorySnapshot.tenant)
        )


#: A snapshot's columns, then each license's, then each subscription's: one row per subscription (per license
#: without one; one row for a snapshot without licenses).
_SNAPSHOT = (Tenant.tenant_id, InventorySnapshot.name, InventorySnapshot.fetched_at, InventorySnapshot.read_at)
_LICENSE = (SnapshotLicense.id, SnapshotLicense.sku_id, SnapshotLicense.part_number, SnapshotLicense.name,
            SnapshotLicense.enabled, SnapshotLicense.warning, SnapshotLicense.suspended, SnapshotLicense.locked_out,
            SnapshotLicense.consumed, SnapshotLicense.ignored)
_SUBSCRIPTION = (SnapshotSubscription.id, SnapshotSubscription.subscription_id, SnapshotSubscription.sku_id,
                 SnapshotSubscription.offer_name, SnapshotSubscription.quantity, SnapshotSubscription.term,
                 SnapshotSubscription.billing_cycle, SnapshotSubscription.status, SnapshotSubscription.commitment_end,
                 SnapshotSubscription.cancellation_allowed_until, SnapshotSubscription.auto_renew,
                 SnapshotSubscription.is_trial)


def _read(where) -> core.TenantInventory | None:
    """The snapshot ``where`` selects (None: no such snapshot), in one query."""
    return next(iter(_read_all(where, apart=False)), None)


def _read_all(where, *, apart: bool = True) -> list[core.TenantInventory]:
    """The snapshots ``where`` selects, each with its licenses and their subscriptions in the order they were
    read. ``apart``: in two queries, the snapshots' own columns (two of them instants) read and converted once
    per snapshot rather than beside each of its licenses; else in one (a single snapshot: one statement)."""
    heads: dict[int, tuple] = {}
    if apart:
        heads = {row[0]: row[1:] for row in cast(Iterable[tuple[Any, ...]], (
            InventorySnapshot.select(InventorySnapshot.id, *_SNAPSHOT).join(Tenant).where(where)
            .order_by(InventorySnapshot.id).tuples()))}
    return _inventories(raw_rows(_snapshots(where, apart=apart)), heads if apart else None)


def _newest(tenant_id: str) -> Any:
    """The id of the tenant's most recent snapshot, as a query."""
    return (InventorySnapshot.select(InventorySnapshot.id).join(Tenant).where(Tenant.tenant_id == tenant_id)
            .order_by(InventorySnapshot.fetched_at.desc(), InventorySnapshot.id.desc()).limit(1))


def _snapshots(where, *, apart: bool) -> Any:
    """The rows of the snapshots ``where`` selects: one per subscription (per license without one), with the
    snapshot's own columns unless ``apart``."""
    head = () if apart else _SNAPSHOT
    query = InventorySnapshot.select(InventorySnapshot.id, *head, *_LICENSE, *_SUBSCRIPTION)
    if not apart:
        query = query.join(Tenant).switch(InventorySnapshot)
    return (query.join(SnapshotLicense, JOIN.LEFT_OUTER, on=SnapshotLicense.snapshot == InventorySnapshot.id)
            .join(SnapshotSubscription, JOIN.LEFT_OUTER, on=SnapshotSubscription.license == SnapshotLicense.id)
            .where(where).order_by(InventorySnapshot.id, SnapshotLicense.id, SnapshotSubscription.id))


#: A tenant's latest snapshot, its SQL made once (``latest`` runs for every tenant of a sync).
_LATEST = Prepared(lambda tenant_id: _snapshots(InventorySnapshot.id == _newest(tenant_id), apart=False))


def _inventories(rows: Iterable[tuple[Any, ...]], heads: dict[int, tuple] | None) -> list[core.TenantInventory]:
    """The snapshots of ``rows`` (``_snapshots``'), their own columns in ``heads`` by id (None: in the rows).
    The licenses come as the driver gives them (text and whole numbers: nothing to convert, and peewee's
    conversion costs more than the query over every tenant's 50,000 licenses); a subscription's columns are
    converted by their fields."""
    apart = heads is not None
    heads = {} if heads is None else heads
    licenses: dict[int, dict[int, tuple]] = defaultdict(dict)  # by snapshot, then by license
    subscriptions: dict[int, list[core.Subscription]] = defaultdict(list)
    first = 1 if apart else 1 + len(_SNAPSHOT)
    license_at = first + len(_LICENSE)
    for row in rows:
        snapshot_id = row[0]
        if not apart and snapshot_id not in heads:
            heads[snapshot_id] = _converted(_SNAPSHOT, row[1:first])
        license_row = row[first:license_at]
        if license_row[0] is None:
            continue
        licenses[snapshot_id].setdefault(license_row[0], license_row)
        if row[license_at] is not None:
            (_, subscription_id, sku_id, offer_name, quantity, term, cycle, status, commitment_end, cancel_until,
             auto_renew, is_trial) = _converted(_SUBSCRIPTION, row[license_at:])
            subscriptions[license_row[0]].append(core.Subscription(
                id=subscription_id, sku_id=sku_id, offer_name=offer_name, quantity=quantity, term=core.Term(term),
                billing_cycle=core.Cycle(cycle), status=status, commitment_end=commitment_end,
                cancellation_allowed_until=cancel_until, auto_renew=auto_renew, is_trial=is_trial))
    return [core.TenantInventory(
        tenant_id=tenant_id, name=name, fetched_at=read_at or fetched_at, users=None,
        licenses=tuple(core.License(sku_id=sku_id, part_number=part_number, name=license_name, enabled=enabled,
                                    warning=warning, suspended=suspended, locked_out=locked_out, consumed=consumed,
                                    ignored=ignored, subscriptions=tuple(subscriptions[license_id]))
                       for license_id, sku_id, part_number, license_name, enabled, warning, suspended, locked_out,
                       consumed, ignored in licenses[snapshot_id].values()))
        for snapshot_id, (tenant_id, name, fetched_at, read_at) in heads.items()]


def _converted(fields: tuple[Field, ...], values: Sequence[Any]) -> tuple[Any, ...]:
    """``values`` as the driver gave them for ``fields``, converted as peewee would."""
    return tuple(None if value is None else field.python_value(value)
                 for field, value in zip(fields, values, strict=True))


def _counted(inventory: core.TenantInventory) -> tuple:
    """What the Companies list's figures read of a snapshot: each license's SKU, seats and subscriptions."""
    return tuple((lic.sku_id, lic.purchased, lic.assigned, lic.ignored, lic.subscriptions)
                 for lic in inventory.licenses)


def _found_again(previous: core.TenantInventory, inventory: core.TenantInventory) -> bool:
    """``inventory`` is a later read of what ``previous`` holds."""
    assert previous.fetched_at is not None and inventory.fetched_at is not None
    return previous.fetched_at <= inventory.fetched_at \
        and (previous.name, previous.licenses) == (inventory.name, inventory.licenses)


def _last_read_was(at: datetime) -> Any:
    """The snapshot was last read at ``at`` (a snapshot never read again has no ``read_at``)."""
    never_again = InventorySnapshot.read_at.is_null() & (InventorySnapshot.fetched_at == at)
    return (InventorySnapshot.read_at == at) | never_again


def _last_read(snapshot: InventorySnapshot) -> datetime:
    return snapshot.read_at or snapshot.fetched_at
