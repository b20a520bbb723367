"""The ledger machine (tests/sync/ledger_machine.py) on each PSA sandbox, over HTTP.

The same rules and promises as on the in-memory PSA, with fewer examples:
what each period costs is read from the sandbox's own records. Faults are
the sandbox server's (a lost answer, a dropped request, a refusal) and a
short read (a line hidden from one read).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from app.billing.types import Line, LineKind
from app.models.repositories import Approvals
from app.sandbox.autotask.writes import StoreError
from app.sandbox.server import Fault, TlsFiles
from app.sandbox.world_psas import PSA_KINDS
from app.services import settings as app_settings
from app.services.settings import Settings
from app.services.sync.engine import TenantResult
from tests.e2e.conftest import PRODUCT, SPB, START, close_tenant, make_tenant
from tests.sync.ledger_machine import FAULTS, LedgerMachine

SCALE = float(os.environ.get("SEATSYNC_LEDGER_SCALE", "1"))
WRITE = "POST|PATCH|PUT|DELETE"


class SandboxHarness:
    faults = FAULTS
    start = None  # the mapping has no start date

    def __init__(self, data, psa: str, tls: TlsFiles) -> None:
        draw = data.draw
        self.directory = Path(tempfile.mkdtemp(prefix="ledger-"))
        self.today = START
        self.tenant = make_tenant(self.directory, tls, psa, today=lambda: START)
        self.tenant.seats(SPB, 0)
        prorates = draw(st.booleans(), label="prorates")
        self.tenant.world.set_prorates(self.tenant.agreement, prorates)
        self.agreement = next(a for a in self.tenant.psa().list_agreements() if a.id == self.tenant.agreement)
        assert self.agreement.prorates is prorates
        self.negative_proration = draw(st.booleans(), label="negative proration")
        self.tenant.map(SPB, negative_proration=self.negative_proration)
        self.hold_decreases = draw(st.booleans(), label="hold decreases")
        if self.hold_decreases:
            Settings().set_approval_policy(app_settings.ApprovalPolicy.HOLD_DECREASES)
        self.price = self.tenant.profiles[PRODUCT[SPB]].product.price
        self.billable = True
        self._restore = None

    def close(self) -> None:
        close_tenant(self.tenant)
        shutil.rmtree(self.directory, ignore_errors=True)

    def set_seats(self, seats: int | None) -> None:
        if seats is None:
            self.tenant.drop_license(SPB)
        else:
            self.tenant.seats(SPB, seats)

    def move_to(self, day: date) -> None:
        self.today = day
        self.tenant.move_to(day)
        # Years may pass in a run: the partner's access (GDAP) is renewed as an MSP would, since a lapse
        # is not what this machine tests (tests/microsoft and tests/test_admin_service.py do).
        self.tenant.scenario.renew_gdap(self.tenant.tenant_id)

    def plan(self) -> TenantResult:
        return self.tenant.plan().results[0]

    def sync(self) -> TenantResult:
        return self.tenant.sync().results[0]

    def approve_held(self) -> int:
        held = Approvals().held(tenant_id=self.tenant.tenant_id)
        for record in held:
            Approvals().approve(record.op_key, by="billing admin")
        return len(held)

    def arm(self, fault: str) -> None:
        if fault == "short_read":
            owned = self.tenant.holdings(SPB)
            if owned:
                self._restore = self.tenant.world.psa_side.hide_line(owned[-1].id)
            return
        kind = {"lost_answer": Fault("drop_after", method=WRITE), "timeout_before": Fault("drop", method=WRITE),
                "refused": Fault("status", method=WRITE, status=400)}[fault]
        self.tenant.world.psa_server.chaos.inject(kind)

    def disarm(self) -> None:
        self.tenant.world.psa_server.chaos.clear()
        if self._restore is not None:
            self._restore()
            self._restore = None

    def edit_main(self, quantity: int) -> bool:
        mains = [h for h in self.tenant.holdings(SPB) if h.kind == "main" and h.end is None and h.quantity]
        if not mains:
            return False
        try:
            self.tenant.world.psa_side.edit_quantity(mains[0].id, quantity, self.today)
        except StoreError:  # Autotask refuses an edit that takes a later period below zero units: none made
            return False
        return True

    def lines(self) -> list[Line]:
        return [Line(id=h.id, agreement_id=self.tenant.agreement, product_id=h.product, marker=h.marker,
                     kind=LineKind.MAIN if h.kind == "main" else LineKind.PRORATE, quantity=h.quantity,
                     unit_price=h.unit_price, start=h.start, end=h.end,
                     amount=None if h.kind == "main" else h.amount)
                for h in self.tenant.holdings(SPB)]

    def audited(self) -> list[str]:
        return self.tenant.audited_keys()

    def written(self) -> int:
        return self.tenant.writes()


@pytest.mark.slow
@pytest.mark.parametrize("psa", PSA_KINDS)
def test_billing_stays_exact_on_each_sandbox(psa: str, tls: TlsFiles) -> None:
    class SandboxLedgerMachine(LedgerMachine):
        def make_harness(self, data):
            return SandboxHarness(data, psa, tls)

        def teardown(self):
            if hasattr(self, "h"):
                self.h.close()

    run_state_machine_as_test(SandboxLedgerMachine, settings=settings(
        max_examples=max(1, int(4 * SCALE)), stateful_step_count=12, deadline=None, database=None,
        phases=[Phase.generate],  # over HTTP, shrinking a failure would outlast the test's time limit
        suppress_health_check=list(HealthCheck)))
