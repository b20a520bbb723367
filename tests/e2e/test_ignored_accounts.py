"""Ignored accounts end to end on each PSA and database (docs/billing.md, "Ignored accounts").

The tenant holds Business Premium 10 seats and Exchange 4, mapped, and
synced on 1 January. Two of the Business Premium holders are the MSP's own:
its admin account and a backup service account. On 16 January a person
ignores them (the admin in this tenant, ``*-svc@*`` in every tenant):
the next sync bills 8 seats from February, with no credit (the mapping does
not prorate decreases), and says why in each operation's basis; a second
sync writes nothing. Stopping to ignore the admin bills its seat again.
"""

from __future__ import annotations

import json

import pytest

from app.billing.ignored import IgnoredAccount
from app.billing.operations import OpKind
from app.models.records import EditConflict
from app.models.repositories import ConfigChanges
from app.services.customers.ignored import IgnoredRefused
from app.services.review.config_history import config_row
from tests.e2e.conftest import EXO, MID, NEXT, SPB, Tenant


def _own_accounts(tenant: Tenant) -> tuple[str, str]:
    """Rename two holders of Business Premium only to the MSP's admin and backup service accounts; their UPNs."""
    scenario = tenant.scenario
    sku = scenario.sku_id(SPB)
    sandbox = scenario.tenant(tenant.tenant_id)
    with scenario.lock:
        admin, service = [u for u in sandbox.users if u.sku_ids == [sku]][:2]
        domain = admin.upn.rpartition("@")[2]
        admin.upn, service.upn = f"MSP.Admin@{domain}", f"backup-svc@{domain}"
    return admin.upn, service.upn


def test_the_seats_of_ignored_accounts_are_not_billed_from_the_next_period(synced: Tenant):
    tenant = synced
    admin, service_upn = _own_accounts(tenant)
    ignored = tenant.context.ignored_accounts
    tenant.move_to(MID)

    with pytest.raises(IgnoredRefused, match="every account"):
        ignored.ignore(IgnoredAccount(pattern="*@*"), actor="amy")
    with pytest.raises(IgnoredRefused, match="has not been added"):
        ignored.ignore(IgnoredAccount(pattern="admin@x.com", tenant_id="0" * 36), actor="amy")
    assert ignored.rows() == []

    who = ignored.who("*-SVC@*")
    assert [(m.upn, m.licenses) for m in who.found] == [(service_upn, ("Microsoft 365 Business Premium",))]
    assert (who.tenants, who.failed) == (1, ())

    ignored.ignore(IgnoredAccount(pattern=admin, tenant_id=tenant.tenant_id, reason="our admin"), actor="amy")
    ignored.ignore(IgnoredAccount(pattern="*-svc@*", reason="service accounts"), actor="amy")
    rows = ignored.rows()
    assert [(r.account.pattern, r.account.tenant_id, r.tenant_name != "", r.version) for r in rows] == [
        (admin.lower(), tenant.tenant_id, True, 1), ("*-svc@*", None, False, 1)]
    with pytest.raises(EditConflict):  # another window kept the same pattern meanwhile
        ignored.ignore(IgnoredAccount(pattern="*-svc@*", reason="changed"), expected_version=0, actor="bob")

    writes = tenant.writes()
    second = tenant.sync()
    assert not second.failed, [r.error for r in second.results]
    ops = [op for r in second.results for op in r.plan.operations]
    (change,) = ops
    assert (change.kind, change.quantity, change.before, change.effective) == (OpKind.SET_QUANTITY, 8, 10, NEXT)
    assert (change.basis.assigned, change.basis.ignored, change.basis.base) == (10, 2, 8)
    assert "2 seat(s) held by ignored accounts not billed" in change.basis.formula
    assert tenant.main(SPB).quantity == 8 and tenant.main(EXO).quantity == 4
    assert tenant.dated(SPB) == []  # a decrease is not credited without negative proration
    assert tenant.writes() > writes

    (report,) = [r for r in tenant.context.reports.reconcile(read_psa=True).rows if r.sku_id == change.row.sku_id]
    assert (report.assigned, report.ignored, report.should_bill, report.billed, report.unbilled) == (10, 2, 8, 8, 0)

    writes = tenant.writes()
    third = tenant.sync()
    assert not third.failed and not [op for r in third.results for op in r.plan.operations]
    assert tenant.writes() == writes  # nothing written twice

    assert ignored.stop_ignoring(admin, tenant.tenant_id, expected_version=rows[0].version, actor="amy")
    again = tenant.sync()
    (back,) = [op for r in again.results for op in r.plan.operations if op.kind is OpKind.SET_QUANTITY]
    assert (back.quantity, back.before, back.basis.ignored) == (9, 8, 1)
    assert tenant.main(SPB).quantity == 9

    history = [(c.kind, c.action, c.actor) for c in ConfigChanges().query(kind="ignored_account")]
    assert sorted(history) == [("ignored_account", "created", "amy")] * 2 + [("ignored_account", "removed", "amy")]
    shown = config_row(ConfigChanges().query(kind="ignored_account")[-1], tenant.context.microsoft.catalogue())
    assert (shown.kind, shown.what, shown.after) == (
        "Ignored accounts", f"{admin.lower()} in {tenant.scenario.tenant(tenant.tenant_id).name}", "reason: our admin")


def test_the_company_figures_and_snapshot_keep_what_ignored_accounts_hold(synced: Tenant):
    tenant = synced
    admin, _ = _own_accounts(tenant)
    tenant.context.ignored_accounts.ignore(IgnoredAccount(pattern=admin), actor="amy")
    assert not tenant.sync().failed
    snapshot = tenant.context.uow.inventory.latest(tenant.tenant_id)
    held = {lic.sku_id: lic.ignored for lic in snapshot.licenses}
    assert held[tenant.scenario.sku_id(SPB)] == 1 and held[tenant.scenario.sku_id(EXO)] == 0
    assert snapshot.users is None  # users are never kept
    link = tenant.context.uow.tenants.links_of_tenant(tenant.tenant_id)[0]
    page = tenant.context.companies.company(link.company_id)
    (row,) = [r for r in page.licenses if r.license.sku_id == tenant.scenario.sku_id(SPB)]
    assert "1 of 10 assigned seats held by ignored accounts: not billed" in row.notices
    assert [m.quantity for m in row.monthly] == [9]  # what the sync bills, told from the snapshot


@pytest.mark.parametrize("psa", ["connectwise"])
def test_the_ignored_command_lists_asks_adds_and_removes(synced: Tenant, capsys):
    from app.cli import main
    from app.commands.common import use_context

    tenant = synced
    admin, _ = _own_accounts(tenant)
    use_context(tenant.context)
    try:
        assert main(["ignored", "list"]) == 0
        assert capsys.readouterr().out == "no account is ignored\n"
        assert main(["ignored", "add", "*@*"]) == 1
        assert "would match every account" in capsys.readouterr().err
        assert main(["ignored", "who", "msp.admin@*", "--tenant", "0" * 36]) == 1
        assert "has not been added to seatsync" in capsys.readouterr().err
        assert main(["ignored", "who", "msp.admin@*", "--tenant", tenant.tenant_id.upper()]) == 0
        out = capsys.readouterr().out
        assert admin in out and "Microsoft 365 Business Premium" in out
        assert out.endswith("msp.admin@* matches 1 account(s) in 1 tenant(s)\n")
        assert main(["ignored", "add", "MSP.Admin@*", "--tenant", tenant.tenant_id, "--reason", "our admin",
                     "--by", "amy"]) == 0
        assert capsys.readouterr().out.startswith(f"ignored msp.admin@* in {tenant.tenant_id}")
        assert main(["ignored", "list", "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == [{"pattern": "msp.admin@*", "tenant_id": tenant.tenant_id,
                                                        "tenant": tenant.scenario.tenant(tenant.tenant_id).name,
                                                        "reason": "our admin"}]
        assert not tenant.sync().failed and tenant.main(SPB).quantity == 9  # on the 1st: the whole period
        assert main(["ignored", "remove", "msp.admin@*"]) == 1  # kept for the one tenant, not for every tenant
        assert "was not ignored in every tenant" in capsys.readouterr().err
        assert main(["ignored", "remove", "msp.admin@*", "--tenant", tenant.tenant_id]) == 0
        assert tenant.context.uow.ignored_accounts.all() == []
    finally:
        use_context(None)
