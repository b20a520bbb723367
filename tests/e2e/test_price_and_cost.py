"""Price and cost end to end on each PSA and database (docs/billing.md, "Price and cost").

The tenant was synced on 1 January at the catalog's prices: Business
Premium 22.00 a seat (cost 18.70), Exchange 4.00 (cost 3.40). In the PSA,
Business Premium's price then rises to 25.00 and Exchange's cost to 4.20:
the next sync writes nothing, and reports the Business Premium line's price
drift and Exchange billed below its cost, on the company's rows too. Once a
person sets the line's price to 25.00 in the PSA, the drift is gone; with a
minimum margin of 30 % in Settings, Business Premium's 25.2 % is reported
too.
"""

from __future__ import annotations

from app.billing.operations import FindingKind
from app.services.customers.company_rows import FindingAction
from tests.e2e.conftest import EXO, SPB, Tenant, findings


def test_a_price_rise_is_reported_not_written_and_so_is_a_cost_above_the_price(synced: Tenant):
    tenant = synced
    side = tenant.world.psa_side
    side.set_product_price("M365-BP", price="25.00", cost="18.70")
    side.set_product_price("EXO-P1", price="4.00", cost="4.20")
    writes = tenant.writes()

    summary = tenant.sync()
    assert not summary.failed, [r.error for r in summary.results]
    assert [op for r in summary.results for op in r.plan.operations] == []
    assert tenant.writes() == writes  # the line's price is the PSA's: never written
    line = tenant.main(SPB)
    assert (line.quantity, line.unit_price) == (10, 22)
    bp, exo = tenant.profiles["M365-BP"], tenant.profiles["EXO-P1"]
    (drift,) = findings(summary, FindingKind.PRICE_DRIFT)
    assert (drift.line_id, drift.message) == (line.id, f"line {line.id} bills 22.00 a seat; billing profile "
                                                       f"{bp.name} gives 25.00")
    (below,) = findings(summary, FindingKind.LOW_MARGIN)
    assert below.message == (f"billing profile {exo.name} bills 4.00 a seat; product EXO-P1 costs 4.20 in the PSA: "
                             "a margin of -0.20 a seat (-5.0 % of the price)")

    link = tenant.context.uow.tenants.links_of_tenant(tenant.tenant_id)[0]
    rows = {r.license.sku_id: r for r in tenant.context.companies.company(link.company_id).licenses}
    said = {part: [(f.title, f.action, f.attention) for f in rows[tenant.scenario.sku_id(part)].findings]
            for part in (SPB, EXO)}
    assert said == {SPB: [("Line price differs from its billing profile", FindingAction.PROFILES, True)],
                    EXO: [("Margin under the minimum", FindingAction.PROFILES, True)]}

    side.edit_price(line.id, "25.00")  # a person, once the customer was told
    again = tenant.sync()
    assert not again.failed
    assert findings(again, FindingKind.PRICE_DRIFT) == [] and len(findings(again, FindingKind.LOW_MARGIN)) == 1
    assert tenant.writes() == writes

    tenant.context.settings.set_minimum_margin(30)
    third = tenant.sync()
    low = sorted(f.message for f in findings(third, FindingKind.LOW_MARGIN))
    assert low == [f"billing profile {exo.name} bills 4.00 a seat; product EXO-P1 costs 4.20 in the PSA: a margin of "
                   "-0.20 a seat (-5.0 % of the price), under the minimum of 30 %",
                   f"billing profile {bp.name} bills 25.00 a seat; product M365-BP costs 18.70 in the PSA: a margin "
                   "of 6.30 a seat (25.2 % of the price), under the minimum of 30 %"]
    assert tenant.writes() == writes
