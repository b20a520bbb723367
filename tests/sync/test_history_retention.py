"""After each finished sync, run records and inventory snapshots older than the history the settings keep go;
the latest snapshot of each tenant and the last run of each trigger stay, and nothing the PSA was sent does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from app.bootstrap import open_context
from app.models.records import RunStatus
from tests.sync.psa_shop import open_shop

NOW = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)


def test_a_sync_forgets_what_is_older_than_the_history_kept(data_dir):
    context = open_context(data_dir, now=lambda: NOW)
    try:
        shop = open_shop(context, ["Contoso Dental"])
        tenant = shop.tenants["Contoso Dental"]
        uow = context.uow
        latest = uow.inventory.latest(tenant)
        long_ago = NOW - timedelta(days=100)
        older = replace(latest, fetched_at=long_ago, licenses=latest.licenses[:1])
        uow.inventory.save(older)  # an older read of other licenses: a snapshot of its own
        old_run = uow.runs.start(trigger="manual", at=long_ago)
        uow.runs.finish(old_run.id, status=RunStatus.SUCCEEDED, at=long_ago)
        context.settings.set_history_days(90)

        summary = shop.service().sync(actor="test")

        assert summary.writes > 0  # what was written to the PSA is audited; History keeps it
        assert [r.id for r in uow.runs.recent()] == [summary.run_id]
        assert uow.inventory.latest(tenant) == latest
        assert min(p.fetched_at for p in uow.inventory.history(tenant, latest.licenses[0].sku_id)) > long_ago
        assert uow.audit.query()  # the writes' audit entries stay, with or without their run
    finally:
        context.close()
