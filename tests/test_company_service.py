"""The Companies area's service: rows and badges, the license table, mapping commands, the preview."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.billing.foreign import ForeignAction, ForeignDecision
from app.billing.markers import main_marker
from app.billing.operations import Operation, OpKind
from app.billing.plan import PlanOptions
from app.billing.types import AgreementStatus, Anchor, FilterField, Line, Mapping, RowKey, TenantInventory, UserFilter
from app.bootstrap import open_context
from app.models.records import RunStatus, SyncOutcome, SyncOutcomeRecord
from app.models.repositories import Approvals
from app.services.customers.companies import CompanyService, MappingRefused, SplitRefused, TenantOutcome
from app.services.customers.company_rows import MISSING_PROFILE, LicenseState
from app.services.customers.mapping_preview import lines_from_written, preview_mapping
from app.services.psa.fake import FAKE_CAPABILITIES
from app.services.psa.port import PsaUnavailable
from app.services.sync.engine import plan_tenant
from tests.ui.seed import E3, EXCHANGE, FLOW_FREE, READ_AT, SPB, TODAY, Seed, lic, sub, users


@pytest.fixture
def context(data_dir):
    ctx = open_context(data_dir)
    yield ctx
    ctx.close()


@pytest.fixture
def world(context):
    """Contoso (one tenant, four licenses) with two agreements and two profiles; Fabrikam without a tenant."""
    seed = Seed(context)
    contoso, _ = seed.company("Contoso Dental"), seed.company("Fabrikam Legal")
    tenant = seed.tenant(contoso, "Contoso Dental")
    seed.snapshot(tenant, [
        lic(SPB, "Microsoft 365 Business Premium", 25, 23, sub("s-annual", SPB, 20, annual=True),
            sub("s-monthly", SPB, 5)),
        lic(EXCHANGE, "Exchange Online (Plan 1)", 4, 4),
        lic(FLOW_FREE, "Microsoft Power Automate Free", 10000, 3),
        lic(E3, "Office 365 E3", 0, 0),  # expired: nothing to bill or say
    ])
    m365 = seed.agreement(contoso, "Contoso - Managed 365", type_name="Microsoft 365")
    block = seed.agreement(contoso, "Contoso - Block hours", type_name="Block time")
    bp = seed.profile("M365 BP - Monthly", identifier="M365-BP", description="Microsoft 365 Business Premium",
                      price="22.00", types=["Microsoft 365"])
    exo = seed.profile("Exchange P1", identifier="EXO-P1", description="Exchange Online (Plan 1)", price="4.00")
    service = CompanyService(context.uow, today=lambda: TODAY)
    return seed, service, contoso, tenant, m365, block, bp, exo


def row_of(detail, sku):
    return next(r for r in detail.licenses if r.license.sku_id == sku)


def test_the_list_shows_companies_with_tenants_and_what_needs_attention(world):
    seed, service, contoso, tenant, *_ = world
    [row] = service.company_rows()
    assert (row.name, row.tenants, row.licenses, row.unmapped, row.held) == ("Contoso Dental", 1, 3, 3, 0)
    assert row.last_sync.status == "never" and row.attention == 3


def test_the_license_table_has_counts_subscriptions_and_missing_profiles(world):
    _, service, contoso, *_ = world
    detail = service.company(contoso.id)
    assert [r.name for r in detail.licenses] == ["Microsoft 365 Business Premium", "Exchange Online (Plan 1)",
                                                 "Microsoft Power Automate Free"]
    spb = row_of(detail, SPB)
    assert (spb.purchased, spb.assigned, spb.unassigned) == (25, 23, 2)
    assert [s.subscription.id for s in spb.subscriptions] == ["s-annual", "s-monthly"]
    assert spb.state is LicenseState.MISSING and spb.notices[0] == MISSING_PROFILE
    assert "2 of 25 seats unassigned" in spb.notices
    assert detail.unmapped == 3


def test_quick_map_offers_and_accepts_only_agreements_the_profile_allows(world):
    _, service, contoso, tenant, m365, block, bp, exo = world
    detail = service.company(contoso.id)
    assert [a.id for a in detail.choices.agreements_for(bp)] == [m365.id]
    assert {a.id for a in detail.choices.agreements_for(exo)} == {m365.id, block.id}
    spb = row_of(detail, SPB)
    with pytest.raises(MappingRefused, match="may be used on agreements of type Microsoft 365, not 'Block time'"):
        service.quick_map(spb.target, bp.id, block.id)
    saved = service.quick_map(spb.target, bp.id, m365.id)
    assert (saved.profile.id, saved.agreement_id, saved.row) == (bp.id, m365.id, spb.target.key)
    after = row_of(service.company(contoso.id), SPB)
    assert after.state is LicenseState.MAPPED and MISSING_PROFILE not in after.notices
    assert service.company_rows()[0].unmapped == 2


def test_the_lists_monthly_amount_follows_mappings_prices_seats_and_exclusions(world, context):
    seed, service, contoso, tenant, m365, block, bp, exo = world

    def listed() -> tuple[list[str], int]:
        [row] = service.company_rows()
        return [f"{m.amount} {m.currency}" for m in row.monthly], row.unmapped

    assert listed() == ([], 3)
    service.quick_map(row_of(service.company(contoso.id), SPB).target, bp.id, m365.id)
    assert listed() == (["506.00 USD"], 2)  # 23 assigned × 22.00
    context.uow.catalog.replace_products(seed.connection_id, [
        replace(p, price=Decimal("25.00")) if p.id == bp.product.id else p
        for p in context.uow.catalog.products(seed.connection_id)])
    assert listed() == (["575.00 USD"], 2)  # the PSA's new price
    seed.snapshot(tenant, [lic(SPB, "Microsoft 365 Business Premium", 25, 20)], at=READ_AT + timedelta(days=1))
    assert listed() == (["500.00 USD"], 0)  # 20 assigned; the other licenses are gone
    service.exclude(tenant, SPB)
    assert listed() == ([], 0)


def test_a_mapping_to_another_companys_agreement_is_refused(world):
    seed, service, contoso, tenant, m365, block, bp, exo = world
    other = seed.company("Northwind Traders")
    theirs = seed.agreement(other, "Northwind - Managed 365")
    spb = row_of(service.company(contoso.id), SPB)
    with pytest.raises(MappingRefused, match="belongs to another company"):
        service.quick_map(spb.target, bp.id, theirs.id)


def test_quick_map_keeps_the_other_options_of_an_existing_mapping(world):
    _, service, contoso, tenant, m365, block, bp, exo = world
    spb = row_of(service.company(contoso.id), SPB)
    first = service.save_mapping(Mapping(tenant_id=tenant, sku_id=SPB, profile=bp, agreement_id=m365.id,
                                         minimum_quantity=10, usernames_in_description=True), company_id=contoso.id)
    again = service.quick_map(spb.target, exo.id, block.id, existing=first)
    assert (again.profile.id, again.minimum_quantity, again.usernames_in_description) == (exo.id, 10, True)


def test_an_edit_that_sets_a_user_filter_replaces_the_mapping_instead_of_adding_one(world):
    _, service, contoso, tenant, m365, block, bp, exo = world
    first = service.save_mapping(Mapping(tenant_id=tenant, sku_id=SPB, profile=bp, agreement_id=m365.id),
                                 company_id=contoso.id)
    leeds = replace(first, user_filter=UserFilter(field=FilterField.OFFICE, value="Leeds"))
    service.save_mapping(leeds, company_id=contoso.id, replacing=first.row)
    assert [m.row for m in service.uow.mappings.for_tenant(tenant)] == [leeds.row]


def test_exclude_silences_the_license_and_include_brings_it_back(world):
    _, service, contoso, tenant, *_ = world
    service.exclude(tenant, FLOW_FREE, "free")
    flow = row_of(service.company(contoso.id), FLOW_FREE)
    assert flow.state is LicenseState.EXCLUDED and flow.notices == () and not flow.excluded_globally
    assert service.company_rows()[0].unmapped == 2
    assert service.include(tenant, FLOW_FREE) is True
    assert row_of(service.company(contoso.id), FLOW_FREE).needs_mapping


def test_split_gives_each_subscription_a_mapping_and_merge_puts_them_back(world):
    _, service, contoso, tenant, m365, block, bp, exo = world
    spb = row_of(service.company(contoso.id), SPB)
    with pytest.raises(SplitRefused, match="map it first"):
        service.split(spb)
    service.quick_map(spb.target, bp.id, m365.id)
    spb = row_of(service.company(contoso.id), SPB)
    assert spb.can_split
    service.split(spb)
    split = row_of(service.company(contoso.id), SPB)
    assert split.split and split.mapping is None and split.state is LicenseState.MAPPED
    assert [(s.subscription.id, s.assigned, s.mapping.subscription_id) for s in split.subscriptions] == [
        ("s-annual", 20, "s-annual"), ("s-monthly", 3, "s-monthly")]
    with pytest.raises(SplitRefused, match="already split"):
        service.split(split)
    merged = service.merge(split)
    assert merged.subscription_id == "" and merged.agreement_id == m365.id
    back = row_of(service.company(contoso.id), SPB)
    assert not back.split and back.mapping == merged and all(s.mapping is None for s in back.subscriptions)


def test_a_split_license_with_an_unmapped_subscription_needs_attention(world):
    _, service, contoso, tenant, m365, block, bp, exo = world
    spb = row_of(service.company(contoso.id), SPB)
    service.save_mapping(Mapping(tenant_id=tenant, sku_id=SPB, subscription_id="s-annual", profile=bp,
                                 agreement_id=m365.id), company_id=contoso.id)
    spb = row_of(service.company(contoso.id), SPB)
    assert spb.state is LicenseState.PARTLY and spb.needs_mapping
    assert service.company_rows()[0].unmapped == 3


def test_a_tenant_split_between_companies_by_office_maps_per_company(world):
    seed, service, contoso, tenant, m365, block, bp, exo = world
    leeds, york = seed.company("Acme Leeds"), seed.company("Acme York")
    acme = seed.tenant(leeds, "Acme Group", user_filter=UserFilter(field=FilterField.OFFICE, value="Leeds"))
    seed.tenant(york, "Acme Group", tenant_id=acme, user_filter=UserFilter(field=FilterField.OFFICE, value="York"))
    seed.snapshot(acme, [lic(SPB, "Microsoft 365 Business Premium", 10, 10)])
    leeds_agreement = seed.agreement(leeds, "Acme Leeds 365")
    row = service.company(leeds.id).licenses[0]
    assert row.target.user_filter.value == "Leeds" and row.target.key.filter_key == "office=leeds"
    service.quick_map(row.target, bp.id, leeds_agreement.id)
    by_name = {r.name: r for r in service.company_rows()}
    assert (by_name["Acme Leeds"].unmapped, by_name["Acme York"].unmapped) == (0, 1)


def test_held_changes_and_failed_writes_show_on_the_company(world, context):
    _, service, contoso, tenant, *_ = world
    op = Operation(key="v1-held", kind=OpKind.SET_QUANTITY, row=RowKey(tenant_id=tenant, sku_id=SPB),
                   agreement_id="A1", product_id="P", marker="seatsync:x", effective=TODAY, quantity=3, before=9)
    Approvals().hold(op, reason="decrease")
    context.uow.journal.begin(replace(op, key="v1-failed"))
    context.uow.journal.mark_failed("v1-failed", "the PSA refused it")
    [row] = service.company_rows()
    assert row.held == 1 and row.failed and row.attention == 3 + 1 + 1
    assert "could not be written" in row.last_sync.detail


def test_the_last_sync_comes_from_this_sessions_outcomes_when_newer_than_the_runs(world, context):
    _, service, contoso, tenant, *_ = world
    run = context.uow.runs.start(trigger="schedule", scope="all", at=READ_AT)
    context.uow.runs.finish(run.id, status=RunStatus.SUCCEEDED, at=READ_AT + timedelta(minutes=1), operations_applied=4)
    assert service.company_rows()[0].last_sync.status == "ok"
    later = READ_AT + timedelta(hours=2)
    service.outcomes = {tenant: TenantOutcome(tenant_id=tenant, at=later, ok=False, error="consent expired")}
    last = service.company_rows()[0].last_sync
    assert (last.status, last.at, last.detail) == ("failed", later, "consent expired")


def test_a_run_with_one_failed_tenant_of_three_marks_only_its_company_failed_also_after_a_restart(data_dir):
    """A run of every company, seen by no window (the scheduler, ``python main.py sync``): each company's last
    sync comes from its tenants' stored outcomes, not from the run's record."""
    context = open_context(data_dir)
    seed = Seed(context)
    tenants = {c.name: seed.tenant(c, c.name) for c in seed.companies(["Adatum", "Contoso Dental", "Fabrikam"])}
    run = context.uow.runs.start(trigger="schedule", scope="all", at=READ_AT)
    done = READ_AT + timedelta(minutes=3)
    with context.uow.runs.atomic():
        context.uow.runs.finish(run.id, status=RunStatus.PARTIAL, at=done, error="Contoso Dental: consent missing",
                            operations_applied=5, tenants_synced=2, tenants_failed=1)
        context.uow.sync_outcomes.record([SyncOutcomeRecord(
            tenant_id=tenant, finished_at=done, sync_run_id=run.id,
            status=SyncOutcome.FAILED if name == "Contoso Dental" else SyncOutcome.OK,
            writes=0 if name == "Contoso Dental" else 2,
            error="consent missing" if name == "Contoso Dental" else "") for name, tenant in tenants.items()])
    expected = {"Adatum": ("ok", "2 change(s) written", done), "Contoso Dental": ("failed", "consent missing", done),
                "Fabrikam": ("ok", "2 change(s) written", done)}

    def listed(ctx) -> dict[str, tuple[str, str, object]]:
        return {r.name: (r.last_sync.status, r.last_sync.detail, r.last_sync.at)
                for r in ctx.companies.company_rows()}

    try:
        assert listed(context) == expected
        contoso = next(r for r in context.companies.company_rows() if r.name == "Contoso Dental")
        assert context.companies.company(contoso.id).last_sync.status == "failed"
    finally:
        context.close()
    context = open_context(data_dir)  # a restart: a fresh service with no outcome of its own
    try:
        assert listed(context) == expected
    finally:
        context.close()


def test_the_newer_of_the_stored_and_this_sessions_outcome_of_a_tenant_wins(world, context):
    _, service, contoso, tenant, *_ = world
    run = context.uow.runs.start(trigger="schedule", scope="all", at=READ_AT)
    stored = READ_AT + timedelta(hours=1)
    context.uow.runs.finish(run.id, status=RunStatus.FAILED, at=stored)
    context.uow.sync_outcomes.record([SyncOutcomeRecord(tenant_id=tenant, status=SyncOutcome.FAILED, finished_at=stored,
                                                    sync_run_id=run.id, error="consent missing")])
    service.outcomes = {tenant: TenantOutcome(tenant_id=tenant, at=stored - timedelta(minutes=5), ok=True, writes=1)}
    assert (service.company_rows()[0].last_sync.status, service.company(contoso.id).last_sync.detail) == (
        "failed", "consent missing")
    service.outcomes = {tenant: TenantOutcome(tenant_id=tenant, at=stored + timedelta(minutes=5), ok=True, writes=1)}
    last = service.company_rows()[0].last_sync
    assert (last.status, last.detail, last.at) == ("ok", "1 change(s) written", stored + timedelta(minutes=5))
    assert service.company(contoso.id).last_sync == last


def test_a_company_of_several_tenants_fails_with_the_failing_tenants_errors(world, context):
    seed, service, contoso, tenant, *_ = world
    second, third = seed.tenant(contoso, "Contoso Labs"), seed.tenant(contoso, "Contoso Clinic")
    at = READ_AT + timedelta(hours=1)
    context.uow.sync_outcomes.record([
        SyncOutcomeRecord(tenant_id=tenant, status=SyncOutcome.OK, finished_at=READ_AT, writes=2),
        SyncOutcomeRecord(tenant_id=second, status=SyncOutcome.FAILED, finished_at=at, error="consent missing"),
        SyncOutcomeRecord(tenant_id=third, status=SyncOutcome.NOT_SYNCED, finished_at=at,
                          error="not synced: cancelled")])
    last = service.company(contoso.id).last_sync
    assert (last.status, last.detail, last.at, last.writes) == ("failed", "consent missing", at, 2)
    context.uow.sync_outcomes.record([SyncOutcomeRecord(tenant_id=second, status=SyncOutcome.OK, finished_at=at)])
    last = service.company_rows()[0].last_sync
    assert (last.status, last.detail, last.at) == ("partial", "not synced: cancelled", at)


def test_mapping_inputs_read_users_and_what_seatsync_last_wrote(world, context):
    _, service, contoso, tenant, m365, block, bp, exo = world
    spb = row_of(service.company(contoso.id), SPB)
    mapping = service.quick_map(spb.target, bp.id, m365.id)
    create = Operation(key="v1-c", kind=OpKind.CREATE_LINE, row=mapping.row, agreement_id=m365.id,
                       product_id=bp.product.id, marker=main_marker(mapping.row), effective=TODAY, quantity=21,
                       unit_price=Decimal("22.00"), description="Microsoft 365 Business Premium")
    context.uow.journal.begin(create)
    context.uow.journal.mark_done("v1-c", psa_record_id="9001")
    service.read_users = lambda tenant_id: users("contoso.example", 23, [SPB])
    inputs = service.mapping_inputs(spb.target, mapping)
    assert len(inputs.users) == 23 and inputs.license.sku_id == SPB
    assert [(ln.id, ln.quantity) for ln in inputs.lines] == [("9001", 21)]
    preview = preview_mapping(mapping, inputs.licenses, agreement=m365, users=inputs.users, lines=inputs.lines,
                              today=TODAY, others=inputs.others)
    assert preview.summary == "23 × 22.00 = 506.00 / month (was 21); prorate +2 (16 Nov 2026 – 30 Nov 2026): " \
                              "2 × 22.00 × 15/30 days = 22.00 (the period bills 21, the ledger 23)"

    # Narrowed to an office, the row is new: the line billed now stops, the new one starts after it, and only
    # the seats the old line does not bill (23, against 21) are prorated until then.
    leeds = replace(mapping, user_filter=UserFilter(field=FilterField.OFFICE, value="Leeds"))
    narrowed = preview_mapping(leeds, inputs.licenses, agreement=m365, users=inputs.users, lines=inputs.lines,
                               today=TODAY, others=inputs.others)
    assert [(ln.kind, ln.quantity, ln.dates) for ln in narrowed.lines] == [
        ("main", 23, "from 1 Dec 2026"), ("prorate", 2, "16 Nov 2026 – 30 Nov 2026")]
    assert any("stops at the end of its period" in note for note in narrowed.notes)
    # Beside the row still mapped (another company's part of the tenant), a new filtered row prorates as usual.
    beside = preview_mapping(leeds, inputs.licenses, agreement=m365, users=inputs.users, lines=inputs.lines,
                             today=TODAY, others=(mapping,))
    assert [ln.kind for ln in beside.lines] == ["main", "prorate"]
    assert not any("stops" in note for note in beside.notes)


def test_the_preview_of_a_row_moved_to_another_calendar_stops_the_old_line_on_its_own(world, context):
    _, service, contoso, tenant, m365, block, bp, exo = world
    mapping = Mapping(tenant_id=tenant, sku_id=SPB, profile=bp, agreement_id=block.id)
    old = Line(id="9001", agreement_id=block.id, product_id=bp.product.id, quantity=23, unit_price=Decimal("22.00"),
               start=date(2026, 1, 1), marker=main_marker(mapping.row), last_written_quantity=23)
    # The new agreement bills from the 10th of each month; the old one on the calendar month.
    tenth = replace(m365, anchor=Anchor.ANNIVERSARY, start=date(2025, 3, 10))
    moved = replace(mapping, agreement_id=tenth.id)
    preview = preview_mapping(moved, [lic(SPB, "BP", 23, 23)], agreement=tenth, users=None, lines=[old],
                              today=TODAY, others=(), agreements=[block, tenth])
    assert [(line.kind, line.dates) for line in preview.lines] == [
        ("main", "from 10 Dec 2026"), ("cancel", "from 1 Dec 2026"), ("prorate", "1 Dec 2026 – 9 Dec 2026")]
    # What the sync writes, given every agreement: the same days.
    synced = plan_tenant(TenantInventory(tenant_id=tenant, licenses=(lic(SPB, "BP", 23, 23),)), [moved], (), [old],
                         {a.id: a for a in (block, tenth)}, TODAY, PlanOptions())
    assert sorted((op.kind.value, op.effective, op.end) for op in synced.operations) == [
        ("add_prorate", date(2026, 12, 1), date(2026, 12, 9)), ("cancel_line", date(2026, 12, 1), None),
        ("create_line", date(2026, 12, 10), None)]


def test_mapping_inputs_offer_active_agreements_and_know_every_one_a_line_may_be_on(world, context):
    seed, service, contoso, tenant, m365, block, bp, exo = world
    ended = replace(block, status=AgreementStatus.INACTIVE)
    context.uow.catalog.replace_agreements(seed.connection_id, [m365, ended], company_psa_id=contoso.psa_id)
    inputs = service.mapping_inputs(row_of(service.company(contoso.id), SPB).target)
    assert [a.id for a in inputs.choices.agreements] == [m365.id]
    assert sorted(a.id for a in inputs.agreements) == sorted([m365.id, block.id])


def test_the_preview_applies_usernames_included_and_minimum_quantities(world):
    _, service, contoso, tenant, m365, block, bp, exo = world
    license_ = lic(SPB, "Microsoft 365 Business Premium", 16, 14)
    mapping = Mapping(tenant_id=tenant, sku_id=SPB, profile=bp, agreement_id=m365.id, included_quantity=2,
                      minimum_quantity=10, usernames_in_description=True)
    people = users("contoso.example", 14, [SPB])
    preview = preview_mapping(mapping, [license_], agreement=m365, users=people, lines=(), today=TODAY, others=())
    main = preview.lines[0]
    assert (main.kind, main.quantity, main.amount, main.text) == ("main", 12, Decimal("264.00"),
                                                                  "12 × 22.00 = 264.00 / month")
    assert main.description.splitlines()[:2] == ["Microsoft 365 Business Premium", "user000@contoso.example"]
    assert preview.lines[1].text.startswith("prorate +12") and preview.lines[1].amount == Decimal("132.00")
    assert preview.basis == "14 assigned; − 2 included; at least 10 → 12 seats"
    fewer = preview_mapping(Mapping(tenant_id=tenant, sku_id=SPB, profile=bp, agreement_id=m365.id,
                                    included_quantity=10, minimum_quantity=8), [license_], agreement=m365,
                            users=None, lines=(), today=TODAY, others=())
    assert fewer.lines[0].text == "8 × 22.00 = 176.00 / month"


def test_the_preview_warns_that_a_past_start_date_reaches_periods_that_may_be_invoiced(world):
    _, service, contoso, tenant, m365, block, bp, exo = world
    mapping = Mapping(tenant_id=tenant, sku_id=SPB, profile=bp, agreement_id=m365.id,
                      start_date_override=TODAY.replace(month=9, day=16))
    preview = preview_mapping(mapping, [lic(SPB, "BP", 5, 5)], agreement=m365, users=None, lines=(), today=TODAY,
                              others=())
    assert [(line.kind, line.dates, line.amount) for line in preview.lines] == [
        ("main", "from 1 Nov 2026", Decimal("110.00")),
        ("prorate", "16 Sep 2026 – 30 Sep 2026", Decimal("55.00")),
        ("prorate", "1 Oct 2026 – 31 Oct 2026", Decimal("110.00"))]
    assert ("The start date bills 2 past periods (16 Sep 2026 – 31 Oct 2026): an invoice for them may already "
            "have gone to the customer.") in preview.notes
    this_month = preview_mapping(replace(mapping, start_date_override=TODAY.replace(day=10)), [lic(SPB, "BP", 5, 5)],
                                 agreement=m365, users=None, lines=(), today=TODAY, others=())
    assert not any("past period" in note for note in this_month.notes)


def test_the_preview_says_when_it_cannot_count_users(world):
    _, service, contoso, tenant, m365, block, bp, exo = world
    mapping = Mapping(tenant_id=tenant, sku_id=SPB, profile=bp, agreement_id=m365.id,
                      user_filter=UserFilter(field=FilterField.OFFICE, value="Leeds"))
    preview = preview_mapping(mapping, [lic(SPB, "BP", 5, 5)], agreement=m365, users=None, lines=(), today=TODAY,
                              others=())
    assert "users could not be read" in preview.error and preview.lines == ()
    assert "Choose an agreement" in preview_mapping(mapping, [], agreement=None, users=None, lines=(),
                                                    today=TODAY, others=()).error


def test_lines_from_written_follow_quantity_changes_and_cancellation(world):
    row = RowKey(tenant_id="t", sku_id=SPB)
    marker = main_marker(row)

    def op(kind, key, **kw):
        return Operation(key=key, kind=kind, row=row, agreement_id="A", product_id="P", marker=marker,
                         effective=TODAY, **kw)

    lines = lines_from_written([(op(OpKind.CREATE_LINE, "1", quantity=5), "77"),
                                (op(OpKind.SET_QUANTITY, "2", quantity=7, before=5), ""),
                                (op(OpKind.CANCEL_LINE, "3", before=7), "")])
    assert [(ln.id, ln.quantity, ln.end) for ln in lines] == [("77", 7, TODAY - timedelta(days=1))]


def test_an_unknown_company_is_a_clear_error(context):
    with pytest.raises(Exception, match="PSA company 404"):
        context.companies.company(404)


def test_mapping_inputs_read_the_psa_s_lines_so_another_tool_s_line_and_an_edit_show(world, context):
    _, service, contoso, tenant, m365, block, bp, exo = world
    spb = row_of(service.company(contoso.id), SPB)
    mapping = service.quick_map(spb.target, bp.id, m365.id)
    cloudconsole = Line(id="7001", agreement_id=m365.id, product_id=bp.product.id, quantity=5, marker="Cloudconsole",
                        start=TODAY.replace(day=1))
    asked: list[tuple[int, list[str]]] = []

    def read_lines(connection_id, agreement_ids):
        asked.append((connection_id, list(agreement_ids)))
        return {agreement_id: [cloudconsole] if agreement_id == m365.id else [] for agreement_id in agreement_ids}

    service.read_lines = read_lines
    inputs = service.mapping_inputs(spb.target, mapping)
    assert m365.id in asked[0][1] and inputs.lines == (cloudconsole,) and inputs.lines_note == ""
    held = preview_mapping(mapping, inputs.licenses, agreement=m365, users=None, lines=inputs.lines, today=TODAY,
                           others=inputs.others, decisions=inputs.decisions)
    assert held.held and held.lines == () and any("Cloudconsole" in note for note in held.notes)
    ignored = {"7001": ForeignDecision(line_id="7001", action=ForeignAction.IGNORE, decided_on=TODAY)}
    beside = preview_mapping(mapping, inputs.licenses, agreement=m365, users=None, lines=inputs.lines, today=TODAY,
                             others=inputs.others, decisions=ignored)
    assert not beside.held and beside.changes

    def unreadable(connection_id, agreement_ids):
        raise PsaUnavailable("the PSA did not answer")

    service.read_lines = unreadable
    fallback = service.mapping_inputs(spb.target, mapping)
    assert fallback.lines == () and "could not be read" in fallback.lines_note


class ShortDescriptions:
    """A PSA keeping 20 characters of a description, with no line on its agreements."""

    capabilities = replace(FAKE_CAPABILITIES, max_description_length=20)

    def list_lines_of(self, agreement_ids):
        return {agreement_id: [] for agreement_id in agreement_ids}


def test_the_preview_plans_as_the_sync_would_with_the_psa_s_limits_and_the_minimum_margin(world, context,
                                                                                         monkeypatch):
    seed, _, contoso, tenant, m365, block, bp, exo = world
    service = replace(context.companies, today=lambda: TODAY)
    costly = replace(bp, product=replace(bp.product, cost=Decimal("18.70")))  # 22.00 - 18.70: 15 % of the price
    spb = row_of(service.company(contoso.id), SPB)
    mapping = replace(service.quick_map(spb.target, bp.id, m365.id), profile=costly)

    def preview():
        inputs = service.mapping_inputs(spb.target, mapping)
        return preview_mapping(mapping, inputs.licenses, agreement=m365, users=None, lines=inputs.lines,
                               today=TODAY, others=inputs.others, options=inputs.options)

    monkeypatch.setattr(context.psas, "psa", lambda connection: ShortDescriptions())
    shown = preview()
    assert len(shown.lines[0].description) <= 20
    assert not any("margin" in note for note in shown.notes)  # the default minimum: only a price under cost
    context.settings.set_minimum_margin(20)
    assert [note for note in preview().notes if "margin" in note] == [
        "billing profile M365 BP - Monthly bills 22.00 a seat; product M365-BP costs 18.70 in the PSA: a margin of "
        "3.30 a seat (15.0 % of the price), under the minimum of 20 %"]

    def unopenable(connection):
        raise PsaUnavailable("no secret for the connection")

    monkeypatch.setattr(context.psas, "psa", unopenable)  # the dialog still opens, on the PSA's default limits
    shown = preview()
    assert shown.lines[0].description == "Microsoft 365 Business Premium"
    assert [note for note in shown.notes if "margin" in note] == [
        "billing profile M365 BP - Monthly bills 22.00 a seat; product M365-BP costs 18.70 in the PSA: a margin of "
        "3.30 a seat (15.0 % of the price), under the minimum of 20 %"]
