"""The ledger machine (tests/sync/ledger_machine.py) on the in-memory PSA, with every fault it has.

``SEATSYNC_LEDGER_SCALE`` multiplies the examples: ``make ledger`` runs the
long profile (10×).
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from app.billing.types import Anchor, BillingOption, BillingProfile, Cycle, License, LineKind, Mapping, TenantInventory
from app.services import settings as app_settings
from app.services.psa.fake import FakePsa
from app.services.psa.port import PsaUnavailable, PsaValidationError
from app.services.sync.engine import SyncEngine, TenantResult
from app.services.sync.store import ApprovalRules, HeldState, MemorySyncStore, TenantSetup
from tests.sync.ledger_machine import FAULTS, LedgerMachine

SCALE = float(os.environ.get("SEATSYNC_LEDGER_SCALE", "1"))
SKU = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"
TENANT = "t1"
WRITES = ("create_line", "set_quantity", "add_dated_line", "cancel_line")


class FakeHarness:
    faults = FAULTS

    def __init__(self, data) -> None:
        draw = data.draw
        self.psa = FakePsa()
        company = self.psa.add_company("Contoso")
        cycle = draw(st.sampled_from(list(Cycle)), label="cycle")
        agreement_id = self.psa.add_agreement(
            company, cycle=cycle, anchor=draw(st.sampled_from(list(Anchor)), label="anchor"),
            start=draw(st.dates(date(2022, 1, 1), date(2025, 12, 31)), label="agreement start"),
            prorates=draw(st.booleans(), label="prorates"))
        self.agreement = next(a for a in self.psa.list_agreements() if a.id == agreement_id)
        self.price = Decimal(draw(st.sampled_from(["22.00", "9.99", "264.00"]), label="price"))
        product = self.psa.add_product("M365-BP", price=self.price)
        billing = draw(st.sampled_from([BillingOption.BILLABLE] * 3 + [BillingOption.NO_CHARGE]), label="option")
        self.negative_proration = draw(st.booleans(), label="negative proration")
        self.hold_decreases = draw(st.booleans(), label="hold decreases")
        profile = BillingProfile(id="1", name="BP", product=next(p for p in self.psa.list_products()
                                                                  if p.id == product), billing_option=billing)
        self.billable = billing is BillingOption.BILLABLE
        mode = app_settings.ApprovalPolicy.HOLD_DECREASES if self.hold_decreases else \
            app_settings.ApprovalPolicy.APPLY_ALL
        self.today = draw(st.dates(date(2026, 1, 1), date(2026, 12, 31)), label="first day")
        ahead = draw(st.none() | st.integers(-90, 60), label="start date, days from the first day")
        self.start = None if ahead is None else self.today + timedelta(days=ahead)
        self.store = MemorySyncStore()
        self.store.setups[TENANT] = TenantSetup(
            tenant_id=TENANT, name="Contoso", exclusions=(), policy=ApprovalRules(mode=mode),
            mappings=(Mapping(tenant_id=TENANT, sku_id=SKU, profile=profile, agreement_id=agreement_id,
                              negative_proration=self.negative_proration, start_date_override=self.start),))
        self.inventory = TenantInventory(tenant_id=TENANT, name="Contoso")
        self.engine = SyncEngine(psa=self.psa, fetch_inventory=lambda tenant, users: self.inventory,
                                 store=self.store, today=lambda: self.today)

    def set_seats(self, seats: int | None) -> None:
        licenses = () if seats is None else (License(sku_id=SKU, enabled=seats + 1, consumed=seats),)
        self.inventory = replace(self.inventory, licenses=licenses)

    def move_to(self, day: date) -> None:
        self.today = day

    def plan(self) -> TenantResult:
        return self.engine.dry_run(TENANT)

    def sync(self) -> TenantResult:
        return self.engine.sync(TENANT)

    def approve_held(self) -> int:
        held = [k for k, h in self.store.held.items() if h.state is HeldState.HELD]
        for key in held:
            self.store.decide(key, approve=True, who="billing admin")
        return len(held)

    def arm(self, fault: str) -> None:
        if fault == "short_read":
            self.psa.cut_next_read()
            return
        error, apply = {
            "lost_answer": (PsaUnavailable("the answer was lost", maybe_applied=True), True),
            "timeout_before": (PsaUnavailable("timed out before sending"), False),
            "refused": (PsaValidationError("refused"), False),
        }[fault]
        for operation in WRITES:
            self.psa.fail_next(operation, error, apply=apply)

    def disarm(self) -> None:
        self.psa.clear_failures()

    def edit_main(self, quantity: int) -> bool:
        open_main = [ln for ln in self.psa.lines() if ln.kind is LineKind.MAIN and ln.end is None]
        if not open_main:
            return False
        self.psa.edit_line_quantity(open_main[0].id, quantity)
        return True

    def lines(self):
        # A no-charge line shows the product's price but the PSA charges nothing for it.
        return [ln if self.billable else replace(ln, unit_price=Decimal("0")) for ln in self.psa.lines() if ln.owned]

    def audited(self) -> list[str]:
        return [a.op_key for a in self.store.audits]

    def written(self) -> int:
        return self.psa.write_count


class FakeLedgerMachine(LedgerMachine):
    def make_harness(self, data):
        return FakeHarness(data)


FakeLedgerMachine.TestCase.settings = settings(
    max_examples=int(1000 * SCALE), stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
test_billing_stays_exact_through_any_sequence = FakeLedgerMachine.TestCase
