"""A customer who left: Microsoft reports no licenses where the tenant had seats, on each PSA.

The sync holds every change that read would make, with the reason, until a
person approves them (here headless, through ``python main.py approvals``);
then the lines end per the ledger: January stays billed, nothing after it, and
the tenant can be unlinked.
"""

from __future__ import annotations

from datetime import date

from app.billing.operations import FindingKind
from tests.e2e.conftest import EXO, PERIOD_END, SPB, Tenant, approvals


def test_a_tenant_with_no_licenses_left_waits_for_approval_then_its_lines_end(synced: Tenant):
    tenant = synced
    tenant.drop_license(SPB)
    tenant.drop_license(EXO)
    writes = tenant.writes()
    result = tenant.sync().results[0]
    reason = "Microsoft reports no licenses for"
    assert result.applied == [] and tenant.writes() == writes
    assert {op.kind.value for op, _ in result.held} == {"cancel_line"} and len(result.held) == 2
    assert all(why.startswith(reason) and why.endswith("(it had 14 seats)") for _, why in result.held)
    assert [f.kind for f in result.findings if f.kind is FindingKind.LICENSES_GONE] == [FindingKind.LICENSES_GONE]
    listed = approvals(tenant, "list")
    assert listed.count(reason) == 2
    # In bulk, by filter: nothing matches a reason none has, then every decrease of the company is approved.
    assert "No held change matches" in approvals(tenant, "approve", "--all", "--reason", "seats drop")
    company = tenant.context.uow.tenants.links_of_tenant(tenant.tenant_id)[0].company_name
    assert "2 change(s) approved" in approvals(tenant, "approve", "--all", "--decreases", "--company", company,
                                               "--reason", "no licenses", "--by", "ana")
    applied = tenant.sync()
    assert not applied.failed and applied.writes == 2
    assert sorted(h.end for h in tenant.holdings() if h.kind == "main") == [PERIOD_END, PERIOD_END]
    tenant.move_to(date(2026, 2, 2))
    after = tenant.sync()
    assert (after.writes, after.held, after.failed) == (0, 0, ())
    # Its lines have ended: the tenant can be unlinked, and no sync reaches it any more.
    (link,) = tenant.context.uow.tenants.links_of_tenant(tenant.tenant_id)
    assert tenant.context.links.unlink(link) == 2  # the two mappings it carried
    assert tenant.sync().results == ()
