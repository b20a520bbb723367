"""Findings as notices and beside license rows, and one definition of what needs attention.

A finding kind needing a person is a notice per tenant and kind, from that tenant's latest sync; a company
needs attention for the same things its notices of the kinds in ``notices.ATTENTION`` say."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from app.billing.markers import main_marker
from app.billing.operations import Finding, FindingKind, Operation, OpKind
from app.billing.types import License, Mapping, RowKey
from app.models.records import ConsentStatus, HeldRecord, HeldStatus
from app.models.repositories import Approvals
from app.services.customers.company_rows import (
    CompanyRow,
    FindingAction,
    LicenseRow,
    Target,
    attention_findings,
    with_findings,
)
from app.services.notify import notices as notices_module
from app.services.notify.notices import ATTENTION, NoticeKind, compute_notices, finding_text
from app.services.sync.findings import TEXTS
from tests.test_notify import FREE, SPB, T1, T2, T3, inputs, profile
from tests.ui.seed import Seed, realistic_world

INACTIVE = Finding(kind=FindingKind.INACTIVE_AGREEMENT, tenant_id=T1, sku_id=SPB, agreement_id="A1",
                   message="agreement Contoso - Managed 365 is inactive")
ALSO_INACTIVE = replace(INACTIVE, sku_id="sku-exo", message="agreement Contoso - Old is inactive")
NOT_ALLOWED = Finding(kind=FindingKind.AGREEMENT_TYPE_NOT_ALLOWED, tenant_id=T2, sku_id=SPB, agreement_id="A2",
                      message="billing profile BP may not be used on agreements of type 'Block Hours'")
UNASSIGNED = Finding(kind=FindingKind.UNASSIGNED_SEATS, tenant_id=T1, sku_id=SPB, message="2 of 12 unassigned")
UNMAPPED = Finding(kind=FindingKind.UNMAPPED_LICENSE, tenant_id=T1, sku_id="sku-exo", message="no profile")


def finding_notices(notices):
    return {(n.tenant_id, n.title): n.message for n in notices if n.kind is NoticeKind.FINDING}


# -- notices ------------------------------------------------------------------------------------------------


def test_each_finding_kind_needing_a_person_is_one_notice_per_tenant_and_kind():
    notices = compute_notices(inputs(findings={T1: [INACTIVE, ALSO_INACTIVE, UNASSIGNED, UNMAPPED],
                                               T2: [NOT_ALLOWED]}))
    inactive, not_allowed = TEXTS[FindingKind.INACTIVE_AGREEMENT], TEXTS[FindingKind.AGREEMENT_TYPE_NOT_ALLOWED]
    assert finding_notices(notices) == {
        (T1, f"Contoso: {inactive.title} (2)"): ("agreement Contoso - Managed 365 is inactive; agreement Contoso - "
                                                 f"Old is inactive; {inactive.advice}"),
        (T2, f"Fabrikam: {not_allowed.title}"): f"{NOT_ALLOWED.message}; {not_allowed.advice}",
    }  # unassigned seats are for information, an unmapped license has its own notice
    keys = {n.key for n in notices if n.kind is NoticeKind.FINDING}
    assert keys == {f"finding|{T1}|inactive_agreement", f"finding|{T2}|agreement_type_not_allowed"}
    assert all(n.attention for n in notices if n.kind is NoticeKind.FINDING)


def test_a_finding_about_an_excluded_license_or_in_an_excluded_tenant_raises_nothing():
    in_own_tenant = replace(INACTIVE, tenant_id=T3, message="on our own tenant")  # its every license is excluded
    on_free = replace(INACTIVE, sku_id=FREE, message="Power Automate Free")  # excluded everywhere
    assert finding_notices(compute_notices(inputs(findings={T1: [on_free], T3: [in_own_tenant]}))) == {}
    assert finding_notices(compute_notices(inputs(findings={T1: [on_free]}, exclusions=()))) != {}


def test_a_kind_the_table_does_not_word_yet_is_still_a_notice(monkeypatch):
    monkeypatch.delitem(TEXTS, FindingKind.OTHER_INSTALLATION)
    odd = Finding(kind=FindingKind.OTHER_INSTALLATION, tenant_id=T1, message="installation 7f3a bills A1")
    assert finding_text(odd.kind).attention
    assert finding_notices(compute_notices(inputs(findings={T1: [odd]}))) == {
        (T1, "Contoso: Other installation"): "installation 7f3a bills A1; See the sync's details."}


def test_information_kinds_are_not_attention():
    informative = {NoticeKind.UNASSIGNED_SEATS, NoticeKind.TENANT_NOT_ADDED, NoticeKind.COMMITMENT_ENDING,
                   NoticeKind.CANCELLATION_CLOSING, NoticeKind.GDAP}
    assert set(NoticeKind) - informative == ATTENTION
    assert notices_module.KIND_LABELS.keys() == set(NoticeKind)


def test_the_notices_are_those_of_the_findings_stored_for_each_tenant(ctx):
    from app.models.records import TenantRecord

    ctx.uow.tenants.add(TenantRecord(tenant_id=T1, name="Contoso"))
    ctx.uow.tenants.add(TenantRecord(tenant_id=T2, name="Fabrikam"))
    ctx.uow.findings.replace({T1: [INACTIVE], T2: [NOT_ALLOWED]}, at=datetime(2026, 3, 10, 6, tzinfo=UTC))
    assert [n.tenant_id for n in ctx.notifications.compute() if n.kind is NoticeKind.FINDING] == [T1, T2]
    ctx.uow.findings.replace({T2: []}, at=datetime(2026, 3, 10, 7, tzinfo=UTC))  # T2 synced again: none found
    assert [n.tenant_id for n in ctx.notifications.compute() if n.kind is NoticeKind.FINDING] == [T1]


# -- beside the rows -----------------------------------------------------------------------------------------


def row(tenant_id: str = T1, sku: str = SPB, **kw) -> LicenseRow:
    return LicenseRow(target=Target(company_id=1, tenant_id=tenant_id, sku_id=sku), tenant_name="Contoso",
                      license=License(sku_id=sku, name="Business Premium", enabled=12, consumed=10), **kw)


def held(tenant_id: str, sku: str, key: str, reason: str) -> HeldRecord:
    key_row = RowKey(tenant_id=tenant_id, sku_id=sku)
    op = Operation(key=key, kind=OpKind.SET_QUANTITY, row=key_row, agreement_id="A1", product_id="P",
                   marker=main_marker(key_row), effective=datetime(2026, 3, 10).date(), quantity=3, before=5)
    return Approvals().hold(op, reason=reason)


def test_each_row_takes_the_findings_of_its_tenant_and_license_with_the_action_that_resolves_them(ctx):
    mapped = row(mapping=None)
    other_tenant, excluded = row(T2), row(sku="sku-exo", excluded=True)
    waiting = [held(T1, SPB, "k1", "decreases wait for approval"), held(T1, SPB, "k2", "decreases wait for approval"),
               held(T2, SPB, "k3", "over the cap")]
    found = with_findings([mapped, other_tenant, excluded],
                          [INACTIVE, UNASSIGNED, replace(ALSO_INACTIVE, tenant_id=T1), NOT_ALLOWED], waiting)
    first, second, third = found
    assert [(f.title, f.message, f.action) for f in first.findings] == [
        (TEXTS[FindingKind.INACTIVE_AGREEMENT].title, INACTIVE.message, FindingAction.MAP),
        ("2 changes waiting for approval", "decreases wait for approval", FindingAction.APPROVALS)]
    assert [(f.title, f.action) for f in second.findings] == [
        (TEXTS[FindingKind.AGREEMENT_TYPE_NOT_ALLOWED].title, FindingAction.MAP),
        ("Change waiting for approval", FindingAction.APPROVALS)]
    assert third.findings == ()  # excluded: raises nothing
    assert INACTIVE.message in first.findings[0].text() and TEXTS[FindingKind.INACTIVE_AGREEMENT].advice in \
        first.findings[0].text()


def test_a_finding_naming_another_agreement_than_the_rows_is_not_the_rows():
    mapped = row(mapping=Mapping(tenant_id=T1, sku_id=SPB, profile=profile(), agreement_id="A9"))
    assert with_findings([mapped], [INACTIVE], [])[0].findings == ()
    assert len(with_findings([mapped], [replace(INACTIVE, agreement_id="A9")], [])[0].findings) == 1


def test_a_company_needs_attention_for_what_its_attention_notices_say():
    base = CompanyRow(id=1, psa_id="1", connection_id=1, name="Contoso")
    assert base.attention == 0
    assert replace(base, access=1).attention == 1
    assert replace(base, findings=attention_findings([INACTIVE, ALSO_INACTIVE, UNASSIGNED, UNMAPPED])).attention == 1


def test_the_list_and_the_notices_name_the_same_companies(ctx):
    realistic_world(Seed(ctx))
    names = {c.id: c.name for c in ctx.uow.companies.all()}
    tenant_of = {names[link.company_id]: link.tenant_id for link in ctx.uow.tenants.all_links()}
    ctx.uow.tenants.set_consents({tenant_of["Fabrikam Legal"]: ConsentStatus.MISSING})
    ctx.uow.findings.replace({tenant_of["Relecloud"]: [replace(NOT_ALLOWED, tenant_id=tenant_of["Relecloud"])]},
                             at=datetime.now(UTC))
    notices = ctx.notifications.compute()
    rows = ctx.companies.company_rows()
    # Changes waiting for approval are one notice for every tenant: each tenant with one is what it counts.
    named = {n.tenant_id for n in notices if n.attention} | {h.tenant_id for h in Approvals().held(HeldStatus.HELD)}
    expected = {name for name, tenant in tenant_of.items() if tenant in named}
    # A write the PSA refused before the runs kept each tenant's outcome is said by the company's last sync
    # (History) and by no notice: the one company the two tell apart.
    assert {r.name for r in rows if r.attention} - {"Humongous Insurance"} == expected
    assert {"Fabrikam Legal", "Relecloud"} <= expected
    assert {r.name for r in rows if r.access} == {"Fabrikam Legal"}
    assert {r.name for r in rows if r.findings} == {"Relecloud"}


def test_the_migrate_badge_counts_the_other_tools_lines_the_latest_syncs_held_rows_for(ctx):
    foreign = Finding(kind=FindingKind.FOREIGN_LINE, tenant_id=T1, sku_id=SPB, agreement_id="A1", line_id="L7",
                      message="line L7 (reference 'Cloudconsole') bills SPB ×5 on this agreement and is not seatsync's")
    at = datetime(2026, 3, 10, 6, tzinfo=UTC)
    ctx.uow.findings.replace({T1: [foreign, replace(foreign, sku_id="sku-2"), replace(foreign, line_id="L8"), INACTIVE],
                              T2: [replace(foreign, tenant_id=T2), replace(foreign, tenant_id=T2, agreement_id="A2")]},
                             at=at)
    assert ctx.migration.holding() == 3  # L7 and L8 on A1 (each once, whoever's row it holds), L7 on A2
    ctx.uow.findings.replace({T1: [], T2: []}, at=at)  # decided: the next syncs found none
    assert ctx.migration.holding() == 0
