"""Each finished run stores every tenant's outcome, so the Companies list tells which company failed, also after
a restart and for a run the window never saw; a tenant the run did not sync keeps its previous outcome."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from app.bootstrap import open_context
from app.models.records import RunStatus, SyncOutcome
from tests.sync.psa_shop import open_shop

NAMES = ["Adatum", "Contoso Dental", "Fabrikam"]
CONSENT = ("Microsoft sign-in refused: seatsync's app is not found in the customer's tenant (consent was never "
           "granted, or was removed): have its admin grant consent (AADSTS700016)")


class Clock:
    """The context's clock: a minute later at each reading."""

    def __init__(self) -> None:
        self.at = datetime(2026, 11, 16, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.at += timedelta(minutes=1)
        return self.at


def last_syncs(context) -> dict[str, tuple[str, str]]:
    """Company name -> (status, detail) of its last sync, as a fresh Companies service lists it."""
    return {row.name: (row.last_sync.status, row.last_sync.detail)
            for row in context.companies.company_rows()}


def test_one_failed_tenant_of_three_marks_only_its_company_failed_also_after_a_restart(data_dir):
    context = open_context(data_dir)
    try:
        shop = open_shop(context, NAMES)
        context.now = Clock()
        shop.refuse("Contoso Dental", "AADSTS700016")
        summary = shop.service().sync(actor="test")
        run = context.uow.runs.get(summary.run_id)
        assert run.status is RunStatus.PARTIAL
        writes = {r.company: r.writes for r in summary.results}
        assert writes["Adatum"] == writes["Fabrikam"] == 2
        expected = {"Adatum": ("ok", "2 change(s) written"), "Contoso Dental": ("failed", CONSENT),
                    "Fabrikam": ("ok", "2 change(s) written")}
        assert last_syncs(context) == expected
        stored = context.uow.sync_outcomes.latest()
        assert {stored[t].status for t in shop.tenants.values()} == {SyncOutcome.OK, SyncOutcome.FAILED}
        assert {o.finished_at for o in stored.values()} == {run.finished_at}
        assert {o.sync_run_id for o in stored.values()} == {run.id}
    finally:
        context.close()

    context = open_context(data_dir)  # a restart: nothing of the first session is left but the database
    try:
        assert last_syncs(context) == expected
        [row] = [r for r in context.companies.company_rows() if r.name == "Contoso Dental"]
        assert row.failed and row.last_sync.at == run.finished_at
    finally:
        context.close()


def test_a_cancelled_tenant_keeps_its_previous_outcome(data_dir):
    context = open_context(data_dir)
    try:
        shop = open_shop(context, NAMES)
        context.now = Clock()
        shop.refuse("Contoso Dental", "AADSTS700016")
        first = shop.service(workers=1).sync(actor="test")
        shop.refused.clear()
        cancel = threading.Event()
        shop.on_read = lambda tenant_id: cancel.set()  # Cancel pressed while the first company is read
        second = shop.service(workers=1).sync(actor="test", cancel=cancel)
        assert [r.company for r in second.not_synced] == ["Contoso Dental", "Fabrikam"]

        stored = context.uow.sync_outcomes.latest()
        runs = {name: stored[tenant].sync_run_id for name, tenant in shop.tenants.items()}
        assert runs == {"Adatum": second.run_id, "Contoso Dental": first.run_id, "Fabrikam": first.run_id}
        fabrikam = stored[shop.tenants["Fabrikam"]]
        first_finished = context.uow.runs.get(first.run_id).finished_at
        assert (fabrikam.status, fabrikam.finished_at) == (SyncOutcome.OK, first_finished)
        assert last_syncs(context) == {"Adatum": ("ok", "0 change(s) written"), "Contoso Dental": ("failed", CONSENT),
                                       "Fabrikam": ("ok", "2 change(s) written")}
    finally:
        context.close()


def test_a_tenant_never_synced_says_why_until_a_run_syncs_it(data_dir):
    context = open_context(data_dir)
    try:
        shop = open_shop(context, NAMES)
        context.now = Clock()
        cancel = threading.Event()
        shop.on_read = lambda tenant_id: cancel.set()
        shop.service(workers=1).sync(actor="test", cancel=cancel)
        assert last_syncs(context) == {"Adatum": ("ok", "2 change(s) written"),
                                       "Contoso Dental": ("never", "not synced: cancelled"),
                                       "Fabrikam": ("never", "not synced: cancelled")}

        shop.on_read = lambda tenant_id: None
        shop.service().sync(actor="test")
        assert {status for status, _ in last_syncs(context).values()} == {"ok"}
    finally:
        context.close()


def test_a_dry_run_stores_no_outcome(data_dir):
    context = open_context(data_dir)
    try:
        shop = open_shop(context, NAMES)
        shop.refuse("Contoso Dental", "AADSTS700016")
        shop.service().plan(actor="test")
        assert context.uow.sync_outcomes.latest() == {}
    finally:
        context.close()


def test_each_sync_says_what_it_learnt_of_microsoft_access_and_a_lost_consent_is_a_notice(data_dir):
    from app.models.records import ConsentStatus
    from app.services.notify.notices import NoticeKind
    from tests.ui.seed import TODAY

    context = open_context(data_dir)
    try:
        shop = open_shop(context, NAMES)
        context.now = Clock()
        shop.refuse("Contoso Dental", "AADSTS700016")
        shop.refuse("Fabrikam", "AADSTS7000222")  # the partner's own secret: says nothing of the tenant
        names = {shop.tenants[n]: n for n in NAMES}

        def consent() -> dict[str, ConsentStatus]:
            return {names[t.tenant_id]: t.consent_status for t in context.uow.tenants.all()}

        for name in NAMES:
            context.uow.tenants.set_consent(shop.tenants[name], ConsentStatus.UNKNOWN)
        shop.service().sync(actor="test")
        assert consent() == {"Adatum": ConsentStatus.GRANTED, "Contoso Dental": ConsentStatus.MISSING,
                             "Fabrikam": ConsentStatus.UNKNOWN}
        access = [n for n in context.notifications.compute(today=TODAY) if n.kind is NoticeKind.ACCESS_FAILED]
        assert [(names[n.tenant_id], "Microsoft access missing" in n.title) for n in access] == [
            ("Contoso Dental", True)]

        shop.refused.clear()  # the customer's admin granted consent; Adatum's GDAP relationship ended
        shop.refuse("Adatum", "GDAP")
        shop.service().sync(actor="test")
        assert consent() == {"Adatum": ConsentStatus.EXPIRED, "Contoso Dental": ConsentStatus.GRANTED,
                             "Fabrikam": ConsentStatus.GRANTED}
        access = [n for n in context.notifications.compute(today=TODAY) if n.kind is NoticeKind.ACCESS_FAILED]
        assert [names[n.tenant_id] for n in access] == ["Adatum"]
    finally:
        context.close()
