"""The sync engine on the in-memory PSA: fetch → plan → approve → apply → verify."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from app.billing.operations import FindingKind
from app.billing.types import Exclusion
from app.services import settings
from app.services.psa.port import PsaUnavailable, PsaValidationError
from app.services.sync.engine import Status, run_many
from app.services.sync.inventory import LicensesGone
from app.services.sync.store import ApprovalRules, JournalState
from tests.sync.conftest import EXO, NEW_SKU, SPB

JAN = date(2026, 1, 1)


def test_first_sync_creates_the_lines_and_a_second_writes_nothing(world):
    world.tenant("t1")
    first = world.engine().sync("t1")
    assert (first.status, first.writes) == (Status.OK, 2)
    assert world.owned() == [("main", world.product, 10, JAN, None, None),
                             ("main", world.exo_product, 4, JAN, None, None)]
    second = world.engine().sync("t1")
    assert (second.status, second.writes, second.plan.operations) == (Status.OK, 0, ())
    assert len(world.audits()) == 2


def test_seats_added_mid_month_raise_the_main_line_and_add_one_prorate_line(world):
    world.tenant("t1")
    world.engine().sync("t1")
    world.microsoft.seats("t1", SPB, 13)
    world.today[0] = date(2026, 1, 16)
    result = world.engine().sync("t1")
    assert [op.kind.value for op in result.applied] == ["add_prorate", "set_quantity"]
    assert world.owned()[0] == ("main", world.product, 13, JAN, None, None)
    assert ("prorate", world.product, 3, date(2026, 1, 16), date(2026, 1, 31), Decimal("34.06")) in world.owned()
    audit = world.audits()[-1]
    assert (audit.before_quantity, audit.after_quantity, audit.before_amount, audit.after_amount) == (
        10, 13, Decimal("220.00"), Decimal("286.00"))
    assert world.engine().sync("t1").writes == 0


def test_seats_removed_with_negative_proration_add_a_credit(world):
    world.tenant("t1", negative_proration=True)
    world.engine().sync("t1")
    world.microsoft.seats("t1", SPB, 8)
    world.today[0] = date(2026, 1, 16)
    world.engine().sync("t1")
    assert ("credit", world.product, -2, date(2026, 1, 16), date(2026, 1, 31), Decimal("-22.71")) in world.owned()


def test_a_new_sku_is_a_finding_and_writes_nothing(world):
    world.tenant("t1")
    world.engine().sync("t1")
    world.microsoft.seats("t1", NEW_SKU, 5)
    result = world.engine().sync("t1")
    assert result.writes == 0
    unmapped = [f.sku_id for f in result.findings if f.kind is FindingKind.UNMAPPED_LICENSE]
    assert unmapped == [NEW_SKU]


def test_an_excluded_sku_is_left_alone(world):
    world.tenant("t1")
    world.set_exclusions("t1", (Exclusion(sku_id=EXO),))
    result = world.engine().sync("t1")
    assert [op.product_id for op in result.applied] == [world.product]
    assert all(f.sku_id != EXO for f in result.findings)


def test_a_manual_edit_of_an_owned_line_is_reported_and_set_right(world):
    world.tenant("t1")
    world.engine().sync("t1")
    line = next(ln for ln in world.psa.list_lines(world.agreement) if ln.product_id == world.product)
    world.psa.edit_line_quantity(line.id, 7)
    world.today[0] = date(2026, 1, 1)
    result = world.engine().sync("t1")
    assert FindingKind.MANUAL_EDIT in [f.kind for f in result.findings]
    assert world.psa.line(line.id).quantity == 10


def test_a_failed_read_writes_nothing(world):
    world.tenant("t1")
    world.engine().sync("t1")
    world.microsoft.failing.add("t1")
    result = world.engine().sync("t1")
    assert (result.status, result.writes) == (Status.FAILED, 0)
    assert "no licenses" in result.error


def test_a_lost_response_is_settled_by_reading_the_psa_never_by_sending_again(world):
    world.tenant("t1")
    world.psa.fail_next("create_line", PsaUnavailable("timed out", maybe_applied=True), apply=True)
    first = world.engine().sync("t1")
    assert first.status is Status.FAILED and "unknown" in first.error
    assert world.journal_states() == [JournalState.UNKNOWN]
    second = world.engine().sync("t1")
    assert [op.kind.value for op in second.recovered] == ["create_line"]
    assert sorted(ln.product_id for ln in world.psa.list_lines(world.agreement)) == [world.product, world.exo_product]
    assert len(world.audits()) == 2  # one per write, the recovered one included


def test_a_refused_write_skips_its_row_and_not_the_others(world):
    world.tenant("t1")
    world.psa.fail_next("create_line", PsaValidationError("product inactive"))
    result = world.engine().sync("t1")
    assert result.status is Status.FAILED and "product inactive" in result.error
    assert len(result.applied) == 1


def test_decreases_wait_for_approval_under_that_policy(world):
    world.tenant("t1")
    world.set_policy("t1", ApprovalRules(mode=settings.ApprovalPolicy.HOLD_DECREASES))
    world.engine().sync("t1")
    world.microsoft.seats("t1", SPB, 9)
    world.microsoft.seats("t1", EXO, 6)
    result = world.engine().sync("t1")
    assert [op.product_id for op in result.applied] == [world.exo_product]
    (held, why), = result.held
    assert (held.quantity, why) == (9, "the approval policy holds decreases")
    world.approve(held.key, who="ana")
    after = world.engine().sync("t1")
    assert [op.key for op in after.applied] == [held.key]
    assert world.held_state(held.key).value == "applied"


def test_caps_hold_large_changes(world):
    world.tenant("t1")
    world.set_policy("t1", ApprovalRules(max_seats_per_line=5))
    result = world.engine().sync("t1")
    assert [op.product_id for op in result.applied] == [world.exo_product]
    assert "exceeds the cap of 5" in result.held[0][1]


def test_the_cap_on_money_holds_what_would_change_a_period_by_more(world):
    world.tenant("t1")
    world.set_policy("t1", ApprovalRules(max_amount_per_run=Decimal("100.00")))
    result = world.engine().sync("t1")
    assert [op.product_id for op in result.applied] == [world.exo_product]  # Exchange: 4 × 4.00
    ((held, why),) = result.held
    assert why == "a change of 220.00 a period exceeds the cap of 100.00 per run"  # Business Premium: 10 × 22.00
    world.approve(held.key, who="ana")
    after = world.engine().sync("t1")
    assert [op.key for op in after.applied] == [held.key]  # a person let it go: the cap does not hold it again


def test_the_dry_run_is_exactly_what_the_sync_applies(world):
    world.tenant("t1")
    world.engine().sync("t1")
    world.microsoft.seats("t1", SPB, 15)
    world.today[0] = date(2026, 1, 20)
    dry = world.engine().dry_run("t1")
    assert world.psa.write_count == 2  # the dry run wrote nothing
    real = world.engine().sync("t1")
    assert [op.key for op in dry.go] == [op.key for op in real.applied] and dry.go


def test_a_busy_tenant_is_skipped_not_synced_twice(world):
    world.tenant("t1")
    assert world.store.try_lock("t1", "another-process", 60)
    result = world.engine().sync("t1")
    assert (result.status, result.writes) == (Status.BUSY, 0)


def test_one_tenants_failure_never_stops_the_others(world):
    for t in ("t1", "t2", "t3"):
        world.tenant(t, agreement=world.psa.add_agreement(world.psa.list_companies()[0].id, name=t))
    world.microsoft.failing.add("t2")
    results = run_many(world.engine(), ["t1", "t2", "t3"], workers=3)
    assert [r.status for r in results] == [Status.OK, Status.FAILED, Status.OK]
    assert sum(r.writes for r in results) == 4


def test_a_tenant_whose_licenses_are_gone_waits_for_a_person_then_its_lines_end(world):
    """Offboarding: "no licenses where there were seats" holds every change until a person approves them."""
    world.tenant("t1")
    world.engine().sync("t1")
    gone = replace(world.microsoft.tenants["t1"], licenses=())
    real = world.microsoft

    def offboarded(tenant_id: str, with_users: bool):
        raise LicensesGone(gone, name="Tenant t1", seats_before=14)

    world.microsoft = offboarded  # type: ignore[assignment]
    world.today[0] = date(2026, 1, 16)
    preview, held = world.engine().dry_run("t1"), world.engine().sync("t1")
    for result in (preview, held):
        assert (result.status, result.go, result.applied) == (Status.OK if result is held else Status.PLANNED, [], [])
        assert {(op.kind.value, op.effective, why) for op, why in result.held} == {
            ("cancel_line", date(2026, 2, 1), "Microsoft reports no licenses for Tenant t1 (it had 14 seats)")}
        assert [f.message for f in result.findings if f.kind is FindingKind.LICENSES_GONE] == [
            "Microsoft reports no licenses for Tenant t1 (it had 14 seats)"]
    assert [ln[4] for ln in world.owned()] == [None, None]  # nothing written yet
    for op, _ in held.held:
        world.approve(op.key, who="ana")
    applied = world.engine().sync("t1")
    assert [(op.kind.value, op.effective) for op in applied.applied] == [("cancel_line", date(2026, 2, 1))] * 2
    assert [ln[4] for ln in world.owned()] == [date(2026, 1, 31)] * 2  # January stays billed, then they end
    world.today[0] = date(2026, 2, 3)
    after = world.engine().sync("t1")
    assert (after.status, after.applied, after.held) == (Status.OK, [], [])
    world.microsoft = real
