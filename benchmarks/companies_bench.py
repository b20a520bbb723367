"""How long the Companies list and the reconciliation report take to read on a real database of many companies.

    python benchmarks/companies_bench.py --companies 5000 --keep /tmp/companies-db --json companies.json

Builds a seatsync database (SQLite) of ``--companies`` PSA companies, each
with one tenant, two inventory snapshots of ten licenses (the latest one
counts) and eight of them mapped, then times
``CompanyService.company_rows()`` (the list's one worker call: names,
counts, badges, monthly amounts) ``--repeat`` times and prints each read
with the number of SQL statements it ran. The rows are written in bulk
(one prepared INSERT a table, ``executemany``), then the list's figures of every company are worked out
and kept as the app's writes keep them (``summaries.refresh_all``): 5,000
companies take seconds. Then it reads the reconciliation report once
(``ReportService.reconcile``, time and statements) and opens the Reports
view offscreen until it shows it (time, and the UI thread's longest block),
then sorts and searches its table as a person would (each step's longest
block of the UI thread, and how long until the table shows its outcome).
``--keep DIR`` keeps the database there and reuses it on the next run;
``--json FILE`` writes every figure. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from peewee import Model  # noqa: E402

from app.billing.types import BillingProfile  # noqa: E402
from app.bootstrap import open_context  # noqa: E402
from app.models.billing import Mapping, PsaAgreement, PsaProduct  # noqa: E402
from app.models.connections import Company, Tenant, TenantCompany  # noqa: E402
from app.models.database import db  # noqa: E402
from app.models.inventory import InventorySnapshot, SnapshotLicense  # noqa: E402
from app.models.repositories import summaries  # noqa: E402
from app.services.container import Services  # noqa: E402
from app.services.secrets import MemoryKeyring, SecretStore  # noqa: E402
from app.services.uow import connected  # noqa: E402

LICENSES = 10
MAPPED = 8
PRICE = Decimal("10.00")
#: The longest the Reports view may take to show the report of every company (seconds).
REPORT_TIMEOUT = 120
#: How long the probe goes on ticking once the report shows: what the read left behind (a garbage collection
#: of its objects, say) blocks the window then.
AFTER_SHOWN_SECONDS = 0.5


def sku(k: int) -> str:
    return f"00000000-0000-4000-8000-{k:012d}"


def tenant_id(i: int) -> str:
    return f"10000000-0000-4000-8000-{i:012d}"


def assigned(k: int) -> int:
    """Seats assigned of license ``k`` in every tenant's latest snapshot (purchased: five more)."""
    return 5 + k


#: What each company bills a month: its mapped licenses' assigned seats at the products' price.
MONTHLY = sum(assigned(k) for k in range(MAPPED)) * PRICE


def _insert(model: type[Model], rows: Iterable[dict[str, Any]]) -> None:
    """Insert the rows (dicts by field name; a field left out takes its default) in one prepared statement,
    each value converted by its field as peewee's own insert would (``insert_many`` builds the SQL of every
    row anew: most of a 5,000-company build's time)."""
    fields = [field for field in model._meta.sorted_fields if not field.primary_key]
    defaults = {field.name: field.default for field in fields}
    table = model._meta.table_name
    columns = ", ".join(f'"{field.column_name}"' for field in fields)
    placeholders = ", ".join([db.obj.param] * len(fields))

    def values(row: dict[str, Any]) -> list[Any]:
        found = []
        for field in fields:
            value = row[field.name] if field.name in row else defaults[field.name]
            found.append(field.db_value(value() if callable(value) else value))
        return found

    db.cursor().executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({placeholders})', map(values, rows))


def build(context: Services, companies: int, *, now: datetime | None = None) -> None:
    """The benchmark's database, written in bulk: ``companies`` companies, each with a tenant, two snapshots of
    ``LICENSES`` licenses and ``MAPPED`` of them mapped to a profile of their own on the company's agreement;
    then every company's list figures, worked out and kept."""
    uow = context.uow
    now = now or datetime.now(UTC)
    connection = uow.psa_connections.create(kind="connectwise", name="Main", settings={})
    with connected(), db.atomic():
        _insert(PsaProduct, ({"connection": connection.id, "psa_id": f"P{k}", "identifier": f"SKU{k}",
                              "description": f"License {k}", "price": PRICE, "cost": Decimal(0), "active": True,
                              "fetched_at": now} for k in range(LICENSES)))
        products = uow.catalog.products(connection.id)
        profiles = [uow.profiles.save(connection.id, BillingProfile(id="", name=f"Profile {k}",
                                                                    product=products[k]))
                    for k in range(MAPPED)]
        _insert(Company, ({"connection": connection.id, "psa_id": str(i), "name": f"Company {i:05d}",
                           "identifier": f"C{i}", "domains": [], "active": True} for i in range(companies)))
        _insert(PsaAgreement, ({"connection": connection.id, "psa_id": f"A{i}", "company_psa_id": str(i),
                                "name": f"Agreement {i}", "type_name": "Microsoft 365", "start": date(2024, 1, 1),
                                "fetched_at": now} for i in range(companies)))
        _insert(Tenant, ({"tenant_id": tenant_id(i), "name": f"Tenant {i}", "verified_domains": [],
                          "added_at": now} for i in range(companies)))
        company_ids = dict(Company.select(Company.psa_id, Company.id).where(Company.connection == connection.id)
                           .tuples())
        tenant_rows = dict(Tenant.select(Tenant.tenant_id, Tenant.id).tuples())
        _insert(TenantCompany, ({"tenant": tenant_rows[tenant_id(i)], "company": company_ids[str(i)],
                                 "filter_field": "", "filter_value": "", "created_at": now}
                                for i in range(companies)))
        # Two snapshots a tenant: yesterday's (a seat fewer of each license), and today's, the latest.
        for days_ago in (1, 0):
            at = now - timedelta(days=days_ago)
            _insert(InventorySnapshot, ({"tenant": tenant_rows[tenant_id(i)], "name": f"Tenant {i}",
                                         "fetched_at": at, "read_at": at} for i in range(companies)))
            snapshots = InventorySnapshot.select(InventorySnapshot.id).where(InventorySnapshot.fetched_at == at)
            _insert(SnapshotLicense, ({"snapshot": snapshot, "sku_id": sku(k), "part_number": f"SKU{k}",
                                       "name": f"License {k}", "enabled": assigned(k) + 5,
                                       "consumed": assigned(k) - days_ago}
                                      for (snapshot,) in snapshots.tuples() for k in range(LICENSES)))
        _insert(Mapping, ({"tenant": tenant_rows[tenant_id(i)], "sku_id": sku(k), "profile": int(profiles[k].id),
                           "agreement_psa_id": f"A{i}", "created_at": now, "updated_at": now, "version": 1}
                          for i in range(companies) for k in range(MAPPED)))
        summaries.refresh_all()


class StatementCounter:
    """Counts the SQL statements SQLite runs on this thread's connection (its trace hook)."""

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> StatementCounter:
        db.connection().set_trace_callback(self._traced)
        return self

    def __exit__(self, *exc: object) -> None:
        db.connection().set_trace_callback(None)

    def _traced(self, statement: str) -> None:
        self.count += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--companies", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="the database's folder, kept and reused")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.keep or Path(scratch)
        context = open_context(directory, secrets=SecretStore(MemoryKeyring()))
        try:
            build_seconds = None
            if not context.uow.psa_connections.all():
                started = time.perf_counter()
                build(context, args.companies)
                build_seconds = time.perf_counter() - started
                print(f"built {args.companies:,} companies in {build_seconds:.1f} s")
            times, queries = [], []
            with connected():  # one connection for every read, so its statements can be counted
                for _ in range(args.repeat):
                    with StatementCounter() as counter:
                        started = time.perf_counter()
                        rows = context.companies.company_rows()
                        times.append((time.perf_counter() - started) * 1000)
                    queries.append(counter.count)
                    print(f"companies list: {len(rows):,} companies read in {times[-1]:.0f} ms, "
                          f"{counter.count} SQL statements (goal 200 ms)")
                report = report_read(context)
            report |= report_shown(context)
            print(f"Reports view: shown in {report['view_ms']:,.0f} ms, its UI thread blocked "
                  f"{report['view_block_ms']:.0f} ms at most (goal 50 ms)")
        finally:
            context.close()
    if args.json:
        args.json.write_text(json.dumps({
            "companies": len(rows), "build_seconds": None if build_seconds is None else round(build_seconds, 2),
            "times_ms": [round(t, 1) for t in times], "median_ms": round(statistics.median(times), 1),
            "queries": max(queries), "report": report}, indent=2) + "\n", encoding="utf-8")
    return 0


def report_read(context: Services) -> dict[str, Any]:
    """The reconciliation report of every company, as the Reports view's worker reads it: its time and SQL
    statements (run within ``connected()``, so they can be counted)."""
    with StatementCounter() as counter:
        started = time.perf_counter()
        report = context.reports.reconcile()
        took = (time.perf_counter() - started) * 1000
    print(f"reconciliation report: {len(report.rows):,} license rows read in {took:,.0f} ms, "
          f"{counter.count} SQL statements")
    return {"rows": len(report.rows), "read_ms": round(took, 1), "queries": counter.count}


def report_shown(context: Services) -> dict[str, Any]:
    """The Reports view opened offscreen as the window opens it (its worker reads the report; the UI thread
    fills and sizes its tables): how long until it shows the report, and the UI thread's longest block
    meanwhile and for ``AFTER_SHOWN_SECONDS`` after (benchmarks/ui_probe.py's tick)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.ui.tasks import Tasks
    from app.ui.views.reports import ReportsView
    from benchmarks.ui_probe import Probe, wait_until

    app = QApplication.instance() or QApplication([])
    tasks = Tasks()
    probe = Probe()
    probe.start()
    started = time.perf_counter()
    view = ReportsView(context, tasks)
    view.resize(1366, 700)
    view.show()
    try:
        wait_until(lambda: view.report is not None, REPORT_TIMEOUT, "the Reports view showing the report")
        app.processEvents()  # the paint of what was delivered
        shown = (time.perf_counter() - started) * 1000
        after = time.monotonic() + AFTER_SHOWN_SECONDS
        wait_until(lambda: time.monotonic() > after, 2 * AFTER_SHOWN_SECONDS, "the probe's time after the report")
        probe.stop()
        actions = table_actions(app, view)
    finally:
        probe.stop()
        view.close()
        tasks.close()
    return {"view_ms": round(shown, 1), "view_block_ms": round(probe.longest_gap_ms(), 1), "actions_ms": actions}


def table_actions(app: Any, view: Any) -> dict[str, dict[str, float]]:
    """What a person does next with the report's table, each run as a click or a keystroke runs it: sort by a
    column and by another, search for a company (the first search of a load reads every cell, in slices
    between the window's events), narrow the search, the report loaded again (a sync's end) with the search
    typed, the search cleared, and the report loaded again while sorted. For each, the UI thread's longest
    block and the time until the table showed the outcome (ms)."""
    from PySide6.QtCore import Qt

    from app.ui.views.reports import COL_COMPANY, COL_LEAKAGE
    from benchmarks.ui_probe import Probe, wait_until

    table, model = view.rows_table, view.rows
    company = model.row(model.rowCount() - 1).company
    steps = {
        "sort by a column": lambda: table.sortByColumn(COL_LEAKAGE, Qt.SortOrder.DescendingOrder),
        "sort by another": lambda: table.sortByColumn(COL_COMPANY, Qt.SortOrder.AscendingOrder),
        "first search": lambda: view.set_search(company[:-1]),
        "next keystroke": lambda: view.set_search(company),
        "loaded again, searched": lambda: model.set_rows(model.rows()),
        "search cleared": lambda: view.set_search(""),
        "loaded again, sorted": lambda: model.set_rows(model.rows()),
    }
    took = {}
    for name, step in steps.items():
        probe = Probe()
        probe.start()
        started = time.perf_counter()
        try:
            step()
            wait_until(lambda: not model.searching, REPORT_TIMEOUT, f"the Reports view's table: {name}")
            app.processEvents()  # the paint
        finally:
            probe.stop()
        took[name] = {"block_ms": round(probe.longest_gap_ms(), 1),
                      "done_ms": round((time.perf_counter() - started) * 1000, 1)}
    print("Reports view's table, longest UI block (and until shown): " + ", ".join(
        f"{name} {ms['block_ms']:,.0f} ms ({ms['done_ms']:,.0f} ms)" for name, ms in took.items()))
    return took


if __name__ == "__main__":
    sys.exit(main())
