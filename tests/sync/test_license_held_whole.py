"""A license's rows go or wait together (docs/billing.md, "Approvals"): a license split into its subscriptions
under the policy that holds decreases never bills its new lines beside the old one while its cancel waits, and
approving the decrease lets the license go whole."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from app.billing.markers import main_marker
from app.billing.operations import Operation, OpKind, Plan
from app.billing.types import (
    Anchor,
    BillingProfile,
    Cycle,
    License,
    LineKind,
    Mapping,
    RowKey,
    Subscription,
    TenantInventory,
    Term,
)
from app.services import settings
from app.services.psa.fake import FakePsa
from app.services.sync.approval import decide
from app.services.sync.engine import Status, SyncEngine
from app.services.sync.store import ApprovalRules, HeldState, MemorySyncStore, TenantSetup

SKU, OTHER = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "4b9405b0-7788-4568-add1-99614e613b69"
HOLD_DECREASES = ApprovalRules(mode=settings.ApprovalPolicy.HOLD_DECREASES)


def op(sku: str, kind: OpKind, before: int, after: int, subscription: str = "") -> Operation:
    row = RowKey(tenant_id="t1", sku_id=sku, subscription_id=subscription)
    return Operation(key=f"{sku}{subscription}-{kind.value}", kind=kind, row=row, agreement_id="A1",
                     product_id="P1", marker=main_marker(row), effective=date(2026, 2, 1), quantity=after,
                     before=before, unit_price=Decimal("22.00"))


def test_seats_moving_between_a_licenses_subscriptions_wait_together_and_other_licenses_go():
    moving = [op(SKU, OpKind.SET_QUANTITY, 6, 4, "monthly"), op(SKU.upper(), OpKind.SET_QUANTITY, 4, 6, "annual")]
    other = op(OTHER, OpKind.SET_QUANTITY, 3, 5)
    decision = decide(Plan(operations=(*moving, other), findings=()), HOLD_DECREASES)
    assert decision.go == (other,)
    assert [(held.key, why) for held, why in decision.held] == [
        (moving[0].key, "the approval policy holds decreases"),
        (moving[1].key, "the approval policy holds decreases: it goes with this license's decrease")]
    # The decrease held them: approved, the license goes whole.
    approved = decide(Plan(operations=(*moving, other), findings=()), HOLD_DECREASES, approved=[moving[0].key])
    assert approved.go == (*moving, other)


def test_a_split_license_keeps_billing_its_old_line_alone_until_the_cancel_is_approved():
    psa = FakePsa()
    agreement = psa.add_agreement(psa.add_company("Contoso"), cycle=Cycle.MONTHLY, anchor=Anchor.CALENDAR,
                                  start=date(2024, 1, 1), prorates=True)
    product = psa.add_product("M365-BP", price=Decimal("22.00"))
    whole = Mapping(tenant_id="t1", sku_id=SKU, agreement_id=agreement, profile=BillingProfile(
        id="1", name="BP", product=next(p for p in psa.list_products() if p.id == product)))
    store = MemorySyncStore()
    store.setups["t1"] = TenantSetup(tenant_id="t1", name="Contoso", exclusions=(), policy=HOLD_DECREASES,
                                     mappings=(whole,))
    subscriptions = (Subscription(id="m", sku_id=SKU, quantity=6), Subscription(id="y", sku_id=SKU, quantity=4,
                                                                                 term=Term.YEAR))
    inventory = TenantInventory(tenant_id="t1", name="Contoso", licenses=(
        License(sku_id=SKU, enabled=10, consumed=10, subscriptions=subscriptions),))
    today = [date(2026, 1, 1)]
    engine = SyncEngine(psa=psa, fetch_inventory=lambda tenant, users: inventory, store=store,
                        today=lambda: today[0])
    assert engine.sync("t1").status is Status.OK

    # On 16 January the license is split into its two subscriptions: the old line's cancel is a decrease.
    store.setups["t1"] = replace(store.setups["t1"], mappings=(replace(whole, subscription_id="m"),
                                                              replace(whole, subscription_id="y")))
    today[0] = date(2026, 1, 16)
    held = engine.sync("t1")
    assert held.applied == [] and sorted(o.kind.value for o, _ in held.held) == [
        "cancel_line", "create_line", "create_line"]
    today[0] = date(2026, 2, 10)  # nobody approved before February: the old line billed it alone
    assert engine.sync("t1").applied == []
    assert [(ln.start, ln.end, ln.quantity) for ln in psa.lines() if ln.kind is LineKind.MAIN] == [
        (date(2026, 1, 1), None, 10)]
    for key, waiting in list(store.held.items()):  # the decreases, as "approvals approve --all --decreases"
        if waiting.state is HeldState.HELD and waiting.operation.is_decrease:
            store.decide(key, approve=True, who="billing admin")
    approved = engine.sync("t1")
    assert approved.status is Status.OK and approved.held == []
    # The old line bills February; the subscriptions' lines from March: no day twice.
    assert sorted((ln.start, ln.end, ln.quantity) for ln in psa.lines() if ln.kind is LineKind.MAIN) == [
        (date(2026, 1, 1), date(2026, 2, 28), 10), (date(2026, 3, 1), None, 4), (date(2026, 3, 1), None, 6)]
