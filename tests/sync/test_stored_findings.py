"""A sync's findings are kept per tenant: after a restart the notice and the finding beside the row are still
there, through other tenants' syncs, a failed sync of the tenant and a dry run, until that tenant's next sync no
longer finds them."""

from __future__ import annotations

from dataclasses import replace

from app.billing.operations import FindingKind
from app.billing.types import AgreementStatus
from app.bootstrap import open_context
from app.services.notify.notices import NoticeKind
from app.services.sync.findings import TEXTS
from tests.sync.psa_shop import Shop, open_shop
from tests.sync.test_tenant_outcomes import NAMES, Clock
from tests.ui.seed import TODAY

INACTIVE = TEXTS[FindingKind.INACTIVE_AGREEMENT]
SAID = "agreement Contoso - Old 365 is inactive"


def on_an_inactive_agreement(shop: Shop) -> str:
    """Contoso Dental's license mapped to an inactive agreement of its company; its active agreement's id."""
    context, psa = shop.context, shop.psa
    [company] = [c for c in psa.list_companies() if c.name == "Contoso Dental"]
    inactive = psa.add_agreement(company.id, name="Contoso - Old 365", type_name="Microsoft 365",
                                 status=AgreementStatus.INACTIVE)
    [connection] = context.uow.psa_connections.all()
    context.uow.catalog.replace_agreements(connection.id, psa.list_agreements())
    [mapping] = context.uow.mappings.for_tenant(shop.tenants["Contoso Dental"])
    context.uow.mappings.save(replace(mapping, agreement_id=inactive))
    return mapping.agreement_id


def shown(context, shop: Shop) -> dict[str, object]:
    """What a person sees of findings: the notices (title -> message), the Companies list's finding counts, and
    the findings beside Contoso Dental's license row."""
    ids = {c.name: c.id for c in context.uow.companies.all()}
    [row] = context.companies.company(ids["Contoso Dental"]).licenses
    return {"notices": {n.title: n.message for n in context.notifications.compute(today=TODAY)
                        if n.kind is NoticeKind.FINDING},
            "list": {r.name: r.findings for r in context.companies.company_rows() if r.findings},
            "row": [(f.title, f.message) for f in row.findings]}


FOUND = {"notices": {f"Contoso Dental: {INACTIVE.title}": f"{SAID}; {INACTIVE.advice}"},
         "list": {"Contoso Dental": 1}, "row": [(INACTIVE.title, SAID)]}
NONE: dict[str, object] = {"notices": {}, "list": {}, "row": []}


def test_findings_outlive_a_restart_and_go_with_that_tenants_next_sync_that_no_longer_finds_them(data_dir):
    context = open_context(data_dir)
    try:
        shop = open_shop(context, NAMES)
        context.now = Clock()
        active = on_an_inactive_agreement(shop)
        summary = shop.service().sync(actor="test")
        assert [f.message for r in summary.results for f in r.findings] == [SAID]
        assert shown(context, shop) == FOUND
    finally:
        context.close()

    context = open_context(data_dir)  # a restart: nothing of the first session is left but the database
    try:
        shop.context = context
        context.psas.psa = lambda connection_id: shop.psa
        context.now = Clock()
        assert shown(context, shop) == FOUND
        ids = {c.name: c.id for c in context.uow.companies.all()}

        shop.service().sync(ids["Fabrikam"], actor="test")  # another tenant's sync
        assert shown(context, shop) == FOUND
        shop.refuse("Contoso Dental", "AADSTS700016")  # failed before planning: the cause may stand
        assert shop.service().sync(ids["Contoso Dental"], actor="test").failed
        assert shown(context, shop) == FOUND

        shop.refused.clear()
        [mapping] = context.uow.mappings.for_tenant(shop.tenants["Contoso Dental"])
        context.uow.mappings.save(replace(mapping, agreement_id=active))  # fixed as the finding says
        shop.service().plan(ids["Contoso Dental"], actor="test")  # a dry run stores nothing
        # The row maps to another agreement now: the finding about the old one is no longer the row's.
        assert shown(context, shop) == {**FOUND, "row": []}

        shop.service().sync(ids["Contoso Dental"], actor="test")
        assert shown(context, shop) == NONE
    finally:
        context.close()


def test_a_partial_read_is_kept_though_the_tenant_failed(data_dir):
    """A tenant failed on a finding (the PSA's answer lacked a line seatsync wrote) has it stored."""
    context = open_context(data_dir)
    try:
        shop = open_shop(context, NAMES)
        context.now = Clock()
        shop.service().sync(actor="test")  # lines written, so a later read can lack them
        shop.psa.cut_next_read()
        summary = shop.service().sync(actor="test")
        [failed] = summary.failed
        kinds = {f.kind for f in failed.findings}
        assert FindingKind.PARTIAL_READ in kinds
        stored = context.uow.findings.latest()
        assert {f.kind for f in stored[failed.tenant_id]} == kinds and len(stored) == 1
    finally:
        context.close()
