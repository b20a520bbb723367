"""The Companies list and the reconciliation report on a real database of 5,000 companies: right at that size,
in as many queries as at 50.

The database is written in bulk by the companies benchmark's builder (benchmarks/companies_bench.py: each
company with a tenant, two snapshots of ten licenses, eight mapped), then given stored outcomes, held changes
and failed writes. Nothing here is timed: the benchmark measures; this checks what is listed and counts the
SQL statements the list's one call runs (SQLite's trace hook).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from app.billing.markers import main_marker
from app.billing.operations import Finding, FindingKind, Operation, OpKind
from app.billing.types import RowKey
from app.bootstrap import open_context
from app.models.records import MappingRuleRecord, SyncOutcome, SyncOutcomeRecord
from app.models.repositories._base import IN_CHUNK
from app.models.repositories.overview import Overview
from app.models.repositories.summaries import work_out
from app.services.customers.rules import RulePreview, RuleService
from app.services.notify.notices import NoticeKind
from app.services.review.reports import Reconciliation
from app.services.secrets import MemoryKeyring, SecretStore
from app.services.uow import connected
from benchmarks.companies_bench import (
    LICENSES,
    MAPPED,
    MONTHLY,
    PRICE,
    StatementCounter,
    assigned,
    build,
    sku,
    tenant_id,
)

AT = datetime(2026, 3, 17, 6, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Listed:
    rows: list  # the Companies list
    statements: int  # the statements its read ran
    same: bool  # whether the figures kept equal a fresh computation
    noticing: int  # the statements of the notices a sync's end computes
    notices: list
    report: Reconciliation
    reporting: int  # the statements the report ran
    held: list  # the changes waiting for approval, as Approvals lists them
    holding: int  # the statements that read ran
    preview: RulePreview  # what a mapping rule of the first unmapped license would map
    previewing: int


class KeptAgreements:
    """The PSAs of a rule preview: each answers its agreements as seatsync keeps them (the database's)."""

    def __init__(self, context) -> None:
        self.context = context

    def psa(self, connection_id: int) -> Any:
        return SimpleNamespace(list_agreements=lambda: self.context.uow.catalog.agreements(connection_id))


def listed(directory, companies: int) -> Listed:
    """Build a database of ``companies`` companies in ``directory`` (every 100th tenant's last sync failed;
    every 250th has a change held and a write refused, and no outcome: it was last synced before seatsync
    kept each tenant's; every 500th has findings stored, and every 500th from the 5th a line written of
    its first license); read the list, the notices and the reconciliation report once each."""
    context = open_context(directory, secrets=SecretStore(MemoryKeyring()))
    try:
        build(context, companies, now=AT)
        uow = context.uow
        uow.sync_outcomes.record([SyncOutcomeRecord(
            tenant_id=tenant_id(i), finished_at=AT + timedelta(minutes=1), writes=1,
            status=SyncOutcome.FAILED if i % 100 == 7 else SyncOutcome.OK,
            error="consent missing" if i % 100 == 7 else "") for i in range(companies) if i % 250 != 3])
        for i in range(3, companies, 250):
            row = RowKey(tenant_id=tenant_id(i), sku_id=sku(0))
            held = Operation(key=f"held-{i}", kind=OpKind.SET_QUANTITY, row=row, agreement_id=f"A{i}",
                             product_id="P0", marker=main_marker(row), effective=date(2026, 3, 17), quantity=1,
                             before=5)
            uow.approvals.hold(held, reason="a decrease")
            refused = Operation(key=f"refused-{i}", kind=OpKind.SET_QUANTITY, row=row, agreement_id=f"A{i}",
                                product_id="P0", marker=main_marker(row), effective=date(2026, 3, 17), quantity=9,
                                before=5)
            uow.journal.begin(refused)
            uow.journal.mark_failed(refused.key, "the PSA refused it")
        for i in range(5, companies, 500):
            row = RowKey(tenant_id=tenant_id(i), sku_id=sku(0))
            created = Operation(key=f"created-{i}", kind=OpKind.CREATE_LINE, row=row, agreement_id=f"A{i}",
                                product_id="P0", marker=main_marker(row), effective=date(2026, 3, 1),
                                quantity=assigned(0))
            uow.journal.begin(created)
            uow.journal.mark_done(created.key, f"line-{i}")
        uow.findings.replace({tenant_id(i): [  # every 500th: an inactive agreement, and unassigned seats (information)
            Finding(kind=FindingKind.INACTIVE_AGREEMENT, tenant_id=tenant_id(i), sku_id=sku(0), agreement_id=f"A{i}"),
            Finding(kind=FindingKind.UNASSIGNED_SEATS, tenant_id=tenant_id(i), sku_id=sku(1))]
            for i in range(11, companies, 500)}, at=AT + timedelta(minutes=1))
        with connected():  # the list's call reuses this connection, whose statements are counted
            with StatementCounter() as counter:
                rows = context.companies.company_rows()
            same = {c.id: c.figures for c in Overview().companies()} == work_out()
            with StatementCounter() as noticing:  # what every sync's end computes
                notices = context.notifications.compute(today=date(2026, 3, 17))
            with StatementCounter() as reporting:
                report = context.reports.reconcile(today=date(2026, 3, 17))
            with StatementCounter() as holding:
                held = context.review.held()
            rule = MappingRuleRecord(sku_id=sku(MAPPED), profile=context.uow.profiles.all()[0],
                                     agreement_type="Microsoft 365")
            with StatementCounter() as previewing:
                preview = RuleService(context.uow, psas=KeptAgreements(context)).preview([rule])
        return Listed(rows=rows, statements=counter.count, same=same, noticing=noticing.count, notices=notices,
                      report=report, reporting=reporting.count, held=held, holding=holding.count, preview=preview,
                      previewing=previewing.count)
    finally:
        context.close()


@pytest.fixture(scope="module")
def fifty_and_five_thousand(tmp_path_factory) -> tuple[Listed, Listed]:
    directory = tmp_path_factory.mktemp("at-scale")
    return listed(directory / "fifty", 50), listed(directory / "five-thousand", 5000)


def test_five_thousand_companies_are_listed_right_in_as_many_queries_as_fifty(fifty_and_five_thousand):
    few, many = fifty_and_five_thousand
    rows, notices = many.rows, many.notices

    assert many.statements == few.statements > 0  # no statement per company
    assert many.noticing == few.noticing > 0  # nor per tenant for the notices: every tenant's latest read at once
    unmapped = [n for n in notices if n.kind is NoticeKind.UNMAPPED_LICENSE]
    assert len(unmapped) == 5000 * (LICENSES - MAPPED) and len(few.notices) < len(notices)
    assert few.same and many.same
    assert len(few.rows) == 50 and len(rows) == 5000
    assert [r.name for r in rows] == [f"Company {i:05d}" for i in range(5000)]
    assert {(r.tenants, r.licenses, r.unmapped, r.unpriced) for r in rows} == {(1, LICENSES, LICENSES - MAPPED, 0)}
    assert {tuple((m.currency, str(m.amount)) for m in r.monthly) for r in rows} == {(("USD", f"{MONTHLY}"),)}
    assert str(MONTHLY) == "680.00"  # (5 + 6 + ... + 12) assigned seats × 10.00
    failed = [i for i, r in enumerate(rows) if r.failed]
    assert failed == sorted([*range(7, 5000, 100), *range(3, 5000, 250)])
    assert rows[7].last_sync.detail == "consent missing" and rows[8].last_sync.status == "ok"
    held = [i for i, r in enumerate(rows) if r.held]
    assert held == list(range(3, 5000, 250))
    assert rows[3].attention == LICENSES - MAPPED + 1 + 1  # unmapped, one held change, failed by the refused write
    assert rows[3].last_sync.detail == "1 change(s) could not be written; see History"
    assert rows[4].attention == LICENSES - MAPPED
    assert [i for i, r in enumerate(rows) if r.findings] == list(range(11, 5000, 500))
    assert rows[11].findings == 1 and rows[11].attention == LICENSES - MAPPED + 1  # one kind needing a person


def test_the_reconciliation_report_of_five_thousand_companies_takes_as_many_queries_as_fifty(
        fifty_and_five_thousand):
    few, many = fifty_and_five_thousand

    assert many.reporting == few.reporting > 0  # no statement per tenant, license or mapping
    report = many.report
    assert len(report.rows) == 5000 * LICENSES
    written = {tenant_id(i) for i in range(5, 5000, 500)}  # their first license's line is written
    for row in report.rows:
        k = int(row.sku_id[-12:])
        billed = assigned(k) if row.tenant_id in written and k == 0 else 0
        assert (row.mapped, row.purchased, row.assigned, row.should_bill, row.billed, row.unbilled) == (
            k < MAPPED, assigned(k) + 5, assigned(k), assigned(k), billed, assigned(k) - billed), row
        assert row.company == f"Company {int(row.tenant_id[-12:]):05d}"
    assert len(report.by_company) == 5000 and {t.currency for t in report.by_company} == {"USD"}
    assert report.total.billed == len(written) * assigned(0)
    assert report.total.leakage == 5000 * MONTHLY - len(written) * assigned(0) * PRICE


def test_approvals_and_a_rule_preview_read_five_thousand_companies_without_a_query_each(fifty_and_five_thousand):
    few, many = fifty_and_five_thousand

    assert many.holding == few.holding > 0  # tenants and links read for the tenants holding changes only
    assert [(h.tenant_id, h.company, h.currency) for h in many.held] == [
        (tenant_id(i), f"Company {i:05d}", "USD") for i in range(3, 5000, 250)]
    # Tenants, their mappings and latest reads come 500 tenants at a time (a few statements each), never one by one.
    assert few.previewing < many.previewing <= few.previewing + 6 * (5000 // IN_CHUNK)
    assert len(many.preview.mapped) == 5000 and len(few.preview.mapped) == 50
    assert {(r.target.tenant_id, r.target.sku_id) for r in many.preview.mapped} == {
        (tenant_id(i), sku(MAPPED)) for i in range(5000)}
