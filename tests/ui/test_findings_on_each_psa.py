"""On each PSA's sandbox: an inactive agreement, then a profile not allowed on the agreement's type, in front of
the person — the company page's sync result, beside the license row, and the notices — until fixed.

The tenant (Business Premium 10 and Exchange 4, mapped, never synced) is
synced from the window on 16 January with its agreement made inactive in the
PSA's sandbox; then with the agreement active again and Exchange's profile
allowed only on "Block Hours" agreements; then with both fixed.
"""

from __future__ import annotations

from dataclasses import replace

from app.billing.operations import FindingKind
from app.services.notify.notices import NoticeKind
from app.services.sync.findings import TEXTS
from tests.e2e.conftest import EXO
from tests.ui.conftest import open_the_company
from tests.ui.test_row_findings import sync

INACTIVE = TEXTS[FindingKind.INACTIVE_AGREEMENT]
NOT_ALLOWED = TEXTS[FindingKind.AGREEMENT_TYPE_NOT_ALLOWED]


def finding_notices(shell) -> list[str]:
    return [n.title for n in shell.notifications.notices if n.kind is NoticeKind.FINDING]


def test_an_inactive_agreement_then_a_profile_not_allowed_show_in_the_result_the_row_and_the_notices(
        qtbot, tenant_shell, tenant):
    shell = tenant_shell
    page = open_the_company(qtbot, shell)

    tenant.world.psa_side.set_active(tenant.agreement, False)
    with qtbot.waitSignal(page.loaded, timeout=30000):
        sync(qtbot, shell)
    assert INACTIVE.title in page.result.text() and INACTIVE.advice in page.result.text()
    page.select(lambda row: getattr(row, "license", None) is not None)
    assert [f.title for f in page.selected_license().findings] == [INACTIVE.title]
    (notice,) = finding_notices(shell)  # one per tenant and kind: both rows are on the agreement
    assert INACTIVE.title in notice
    assert tenant.writes() == 0

    tenant.world.psa_side.set_active(tenant.agreement, True)
    exo = next(m for m in tenant.context.uow.mappings.for_tenant(tenant.tenant_id)
               if m.sku_id == tenant.scenario.sku_id(EXO))
    tenant.context.profiles.save(tenant.connection, replace(exo.profile,
                                                            allowed_agreement_types=frozenset({"Block Hours"})))
    with qtbot.waitSignal(page.loaded, timeout=30000):
        sync(qtbot, shell)
    assert NOT_ALLOWED.title in page.result.text() and INACTIVE.title not in page.result.text()
    page.select(lambda row: getattr(row, "license", None) is not None and row.license.sku_id == exo.sku_id)
    assert [f.title for f in page.selected_license().findings] == [NOT_ALLOWED.title]
    (notice,) = finding_notices(shell)  # the inactive agreement's is gone with its cause
    assert NOT_ALLOWED.title in notice
