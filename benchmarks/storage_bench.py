"""How seatsync's database grows over a year of daily syncs.

    python benchmarks/storage_bench.py --tenants 1000 --days 365 --churn 0.05 --json storage.json

Simulates ``--days`` daily syncs of ``--tenants`` tenants (ten licenses
each, three with subscriptions) as the sync stores them: each day every
tenant's inventory is read and kept through the sync's own store
(``SnapshotStore``: the tenant's latest snapshot read, then the read kept
beside it), ``--churn`` of
the tenants having changed seats that day, the run is recorded with each
tenant's outcome. Prints, at a few points and at the end, the database's
size on disk and the rows of each table, and the rows storage that grows
with change (not with time) would hold: a snapshot per tenant and per
change, a run per day, an outcome per tenant. Billing writes (journal,
audit) grow with the changes written to the PSA and are not simulated.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from app.billing.types import Cycle, License, Subscription, TenantInventory, Term  # noqa: E402
from app.bootstrap import open_context  # noqa: E402
from app.models.database import db  # noqa: E402
from app.models.records import RunStatus, SyncOutcome, SyncOutcomeRecord, TenantRecord  # noqa: E402
from app.paths import DATABASE_NAME  # noqa: E402
from app.services.providers import SnapshotStore  # noqa: E402
from app.services.secrets import MemoryKeyring, SecretStore  # noqa: E402

LICENSES = 10
SUBSCRIBED = 3  # licenses with a subscription
START = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)


def inventory(tenant_id: str, seats: list[int], at: datetime) -> TenantInventory:
    return TenantInventory(tenant_id=tenant_id, name=f"Tenant {tenant_id[-5:]}", fetched_at=at, licenses=tuple(
        License(sku_id=f"00000000-0000-4000-8000-{k:012d}", part_number=f"SKU{k}", name=f"License {k}",
                enabled=seats[k], consumed=max(0, seats[k] - 1),
                subscriptions=(Subscription(id=f"{tenant_id[-5:]}-{k}", sku_id=f"00000000-0000-4000-8000-{k:012d}",
                                            quantity=seats[k], term=Term.YEAR, billing_cycle=Cycle.MONTHLY,
                                            status="active", commitment_end=date(2027, 1, 1)),)
                if k < SUBSCRIBED else ())
        for k in range(LICENSES)))


def bounds(tenants: int, days: int, changes: int) -> dict[str, int]:
    """Rows per table when storage grows with change, not time: a snapshot per tenant and per change (each
    of its licenses and subscriptions), a run per day, an outcome and a record per tenant."""
    snapshots = tenants + changes
    return {"inventory_snapshot": snapshots, "snapshot_license": snapshots * LICENSES,
            "snapshot_subscription": snapshots * SUBSCRIBED, "sync_run": days, "tenant": tenants,
            "tenant_sync_outcome": tenants}


def report(label: str, database: Path, bound: dict[str, int]) -> dict[str, object]:
    tables = [row[0] for row in db.execute_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    counts = {t: db.execute_sql(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    size = sum(p.stat().st_size for p in database.parent.glob(f"{DATABASE_NAME}*"))
    rows = ", ".join(f"{t} {n:,}" for t, n in counts.items() if n)
    expected = ", ".join(f"{t} {n:,}" for t, n in bound.items())
    print(f"{label}: {size / 2**20:.1f} MiB; rows: {rows}; growing with change: {expected}")
    return {"size_mib": round(size / 2**20, 2), "rows": {t: n for t, n in counts.items() if n}, "bounds": bound}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--churn", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to FILE as JSON")
    args = parser.parse_args(argv)
    figures: dict[str, object] = {"tenants": args.tenants, "days": args.days, "churn": args.churn}
    checkpoints: list[dict[str, object]] = []
    changes = 0
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        context = open_context(Path(scratch), secrets=SecretStore(MemoryKeyring()))
        uow, database = context.uow, Path(scratch) / DATABASE_NAME
        store = SnapshotStore(uow.inventory)
        try:
            tenants = {f"10000000-0000-4000-8000-{i:012d}": [rng.randint(5, 50) for _ in range(LICENSES)]
                       for i in range(args.tenants)}
            with uow:
                for tenant_id in tenants:
                    uow.tenants.add(TenantRecord(tenant_id=tenant_id, name=f"Tenant {tenant_id[-5:]}"))
            started = time.perf_counter()
            days = {1, 30, args.days} | {d for d in (90, 180) if d < args.days}
            for day in range(1, args.days + 1):
                at = START + timedelta(days=day - 1)
                with uow:
                    run = uow.runs.start(trigger="schedule", scope="all", at=at)
                    for tenant_id, seats in tenants.items():
                        if day > 1 and rng.random() < args.churn:
                            k = rng.randrange(LICENSES)
                            before = seats[k]
                            seats[k] = max(0, seats[k] + rng.choice((-2, -1, 1, 2, 3)))
                            changes += seats[k] != before
                        store.save_snapshot(inventory(tenant_id, seats, at), store.latest(tenant_id))
                    uow.runs.finish(run.id, status=RunStatus.SUCCEEDED, at=at + timedelta(minutes=5))
                    uow.sync_outcomes.record(SyncOutcomeRecord(tenant_id=t, status=SyncOutcome.OK, sync_run_id=run.id,
                                                               finished_at=at + timedelta(minutes=5))
                                             for t in tenants)
                if day in days:
                    figure = report(f"day {day} ({args.tenants:,} tenants, {args.churn:.0%} churn)", database,
                                    bounds(args.tenants, day, changes))
                    checkpoints.append({"day": day, "changes": changes, **figure})
            seconds = time.perf_counter() - started
            print(f"simulated {args.days} days in {seconds:.0f} s")
        finally:
            context.close()
    if args.json:
        figures.update(seconds=round(seconds, 1), changes=changes, checkpoints=checkpoints)
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
