"""A sync stops honestly: when cancelled (between tenants, never in the middle of one), and when the PSA is
clearly down (no further call to it, said once, never tripped by Microsoft refusing a tenant)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from app.billing.types import RowKey
from app.bootstrap import open_context
from app.models.records import RunStatus
from app.services.notify.notices import NoticeKind
from app.services.psa.port import PsaUnavailable
from app.services.sync.engine import CANCELLED, PsaBreaker, Status, SyncEngine, run_many
from tests.sync.psa_shop import REFUSALS, open_shop
from tests.ui.seed import SPB, TODAY

DOWN = "GET /procurement/products: no connection within 3.05 s"
LINES_DOWN = "GET /finance/agreements/additions: no answer within 30 s"


def guarded(world, breaker: PsaBreaker, fetch=None) -> SyncEngine:
    return SyncEngine(psa=breaker.guard(world.psa), fetch_inventory=fetch or world.microsoft, store=world.store,
                      today=lambda: world.today[0])


def tenants(world, count: int) -> list[str]:
    return [world.tenant(f"t{n}") for n in range(1, count + 1)]


# -- cancel -------------------------------------------------------------------------------------------------


def test_a_cancel_asked_during_a_tenants_writes_lets_it_finish_and_starts_no_other(world):
    ids = tenants(world, 4)
    cancel = threading.Event()
    create_line = world.psa.create_line
    calls_at_cancel = []

    def cancel_while_writing(line):  # a person presses Cancel while the first tenant writes its lines
        if not cancel.is_set():
            cancel.set()
            calls_at_cancel.append(len(world.psa.calls))
        return create_line(line)

    world.psa.create_line = cancel_while_writing
    results = run_many(world.engine(), ids, workers=1, cancel=cancel)
    first, *others = results
    assert (first.status, first.writes) == (Status.OK, 2)  # both its lines, as without a cancel
    assert len(world.owned()) == 2
    assert [(r.status, r.not_synced, r.error) for r in others] == [
        (Status.FAILED, CANCELLED, "not synced: cancelled")] * 3
    assert world.microsoft.reads == 1
    # After the cancel: the rest of the first tenant (its second line, the read back), nothing for the others.
    assert {subject for _, subject in world.psa.calls[calls_at_cancel[0]:]} == {world.agreement}
    assert len(world.journal_states()) == 2


def test_a_cancelled_run_is_recorded_as_cancelled_with_what_was_not_synced(data_dir):
    context = open_context(data_dir)
    try:
        shop = open_shop(context, ["Adatum", "Contoso Dental", "Fabrikam"])
        cancel = threading.Event()
        shop.on_read = lambda tenant_id: cancel.set()  # Cancel pressed while the first company is read
        summary = shop.service(workers=1).sync(actor="test", cancel=cancel)
        assert [(r.company, r.status, r.not_synced) for r in summary.results] == [
            ("Adatum", Status.OK, ""), ("Contoso Dental", Status.FAILED, CANCELLED),
            ("Fabrikam", Status.FAILED, CANCELLED)]
        assert summary.cancelled and summary.own_failures == ()
        assert summary.problems() == ["the sync was cancelled: 2 companies not synced"]
        run = context.uow.runs.get(summary.run_id)
        assert (run.status, run.error, run.tenants_synced) == (
            RunStatus.CANCELLED, "the sync was cancelled: 2 companies not synced", 1)
        adatum = shop.psa.list_agreements()[0].id
        assert len(shop.psa.list_lines(adatum)) == summary.results[0].writes == 2  # Adatum billed, all of it
        notices = context.notifications.compute(today=TODAY)
        assert not [n for n in notices if n.kind is NoticeKind.SYNC_FAILED]  # a person cancelled it
    finally:
        context.close()


# -- the breaker ----------------------------------------------------------------------------------------


def test_three_tenants_in_a_row_finding_the_psa_down_stop_every_call_to_it(world):
    ids = tenants(world, 8)
    for read in ("list_products", "list_agreements", "list_lines"):
        world.psa.fail_next(read, PsaUnavailable(f"({DOWN})"), times=100)
    breaker = PsaBreaker("ConnectWise PSA")
    before = len(world.psa.calls)
    results = run_many(guarded(world, breaker), ids, workers=1, breaker=breaker)
    tried, skipped = results[:3], results[3:]
    assert [(r.status, r.psa_down, r.not_synced) for r in tried] == [(Status.FAILED, DOWN, "")] * 3
    says = f"ConnectWise PSA is not answering ({DOWN})"
    assert breaker.open and breaker.not_answering == says
    assert [(r.status, r.not_synced, r.error) for r in skipped] == [(Status.FAILED, says, f"not synced: {says}")] * 5
    # Each tenant asks for the catalog (both halves at once): none after the third, the breaker opened.
    assert Counter(world.psa.calls[before:]) == {("list_products", ""): 3, ("list_agreements", ""): 3}
    assert world.microsoft.reads == 3  # read beside the PSA by the three tenants tried, no more


def test_only_tenants_in_a_row_count_and_a_microsoft_refusal_is_not_the_psa_being_down(world):
    """t1, t2: the PSA does not answer; t3: Microsoft refuses the tenant (consent); t4, t5: the PSA again.
    Never three in a row: every tenant is tried."""
    ids = tenants(world, 6)
    world.engine().sync("t6")  # the catalog is read; from here each tenant's own lines are read
    down = {"t1", "t2", "t4", "t5"}

    def fetch(tenant_id: str, with_users: bool):
        if tenant_id == "t3":
            raise REFUSALS["AADSTS700016"](tenant_id)
        if tenant_id in down:  # the tenant's lines read comes next: the PSA does not answer it
            world.psa.fail_next("list_lines", PsaUnavailable(f"({LINES_DOWN})"))
        return world.microsoft(tenant_id, with_users)

    breaker = PsaBreaker("ConnectWise PSA")
    results = run_many(guarded(world, breaker, fetch), ids[:5], workers=1, breaker=breaker)
    assert [(r.tenant_id, r.status, r.psa_down, r.not_synced) for r in results] == [
        ("t1", Status.FAILED, LINES_DOWN, ""), ("t2", Status.FAILED, LINES_DOWN, ""), ("t3", Status.FAILED, "", ""),
        ("t4", Status.FAILED, LINES_DOWN, ""), ("t5", Status.FAILED, LINES_DOWN, "")]
    assert "AADSTS700016" in results[2].error
    assert not breaker.open


def test_a_tenant_the_psa_answers_clears_the_count(world):
    ids = tenants(world, 7)
    world.psa.fail_next("list_products", PsaUnavailable(f"({DOWN})"), times=2)  # t1, t2; t3 is answered
    down = {"t4", "t5", "t6"}

    def fetch(tenant_id: str, with_users: bool):
        if tenant_id in down:
            world.psa.fail_next("list_lines", PsaUnavailable(f"({LINES_DOWN})"))
        return world.microsoft(tenant_id, with_users)

    breaker = PsaBreaker("ConnectWise PSA")
    results = run_many(guarded(world, breaker, fetch), ids, workers=1, breaker=breaker)
    assert [r.status for r in results[:6]] == [Status.FAILED, Status.FAILED, Status.OK, *[Status.FAILED] * 3]
    assert [r.psa_down for r in results[3:6]] == [LINES_DOWN] * 3  # t4 was tried: t3 cleared t1 and t2
    assert results[6].not_synced == f"ConnectWise PSA is not answering ({LINES_DOWN})"


@pytest.mark.parametrize("workers", [1, 4])
def test_the_psa_down_is_said_once_in_the_run_its_record_and_its_notice(data_dir, workers):
    context = open_context(data_dir)
    try:
        shop = open_shop(context, ["Adatum", "Contoso Dental", "Fabrikam", "Litware", "Northwind", "Tailspin"])
        shop.psa.fail_next("list_products", PsaUnavailable(f"({DOWN})"), times=100)
        before = len(shop.psa.calls)
        summary = shop.service(workers=workers).sync(actor="test")
        says = f"ConnectWise PSA is not answering ({DOWN})"
        [(reason, group)] = summary.stops
        assert reason == says and len(group) == 6 and summary.own_failures == ()
        assert summary.problems() == [f"{says}: 6 companies not synced"]
        asked = Counter(call for call, _ in shop.psa.calls[before:])
        # In parallel, a tenant may start while the first failures are still ending: until the third has ended,
        # at most two tenants have ended and ``workers`` are running, so no more than workers + 2 ask.
        tried = asked["list_products"]
        assert tried == 3 if workers == 1 else 3 <= tried <= workers + 2
        # what the tenants tried read beside the products (their agreements' lines, Microsoft), and no more
        assert set(asked) == {"list_products", "list_agreements", "list_lines_of", "list_lines"}
        assert asked["list_agreements"] == 1  # the catalog is read once a run
        # Microsoft is read beside the PSA: by each tenant tried, and by those a call refused before it was sent
        assert len(shop.reads) == tried if workers == 1 else tried <= len(shop.reads) <= workers + 2
        run = context.uow.runs.get(summary.run_id)
        assert (run.status, run.error) == (RunStatus.FAILED, f"{says}: 6 companies not synced")
        [notice] = [n for n in context.notifications.compute(today=TODAY) if n.kind is NoticeKind.SYNC_FAILED]
        assert notice.message == f"{says}: 6 companies not synced"
        assert notice.title.endswith("failed for all 6 companies")
    finally:
        context.close()


def test_microsoft_refusals_are_put_in_words_in_the_run_history(data_dir):
    context = open_context(data_dir)
    try:
        shop = open_shop(context, ["Adatum", "Contoso Dental", "Fabrikam"])
        shop.refuse("Contoso Dental", "AADSTS700016")
        shop.refuse("Fabrikam", "AADSTS7000222")
        summary = shop.service().sync(actor="test")
        assert summary.stops == () and [r.company for r in summary.own_failures] == ["Contoso Dental", "Fabrikam"]
        run = context.uow.runs.get(summary.run_id)
        assert run.status is RunStatus.PARTIAL
        assert run.error == (
            "Contoso Dental: Microsoft sign-in refused: seatsync's app is not found in the customer's tenant "
            "(consent was never granted, or was removed): have its admin grant consent (AADSTS700016); "
            "Fabrikam: Microsoft sign-in refused: the Microsoft app's client secret has expired: create a new one "
            "in Entra ID and enter it in Settings (AADSTS7000222)")
        # each failed tenant says why, and keeps saying it until that tenant syncs; the run adds nothing to them
        notices = [n for n in context.notifications.compute(today=TODAY) if n.kind is NoticeKind.SYNC_FAILED]
        assert [(n.title.split(":")[0], n.message) for n in notices] == [
            ("Contoso Dental", "Microsoft sign-in refused: seatsync's app is not found in the customer's tenant "
                               "(consent was never granted, or was removed): have its admin grant consent "
                               "(AADSTS700016)"),
            ("Fabrikam", "Microsoft sign-in refused: the Microsoft app's client secret has expired: create a new "
                         "one in Entra ID and enter it in Settings (AADSTS7000222)")]
        assert all(n.title.endswith(" failed") for n in notices)
    finally:
        context.close()


def test_a_scheduled_sync_has_nothing_to_do_on_an_empty_installation(data_dir):
    context = open_context(data_dir)
    try:

        assert not context.sync.ready()  # no PSA connection
        shop = open_shop(context, ["Adatum"])
        assert shop.service().ready()
        tenant = shop.tenants["Adatum"]
        [link] = context.uow.tenants.links_of_tenant(tenant)
        context.uow.tenants.unlink(tenant, link.company_id)
        assert not shop.service().ready()  # mapped, but billed to no company
        context.uow.tenants.link(tenant, link.company_id)
        assert shop.service().ready()
        context.uow.mappings.delete(RowKey(tenant_id=tenant, sku_id=SPB))
        assert not shop.service().ready()  # a company, but nothing mapped to bill
    finally:
        context.close()


def test_an_unknown_sign_in_code_is_still_named():
    from app.services.microsoft.signin_codes import in_words

    assert in_words("(tenant x: AADSTS50076: Due to a configuration change ...)") == (
        "Microsoft sign-in refused (AADSTS50076)")
    assert in_words("the PSA refused the API keys") == "the PSA refused the API keys"
    assert in_words("AADSTS65001: The user or administrator has not consented") == (
        "Microsoft sign-in refused: consent or a permission is missing in the customer's tenant: have its admin "
        "grant consent to seatsync's app (AADSTS65001)")
