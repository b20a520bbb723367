"""Inventory snapshots: what a tenant had when it was read, for the seats-over-time
chart and the reconciliation report.

One snapshot per read of a tenant; one row per license (Graph's counts) and
per subscription under it (Partner Center's terms). Users are not kept.
"""

from __future__ import annotations

from peewee import SQL, BooleanField, CharField, ForeignKeyField, IntegerField

from app.models.connections import Tenant
from app.models.database import BaseModel
from app.models.fields import DayField, InstantField


class InventorySnapshot(BaseModel):
    """A tenant's inventory as first read at ``fetched_at``; ``read_at``: the last read that found it unchanged."""

    tenant = ForeignKeyField(Tenant, backref="snapshots", on_delete="CASCADE")
    name = CharField(max_length=300, default="")
    fetched_at = InstantField()
    read_at = InstantField(null=True)

    class Meta:
        table_name = "inventory_snapshot"
        indexes = ((("tenant", "fetched_at"), False),)


class SnapshotLicense(BaseModel):
    snapshot = ForeignKeyField(InventorySnapshot, backref="licenses", on_delete="CASCADE")
    sku_id = CharField(max_length=64)
    part_number = CharField(max_length=200, default="")
    name = CharField(max_length=300, default="")
    enabled = IntegerField(default=0)
    warning = IntegerField(default=0)
    suspended = IntegerField(default=0)
    locked_out = IntegerField(default=0)
    consumed = IntegerField(default=0)
    ignored = IntegerField(default=0, constraints=[SQL("DEFAULT 0")])  # seats ignored accounts held (0021)

    class Meta:
        table_name = "snapshot_license"
        # 0002 adds an index on sku_id alone (a SKU across all tenants over time).
        indexes = ((("snapshot", "sku_id"), True), (("sku_id",), False))


class SnapshotSubscription(BaseModel):
    license = ForeignKeyField(SnapshotLicense, backref="subscriptions", on_delete="CASCADE")
    subscription_id = CharField(max_length=64)
    sku_id = CharField(max_length=64)
    offer_name = CharField(max_length=300, default="")
    quantity = IntegerField(default=0)
    term = CharField(max_length=8, default="P1M")
    billing_cycle = CharField(max_length=16, default="monthly")
    status = CharField(max_length=32, default="active")
    commitment_end = DayField(null=True)
    cancellation_allowed_until = DayField(null=True)
    auto_renew = BooleanField(default=True)
    is_trial = BooleanField(default=False)

    class Meta:
        table_name = "snapshot_subscription"
        indexes = ((("license", "subscription_id"), True),)
