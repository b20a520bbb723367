"""The reconciliation report: purchased vs assigned vs billed, leakage, lines nothing maps to, the CSV."""

from __future__ import annotations

import csv
import gc
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from app.billing.markers import main_marker
from app.billing.operations import Operation, OpKind
from app.billing.types import (
    Agreement,
    BillingProfile,
    Cycle,
    Exclusion,
    License,
    LineKind,
    Mapping,
    PriceKind,
    PricePolicy,
    Product,
    TenantInventory,
)
from app.models.records import TenantRecord
from app.services.psa.fake import FakePsa
from app.services.psa.port import NewLine, PsaCompany
from app.services.review.reports import ExportFailed, Reconciliation, ReconRow, write_csv
from tests.meeting_psa import MeetingPsa

SPB, EXO, E3, FREE = "sku-spb", "sku-exo", "sku-e3", "f30db892-07e9-47e9-837c-80727f46fd3d"
T1, T2 = "tenant-1", "tenant-2"


@pytest.fixture
def world(ctx):
    """Two tenants on two companies; one monthly and one annual agreement; three profiles."""
    connection = ctx.uow.psa_connections.create(kind="connectwise", name="Main", settings={})
    ctx.uow.companies.replace(connection.id, [PsaCompany(id="C1", name="Contoso Ltd"),
                                          PsaCompany(id="C2", name="Fabrikam")])
    ctx.uow.catalog.replace_agreements(connection.id, [
        Agreement(id="A1", company_id="C1", name="M365", cycle=Cycle.MONTHLY),
        Agreement(id="A2", company_id="C2", name="M365 annual", cycle=Cycle.ANNUAL, currency="USD")])
    products = [Product(id="P1", identifier="M365-BP", description="Business Premium", price=Decimal("22.00"),
                        cost=Decimal("18.70")),
                Product(id="P2", identifier="EXO-P1", description="Exchange", price=Decimal("4.00")),  # no cost kept
                Product(id="P3", identifier="M365-E3", description="E3", price=Decimal("36.00"),
                        cost=Decimal("30.00"))]
    ctx.uow.catalog.replace_products(connection.id, products)
    company = {c.psa_id: c for c in ctx.uow.companies.all()}
    for tenant_id, name, psa_id in ((T1, "Contoso", "C1"), (T2, "Fabrikam", "C2")):
        ctx.uow.tenants.add(TenantRecord(tenant_id=tenant_id, name=name))
        ctx.uow.tenants.link(tenant_id, company[psa_id].id)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    ctx.uow.inventory.save(TenantInventory(tenant_id=T1, fetched_at=at, licenses=(
        License(sku_id=SPB, part_number="SPB", enabled=10, warning=2, consumed=9),  # purchased 12
        License(sku_id=EXO, part_number="EXCHANGESTANDARD", enabled=5, consumed=5),
        License(sku_id=FREE, part_number="FLOW_FREE", enabled=10000, consumed=40),
        License(sku_id="sku-unmapped", part_number="VISIOCLIENT", enabled=3, consumed=2),
        License(sku_id="sku-empty", part_number="GONE", enabled=0, consumed=0))))
    ctx.uow.inventory.save(TenantInventory(tenant_id=T2, fetched_at=at, licenses=(
        License(sku_id=E3, part_number="SPE_E3", enabled=30, consumed=25),
        License(sku_id=EXO, part_number="EXCHANGESTANDARD", enabled=4, consumed=4))))
    save = ctx.uow.profiles.save
    bp = save(connection.id, BillingProfile(id="", name="BP", product=products[0]))
    exo = save(connection.id, BillingProfile(id="", name="EXO", product=products[1],
                                             price=PricePolicy(kind=PriceKind.PERCENT, percent=Decimal("12.5"))))
    e3 = save(connection.id, BillingProfile(id="", name="E3", product=products[2],
                                            price=PricePolicy(kind=PriceKind.FIXED, fixed=Decimal("33.33"))))
    maps = {
        "bp": ctx.uow.mappings.save(Mapping(tenant_id=T1, sku_id=SPB, profile=bp, agreement_id="A1",
                                             included_quantity=2)),
        "exo": ctx.uow.mappings.save(Mapping(tenant_id=T1, sku_id=EXO, profile=exo, agreement_id="A1")),
        "e3": ctx.uow.mappings.save(Mapping(tenant_id=T2, sku_id=E3, profile=e3, agreement_id="A2",
                                             minimum_quantity=28)),
    }
    ctx.uow.exclusions.add(Exclusion(sku_id=EXO, tenant_id=T2, reason="included in the contract"))
    return connection, maps


def written(ctx, mapping: Mapping, quantity: int, n: int = 0) -> None:
    marker = main_marker(mapping.row)
    op = Operation(key=f"k-{marker}-{n}", kind=OpKind.CREATE_LINE if n == 0 else OpKind.SET_QUANTITY,
                   row=mapping.row, agreement_id=mapping.agreement_id, product_id=mapping.profile.product.id,
                   marker=marker, effective=date(2026, 3, 1), quantity=quantity)
    ctx.uow.journal.begin(op)
    ctx.uow.journal.mark_done(op.key, "L1")


def test_billed_comes_from_what_seatsync_last_wrote_and_leakage_is_exact(ctx, world):
    _, maps = world
    written(ctx, maps["bp"], 5)
    written(ctx, maps["bp"], 6, n=1)  # the latest write wins
    written(ctx, maps["exo"], 5)
    written(ctx, maps["e3"], 28)
    report = ctx.reports.reconcile(today=date(2026, 3, 10))
    rows = {(r.tenant_id, r.sku_id): r for r in report.rows}
    assert set(rows) == {(T1, SPB), (T1, EXO), (T1, FREE), (T1, "sku-unmapped"), (T2, E3)}  # excluded, empty: out
    bp = rows[(T1, SPB)]
    assert (bp.purchased, bp.assigned, bp.should_bill, bp.billed, bp.unbilled) == (12, 9, 7, 6, 1)  # 9 - 2 included
    assert bp.unit_price == Decimal("22.00") and bp.leakage == Decimal("22.00") and bp.status == "unbilled seats"
    exo = rows[(T1, EXO)]
    assert (exo.billed, exo.unbilled, exo.unit_price, exo.leakage) == (5, 0, Decimal("4.50"), Decimal("0.00"))
    e3 = rows[(T2, E3)]  # minimum 28 > 25 assigned: billing 28 is right
    assert (e3.should_bill, e3.billed, e3.unbilled, e3.status) == (28, 28, 0, "billed")
    free = rows[(T1, FREE)]
    assert (free.mapped, free.unbilled, free.status) == (False, 0, "free or trial: exclude it")
    visio = rows[(T1, "sku-unmapped")]
    assert (visio.unbilled, visio.leakage, visio.status, visio.company) == (2, None, "not mapped", "Contoso Ltd")
    totals = {t.company: t for t in report.by_company}
    assert totals["Contoso Ltd"].unbilled == 3 and totals["Contoso Ltd"].leakage == Decimal("22.00")
    assert totals["Fabrikam"].billed == 28
    assert totals["Contoso Ltd"].purchased == 12 + 5 + 3  # not the free SKU's 10,000
    assert report.total.leakage == Decimal("22.00")


def test_the_margin_is_what_the_billed_seats_earn_over_their_cost_a_month(ctx, world):
    _, maps = world
    written(ctx, maps["bp"], 6)
    written(ctx, maps["exo"], 5)
    written(ctx, maps["e3"], 28)
    report = ctx.reports.reconcile()
    margins = {r.sku_id: r.margin for r in report.rows if r.mapped}
    assert margins == {
        SPB: Decimal("19.80"),  # 6 billed × (22.00 − 18.70)
        EXO: None,  # no cost kept in the PSA: not a margin of 4.50 a seat
        E3: Decimal("7.77"),  # 28 × (33.33 − 30.00) = 93.24 a year, a twelfth a month
    }
    assert {t.company: t.margin for t in report.by_company} == {"Contoso Ltd": Decimal("19.80"),
                                                                  "Fabrikam": Decimal("7.77")}
    assert report.total.margin == Decimal("27.57")
    assert all(r.margin is None for r in report.rows if not r.mapped)
    assert report.total.margin_known and all(t.margin_known for t in report.by_company)


def test_a_company_s_margin_is_known_when_one_of_its_rows_has_a_cost_kept():
    report = Reconciliation(rows=(
        _row("Contoso", "a"), replace(_row("Contoso", "b"), margin=None),
        replace(_row("Fabrikam", "a"), margin=None),  # no product of theirs has its cost kept
        replace(_row("Fabrikam", "free", mapped=False, free=True, unbilled=0), margin=Decimal("9.99")),  # not counted
    ))

    by_name = {t.company: t for t in report.by_company}
    assert (by_name["Contoso"].margin, by_name["Contoso"].margin_known) == (Decimal("1.50"), True)
    assert (by_name["Fabrikam"].margin, by_name["Fabrikam"].margin_known) == (Decimal("0.00"), False)
    assert report.total.margin_known
    assert not Reconciliation(rows=report.rows[2:]).total.margin_known


def test_an_annual_agreement_gives_a_monthly_value_of_one_twelfth_rounded_once(ctx, world):
    _, maps = world
    written(ctx, maps["e3"], 20)  # 28 should be billed: 8 unbilled at 33.33 a year each
    report = ctx.reports.reconcile()
    e3 = next(r for r in report.rows if r.sku_id == E3)
    assert e3.unbilled == 8
    assert e3.leakage == (Decimal("8") * Decimal("33.33") / 12).quantize(Decimal("0.01"))  # 22.22
    assert e3.leakage == Decimal("22.22")


def test_a_row_never_written_counts_as_unbilled(ctx, world):
    report = ctx.reports.reconcile()
    bp = next(r for r in report.rows if r.sku_id == SPB)
    assert (bp.billed, bp.unbilled, bp.leakage) == (0, 7, Decimal("154.00"))


def test_the_report_is_built_with_the_collector_paused_and_it_runs_again_after(ctx, world, monkeypatch):
    seen = []
    read = ctx.uow.mappings.all
    monkeypatch.setattr(ctx.uow.mappings, "all", lambda: seen.append(gc.isenabled()) or read())
    gc.enable()
    assert ctx.reports.reconcile().rows
    assert seen == [False] and gc.isenabled()


def test_reading_the_psa_takes_its_quantities_and_lists_lines_nothing_maps_to(ctx, world):
    connection, maps = world
    fake = FakePsa()
    company = fake.add_company("Contoso Ltd")
    agreement = fake.add_agreement(company)
    bp_product = fake.add_product("M365-BP", price="22.00")
    assert (agreement, bp_product) == ("2", "3")
    # Map the fake's ids onto the world's: agreement A1 is the fake's "2", product P1 its "3".
    ctx.uow.catalog.replace_agreements(connection.id, [Agreement(id="2", company_id="C1", name="M365")],
                                   company_psa_id="C1")
    ctx.uow.catalog.replace_products(connection.id, [Product(id="3", identifier="M365-BP", price=Decimal("22.00"))])
    bp = ctx.uow.profiles.save(connection.id, BillingProfile(id="", name="BP fake", product=Product(
        id="3", identifier="M365-BP", price=Decimal("22.00"))))
    ctx.uow.mappings.save(Mapping(tenant_id=T1, sku_id=SPB, profile=bp, agreement_id="2", included_quantity=2))
    marker = main_marker(maps["bp"].row)
    fake.create_line(NewLine(agreement_id="2", product_id="3", kind=LineKind.MAIN, quantity=7,
                             unit_price=Decimal("22.00"), start=date(2026, 1, 1), end=None, description="BP",
                             marker=marker))
    fake.add_dated_line(NewLine(agreement_id="2", product_id="3", kind=LineKind.PRORATE, quantity=1,
                                unit_price=Decimal("22.00"), start=date(2026, 3, 5), end=date(2026, 3, 31),
                                description="prorate", marker=f"{marker}:p20260305:6>7", amount=Decimal("19.16")))
    foreign = fake.add_foreign_line("2", "3", 4, marker="CloudConsole-99")
    ctx.psas.psa = lambda connection_id: fake  # the connection's PSA is the in-memory one
    report = ctx.reports.reconcile(read_psa=True, today=date(2026, 3, 10))
    bp_row = next(r for r in report.rows if r.sku_id == SPB)
    assert (bp_row.billed, bp_row.unbilled) == (7, 0)
    assert [(o.line_id, o.reason) for o in report.orphans] == [
        (foreign.id, "not seatsync's: a duplicate or a manual addition of a license product")]
    assert report.billed_from == "psa"
    assert [p.split(":")[0] for p in report.problems] == ["agreement A1", "agreement A2"]  # gone from the PSA
    assert "PSA has no such record" in report.problems[0]


@pytest.mark.parametrize("gone", [False, True])
def test_reading_the_psa_reads_its_agreements_side_by_side_gone_ones_named(ctx, world, gone):
    connection, _ = world
    fake = MeetingPsa(together=3)
    company = fake.add_company("Contoso Ltd")
    ids = [fake.add_agreement(company) for _ in range(6)]
    ctx.uow.catalog.replace_agreements(connection.id, [Agreement(id=i, company_id="C1", name=f"M365 {i}")
                                                       for i in ids], company_psa_id="C1")
    bp = ctx.uow.profiles.save(connection.id, BillingProfile(id="", name="BP", product=Product(id="P1")))
    for n, agreement_id in enumerate(ids):
        ctx.uow.mappings.save(Mapping(tenant_id=T1, sku_id=f"sku-{n}", profile=bp, agreement_id=agreement_id))
    if gone:
        ctx.uow.mappings.save(Mapping(tenant_id=T1, sku_id="sku-gone", profile=bp, agreement_id="999"))
    ctx.psas.psa = lambda connection_id: fake

    report = ctx.reports.reconcile(read_psa=True, today=date(2026, 3, 10))

    # The world's own agreements are not in this PSA either; every other agreement was read (its lines count).
    assert [p.split(":")[0] for p in report.problems] == [*(["agreement 999"] if gone else []), "agreement A1",
                                                         "agreement A2"]
    assert fake.meet.n_waiting == 0 and not fake.meet.broken


def test_the_csv_holds_every_row_and_the_total_with_exact_money(ctx, world, tmp_path):
    _, maps = world
    written(ctx, maps["bp"], 6)
    report = ctx.reports.reconcile()
    path = write_csv(report, tmp_path / "out.csv")
    text = path.read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["Company", "Tenant", "Tenant ID", "License", "SKU ID", "Purchased", "Assigned", "Should bill",
                       "Billed", "Unbilled", "Unit price", "Monthly leakage", "Currency", "Status", "Ignored accounts",
                       "Monthly margin"]
    assert len(rows) == 1 + len(report.rows) + 1
    bp = next(r for r in rows if r[4] == SPB)
    assert bp[5:16] == ["12", "9", "7", "6", "1", "22.00", "22.00", "USD", "unbilled seats", "0", "19.80"]
    e3 = next(r for r in rows if r[4] == E3)
    assert e3[9:12] == ["28", "33.33", "77.77"]  # 28 x 33.33 / 12 = 77.77, never a float's 77.76999
    assert rows[-1][0] == "All companies" and rows[-1][11] == "122.27"  # 22.00 + 5 x 4.50 + 77.77
    assert rows[-1][15] == "19.80"  # Business Premium's margin; Exchange keeps no cost, E3 bills nothing


def test_an_unwritable_file_is_a_clear_error(ctx, world, tmp_path):
    report = ctx.reports.reconcile()
    with pytest.raises(ExportFailed, match="choose another folder"):
        write_csv(report, tmp_path / "missing-folder" / "out.csv")


def _row(company: str, sku: str, *, currency: str = "USD", mapped: bool = True, free: bool = False,
         unbilled: int = 1) -> ReconRow:
    return ReconRow(company=company, tenant_id=f"t-{company}", tenant=company, sku_id=sku, license=sku, purchased=3,
                    assigned=2, should_bill=2, billed=2 - unbilled, unbilled=unbilled,
                    unit_price=Decimal("10.00") if mapped else None,
                    leakage=Decimal("10.00") * unbilled if mapped else None, currency=currency, mapped=mapped,
                    free=free, margin=Decimal("1.50") if mapped else None)


def test_each_company_totals_its_rows_in_the_one_currency_they_bill_in():
    report = Reconciliation(rows=(
        _row("Contoso", "a"), _row("Contoso", "b", currency="EUR", mapped=False),  # unmapped: no currency of its own
        _row("Contoso", "free", mapped=False, free=True, unbilled=0),  # a free SKU counts in no sum
        _row("fabrikam", "a", currency="EUR"), _row("Fabrikam", "b", currency="USD"),
    ))

    by_name = {t.company: t for t in report.by_company}
    assert [t.company for t in report.by_company] == ["Contoso", "fabrikam", "Fabrikam"]  # case aside, then as found
    contoso = by_name["Contoso"]
    assert (contoso.purchased, contoso.assigned, contoso.billed, contoso.unbilled) == (6, 4, 2, 2)
    assert (contoso.leakage, contoso.margin, contoso.currency) == (Decimal("10.00"), Decimal("1.50"), "USD")
    assert by_name["fabrikam"].currency == "EUR" and by_name["Fabrikam"].currency == "USD"
    total = report.total
    assert (total.company, total.purchased, total.unbilled, total.leakage) == ("All companies", 12, 4,
                                                                               Decimal("30.00"))
    assert total.currency is None  # USD and EUR: no one currency
