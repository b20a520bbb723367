"""Every finding in front of the person: each kind has words and what to do, and no sync result — the company
panel, the tray's sentence, the headless summary — says "no change needed" while a finding stands."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from app.billing.markers import main_marker
from app.billing.operations import Finding, FindingKind, Operation, OpKind
from app.billing.types import RowKey
from app.commands.common import summary_table
from app.services.customers.company_rows import MappingChoices
from app.services.sync.engine import Status, TenantResult
from app.services.sync.findings import TEXTS, grouped, needing_attention
from app.services.sync.service import RunSummary
from app.ui.views.sync_result import SyncResultPanel, result_lines, run_sentence

NO_CHANGE = "no change needed"
INACTIVE = Finding(kind=FindingKind.INACTIVE_AGREEMENT, tenant_id="t1", sku_id="e3", agreement_id="9",
                   message="agreement Microsoft 365 is inactive")
NOT_ALLOWED = Finding(kind=FindingKind.AGREEMENT_TYPE_NOT_ALLOWED, tenant_id="t1", sku_id="bp", agreement_id="9",
                      message="billing profile E3 may not be used on agreements of type 'Block Hours'")
UNASSIGNED = Finding(kind=FindingKind.UNASSIGNED_SEATS, tenant_id="t1", sku_id="e3",
                     message="Microsoft 365 E3: 2 of 10 seats unassigned")


def test_every_kind_has_a_title_and_what_to_do():
    assert set(TEXTS) == set(FindingKind)
    for text in TEXTS.values():
        assert text.title and text.advice.endswith(".")
    assert {k for k, t in TEXTS.items() if not t.attention} == {FindingKind.UNASSIGNED_SEATS,
                                                                 FindingKind.COMMITMENT_ABOVE_USAGE}


def test_findings_are_grouped_by_kind_what_stops_billing_first():
    second = Finding(kind=FindingKind.INACTIVE_AGREEMENT, tenant_id="t2", message="agreement Other is inactive")
    groups = grouped([UNASSIGNED, INACTIVE, NOT_ALLOWED, second])
    assert [g.kind for g in groups] == [FindingKind.INACTIVE_AGREEMENT, FindingKind.AGREEMENT_TYPE_NOT_ALLOWED,
                                        FindingKind.UNASSIGNED_SEATS]
    assert groups[0].lines() == [f"Agreement not active (2): {TEXTS[FindingKind.INACTIVE_AGREEMENT].advice}",
                                 "  • agreement Microsoft 365 is inactive", "  • agreement Other is inactive"]
    assert needing_attention([UNASSIGNED, INACTIVE, NOT_ALLOWED, second]) == 3


@pytest.mark.parametrize(("findings", "headline"), [
    ((), "Synced: no change needed, the PSA already bills what the tenants have."),
    ((INACTIVE, NOT_ALLOWED, UNASSIGNED), "Synced: nothing written; 2 finding(s) need attention."),
    ((UNASSIGNED,), "Synced: nothing to write; the findings below are for information."),
])
def test_the_company_panel_lists_the_findings_and_what_to_do(qtbot, findings, headline):
    panel = SyncResultPanel()
    qtbot.addWidget(panel)
    panel.show_result([TenantResult(tenant_id="t1", name="Contoso", findings=list(findings))], MappingChoices())
    assert panel.headline.text() == headline
    body = panel.body.text()
    for finding in findings:
        assert TEXTS[finding.kind].title in body and TEXTS[finding.kind].advice in body and finding.message in body
    assert panel.kind == ("warning" if needing_attention(findings) else "ok")
    assert (NO_CHANGE in panel.text()) is (not findings)


def test_findings_beside_writes_are_still_said():
    row = RowKey(tenant_id="t1", sku_id="e3")
    created = Operation(key="v1-new", kind=OpKind.CREATE_LINE, row=row, agreement_id="9", product_id="p1",
                        marker=main_marker(row), effective=date(2026, 12, 1), quantity=3, before=0)
    result = TenantResult(tenant_id="t1", applied=[created], findings=[INACTIVE])
    headline, lines, failed = result_lines([result], MappingChoices())
    assert headline == "Synced: 1 change(s) written in the PSA; 1 finding(s) need attention" and not failed
    assert "  • agreement Microsoft 365 is inactive" in lines


def test_the_tray_sentence_and_the_headless_summary_count_and_list_them():
    at = datetime.now().astimezone().replace(hour=22, minute=3)
    summary = RunSummary(results=(TenantResult(tenant_id="t1", name="Contoso", findings=[INACTIVE, UNASSIGNED]),
                                  TenantResult(tenant_id="t2", name="Adatum", status=Status.OK)), started_at=at)
    assert run_sentence(summary) == ("The sync at 22:03 finished: 2 companies synced, 0 change(s) written, "
                                     "1 finding(s) need attention.")
    text = summary_table(summary)
    assert "Findings:\n  Agreement not active (1): " in text
    assert "  • Contoso: agreement Microsoft 365 is inactive" in text
    assert "Unassigned seats (1): " in text and UNASSIGNED.message not in text  # counted, not listed
    assert text.endswith("2 tenant(s): 0 write(s), 0 held for approval, 0 failed, 1 finding(s) need attention.")
