"""An inactive agreement, on each PSA: the row is reported, nothing written to it, and it bills again once active.

From ``synced`` (Business Premium 10 and Exchange 4 billed from 1 January):
the agreement is made inactive in the PSA's sandbox and a seat is added;
the sync writes nothing and reports the agreement; made active again, the
next sync bills the seat.
"""

from __future__ import annotations

from app.billing.operations import FindingKind
from tests.e2e.conftest import SPB, Tenant, findings


def test_an_inactive_agreement_is_a_finding_and_gets_nothing_written_until_active_again(synced: Tenant):
    synced.world.psa_side.set_active(synced.agreement, False)
    synced.seats(SPB, 11)
    summary = synced.sync()
    assert summary.writes == 0
    assert {f.sku_id for f in findings(summary, FindingKind.INACTIVE_AGREEMENT)} == {
        synced.scenario.sku_id(SPB), synced.scenario.sku_id("EXCHANGESTANDARD")}
    synced.world.psa_side.set_active(synced.agreement, True)
    again = synced.sync()
    assert findings(again, FindingKind.INACTIVE_AGREEMENT) == []
    assert sorted(op.kind.value for r in again.results for op in r.applied) == ["add_prorate", "set_quantity"]
    assert synced.main(SPB).quantity == 11
