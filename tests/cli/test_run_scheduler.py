"""``run-scheduler``: after each scheduled sync, the notices go out as the e-mail digest and the webhook.

The job the command builds (``ScheduledSync``) runs the real sync service over a
database seeded through the repositories, with the in-memory PSA and a stand-in
for the Microsoft read; the digest goes to a local SMTP server and the webhook
to a local receiver over TLS.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from types import SimpleNamespace
from typing import Any

import pytest

from app.billing.operations import FindingKind
from app.billing.types import AgreementStatus, BillingProfile, License, Mapping, TenantInventory
from app.bootstrap import open_context
from app.commands.run_scheduler import ScheduledSync, build_scheduler
from app.models.records import RunTrigger
from app.sandbox.server import SandboxServer, make_tls
from app.services.notify.after_sync import READING_PARTNER_CENTER
from app.services.psa.fake import FakePsa
from app.services.settings import NotificationSettings, SmtpSecurity, WebhookKind
from app.services.sync.findings import TEXTS
from tests.test_notify import Hooks, SmtpServer, smtp  # noqa: F401 - the local SMTP server fixture
from tests.ui.seed import EXCHANGE, SPB, TODAY, Seed, lic

PASSWORD = "smtp-pass-1"
TOKEN = "tok-secret-9"
NEW_EXCHANGE = "Contoso Dental: new license Exchange Online (Plan 1) has no billing profile"


@dataclass
class Microsoft:
    """What the tenant holds in Microsoft now; the sync's read stores it as the real read does."""

    licenses: list[License] = field(default_factory=lambda: [lic(SPB, "Microsoft 365 Business Premium", 10, 10)])


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("scheduler-tls"))


@pytest.fixture
def ctx(data_dir, tls):
    context = open_context(data_dir, ca_file=tls.ca)
    yield context
    context.close()


@pytest.fixture
def billed(ctx):
    """Contoso Dental on the in-memory PSA, Business Premium mapped: nothing needs attention yet."""
    seed = Seed(ctx)
    psa = FakePsa()
    agreement = psa.add_agreement(psa.add_company("Contoso Dental"), name="Contoso - Managed 365",
                                  type_name="Microsoft 365")
    psa.add_product("M365-BP", description="Microsoft 365 Business Premium", price=Decimal("22.00"))
    [company] = ctx.uow.companies.replace(seed.connection_id, psa.list_companies())
    ctx.uow.catalog.replace_agreements(seed.connection_id, psa.list_agreements())
    ctx.uow.catalog.replace_products(seed.connection_id, psa.list_products())
    [product] = ctx.uow.catalog.products(seed.connection_id)
    profile = ctx.uow.profiles.save(seed.connection_id,
                                    BillingProfile(id="", name="M365 BP - Monthly", product=product))
    tenant = seed.tenant(company, "Contoso Dental")
    microsoft = Microsoft()
    seed.snapshot(tenant, microsoft.licenses)
    ctx.uow.mappings.save(Mapping(tenant_id=tenant, sku_id=SPB, profile=profile, agreement_id=agreement))
    ctx.psas.psa = lambda connection_id: psa  # the in-memory PSA stands in for the real one
    return SimpleNamespace(tenant=tenant, microsoft=microsoft)


@pytest.fixture
def out() -> list[str]:
    return []


@pytest.fixture
def job(ctx, billed, out) -> ScheduledSync:
    def fetch(tenant_id: str, with_users: bool) -> TenantInventory:
        read = TenantInventory(tenant_id=tenant_id, name="Contoso Dental", fetched_at=ctx.now(),
                               licenses=tuple(billed.microsoft.licenses))
        ctx.uow.inventory.save(read)
        return read

    return ScheduledSync(ctx, service=ctx.sync_service(today=lambda: TODAY, fetch_inventory=fetch), out=out.append)


@pytest.fixture
def hooks(tls) -> Iterator[tuple[Hooks, SandboxServer]]:
    receiver = Hooks()
    with SandboxServer(receiver, tls=tls) as server:
        yield receiver, server


def enable(ctx, smtp_server: SmtpServer, hooks_server: SandboxServer, *, password: str = PASSWORD,
           email: bool = True, webhook: bool = True) -> None:
    """Settings > Notifications as a person fills it in: the digest by e-mail and a generic webhook."""
    ctx.settings.set_notifications(NotificationSettings(
        email_enabled=email, smtp_host="127.0.0.1", smtp_port=smtp_server.server_address[1],
        smtp_security=SmtpSecurity.NONE, smtp_username="billing@msp.example", email_from="seatsync@msp.example",
        email_to=("owner@msp.example",), webhook_enabled=webhook, webhook_kind=WebhookKind.GENERIC))
    ctx.settings.set_smtp_password(password)
    ctx.settings.set_webhook_url(f"{hooks_server.url}/hooks/T01/{TOKEN}")


def digest_body(raw: bytes) -> str:
    """The digest's plain-text part (an HTML part goes with it)."""
    return message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()


def test_the_scheduled_sync_mails_the_digest_and_posts_the_webhook(ctx, billed, job, out, smtp, hooks, caplog):  # noqa: F811
    receiver, server = hooks
    enable(ctx, smtp, server)
    billed.microsoft.licenses.append(lic(EXCHANGE, "Exchange Online (Plan 1)", 4, 4))
    with caplog.at_level(logging.INFO):  # the level run-scheduler logs at
        summary = job("*", trigger=RunTrigger.SCHEDULE)
    assert ctx.uow.runs.get(summary.run_id).trigger == "schedule"
    [raw] = smtp.messages
    body = digest_body(raw)
    assert message_from_bytes(raw)["Subject"] == "seatsync: 1 notice(s)"
    assert "Licenses without a billing profile (new SKUs too) (1)" in body
    assert f"  - {NEW_EXCHANGE}: 4 of 4 seats assigned; map it or exclude it." in body
    assert smtp.logins == [("billing@msp.example", PASSWORD)]
    [(token, payload)] = receiver.received
    assert token == TOKEN
    assert [(n["kind"], n["title"]) for n in payload["notices"]] == [("unmapped_license", NEW_EXCHANGE)]
    assert out[0].startswith("Tenant") and "Contoso Dental" in out[0]  # the run's summary first
    assert out[1:] == ["Notifications (1 notice): e-mail digest sent to 1 recipient(s); Generic webhook posted."]
    for secret in (PASSWORD, TOKEN):
        assert secret not in "\n".join(out) and secret not in caplog.text


def test_with_the_digest_and_webhook_off_nothing_is_sent(ctx, billed, job, out, smtp, hooks):  # noqa: F811
    receiver, server = hooks
    enable(ctx, smtp, server, email=False, webhook=False)
    billed.microsoft.licenses.append(lic(EXCHANGE, "Exchange Online (Plan 1)", 4, 4))
    job("*", trigger=RunTrigger.SCHEDULE)
    assert smtp.messages == [] and smtp.logins == [] and receiver.received == []
    assert out[-1] == ("Notifications: 1 notice; none sent (the e-mail digest and the webhook are off in "
                       "Settings > Notifications).")


def test_nothing_to_say_sends_nothing(ctx, job, out, smtp, hooks):  # noqa: F811
    receiver, server = hooks
    enable(ctx, smtp, server)
    job("*", trigger=RunTrigger.SCHEDULE)
    assert smtp.messages == [] and receiver.received == []
    assert out[-1] == "Notifications: nothing needs attention; no digest sent."


def test_a_sync_now_style_run_sends_nothing(ctx, billed, job, out, smtp, hooks):  # noqa: F811
    receiver, server = hooks
    enable(ctx, smtp, server)
    billed.microsoft.licenses.append(lic(EXCHANGE, "Exchange Online (Plan 1)", 4, 4))
    summary = job("*", trigger=RunTrigger.MANUAL)
    assert ctx.uow.runs.get(summary.run_id).trigger == "manual"
    assert smtp.messages == [] and receiver.received == []
    assert out[-1] == "Notifications: 1 notice; none sent (not a scheduled sync)."


def test_a_finding_is_in_the_digest_and_the_webhook_until_a_sync_no_longer_finds_it(ctx, billed, job, out, smtp,  # noqa: F811
                                                                                       hooks):
    """Contoso Dental mapped to an inactive agreement: each scheduled run's digest and webhook say so (the finding
    stored by the run, also for the next run's digest), until the mapping names an active agreement again."""
    receiver, server = hooks
    enable(ctx, smtp, server)
    psa = ctx.psas.psa(None)
    [company] = psa.list_companies()
    inactive = psa.add_agreement(company.id, name="Contoso - Old 365", type_name="Microsoft 365",
                                 status=AgreementStatus.INACTIVE)
    [connection] = ctx.uow.psa_connections.all()
    ctx.uow.catalog.replace_agreements(connection.id, psa.list_agreements())
    [mapping] = ctx.uow.mappings.for_tenant(billed.tenant)
    ctx.uow.mappings.save(replace(mapping, agreement_id=inactive))
    title = f"Contoso Dental: {TEXTS[FindingKind.INACTIVE_AGREEMENT].title}"

    job("*", trigger=RunTrigger.SCHEDULE)
    job("*", trigger=RunTrigger.SCHEDULE)
    for raw in smtp.messages:
        assert f"  - {title}: agreement Contoso - Old 365 is inactive" in digest_body(raw)
    assert [[(n["kind"], n["title"]) for n in payload["notices"]] for _, payload in receiver.received] == [
        [("finding", title)]] * 2
    assert out[-1] == "Notifications (1 notice): e-mail digest sent to 1 recipient(s); Generic webhook posted."

    ctx.uow.mappings.save(replace(mapping, agreement_id=psa.list_agreements()[0].id))
    job("*", trigger=RunTrigger.SCHEDULE)
    assert len(smtp.messages) == len(receiver.received) == 2
    assert out[-1] == "Notifications: nothing needs attention; no digest sent."


class Finished:
    """The scheduler's ``on_finished``: each run's (target, summary, error), waited for without sleeping."""

    def __init__(self) -> None:
        self.runs: queue.Queue[tuple[str, Any, BaseException | None]] = queue.Queue()

    def __call__(self, target: str, result: Any, error: BaseException | None) -> None:
        self.runs.put((target, result, error))

    def next(self) -> tuple[str, Any, BaseException | None]:
        return self.runs.get(timeout=30)


def test_an_smtp_failure_is_reported_and_the_next_run_still_happens(ctx, billed, job, out, smtp, hooks, caplog):  # noqa: F811
    receiver, server = hooks
    enable(ctx, smtp, server, password="wrong-pass-XYZ")
    billed.microsoft.licenses.append(lic(EXCHANGE, "Exchange Online (Plan 1)", 4, 4))
    finished = Finished()
    scheduler = build_scheduler(ctx, job, on_finished=finished)
    try:
        assert scheduler.sync_now("*", scheduled=True)
        target, first, error = finished.next()
        assert (target, error) == ("*", None) and first.run_id is not None
        port = smtp.server_address[1]
        assert out[-1] == (f"Notifications (1 notice): e-mail digest NOT sent: seatsync could not send a "
                           f"notification: (the SMTP server 127.0.0.1:{port} refused the user name or password; "
                           "check them in Settings > Notifications); Generic webhook posted.")
        assert smtp.messages == [] and len(receiver.received) == 1  # one channel failing never stops another
        assert "wrong-pass-XYZ" not in "\n".join(out) and "wrong-pass-XYZ" not in caplog.text

        ctx.settings.set_smtp_password(PASSWORD)
        assert scheduler.sync_now("*", scheduled=True)
        _, second, error = finished.next()
        assert error is None and second.run_id != first.run_id
    finally:
        scheduler.shutdown(wait=True)
    [raw] = smtp.messages  # the second run's digest: the license is no longer new, still unmapped
    assert "  - Contoso Dental: Exchange Online (Plan 1) has no billing profile: 4 of 4" in digest_body(raw)
    assert out[-1] == "Notifications (1 notice): e-mail digest sent to 1 recipient(s); Generic webhook posted."


def test_a_run_missed_while_stopped_runs_at_start_and_sends_the_digest(ctx, billed, job, out, smtp, hooks):  # noqa: F811
    receiver, server = hooks
    enable(ctx, smtp, server, webhook=False)
    ctx.settings.set_sync_time(time(6, 0))
    billed.microsoft.licenses.append(lic(EXCHANGE, "Exchange Online (Plan 1)", 4, 4))
    nine = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # 06:00 passed, no scheduled run yet
    finished = Finished()
    scheduler = build_scheduler(ctx, job, now=lambda: nine, on_finished=finished)
    assert scheduler.missed_run()
    try:
        scheduler.start()
        _, summary, error = finished.next()
    finally:
        scheduler.shutdown(wait=True)
    assert error is None and ctx.uow.runs.get(summary.run_id).trigger == "schedule"
    [raw] = smtp.messages
    assert NEW_EXCHANGE in digest_body(raw) and receiver.received == []
    assert out[-1] == "Notifications (1 notice): e-mail digest sent to 1 recipient(s)."


def test_partner_center_customers_not_added_are_in_the_digest_and_a_failure_to_read_them_too(
        ctx, job, out, smtp, hooks, tls):  # noqa: F811
    from app.sandbox.microsoft import MicrosoftSandbox, generate
    from app.services.connections.admin import MicrosoftDraft

    _, server = hooks
    enable(ctx, smtp, server, webhook=False)
    scenario = generate(3, seed=11)
    with SandboxServer(MicrosoftSandbox(scenario), tls=tls) as microsoft:
        ctx.admin.save_microsoft(MicrosoftDraft(
            client_id=scenario.client_id, partner_tenant_id=scenario.partner_tenant_id,
            client_secret=scenario.client_secret, authority_url=microsoft.url, graph_url=microsoft.url,
            partner_center_url=microsoft.url))
        job("*", trigger=RunTrigger.SCHEDULE)
        scenario.secret_expired = True
        ctx.microsoft.forget()
        job("*", trigger=RunTrigger.SCHEDULE)
        ctx.microsoft.forget()
    first, second = (digest_body(raw).replace("\r\n", "\n") for raw in smtp.messages)
    assert "Partner Center customers not added (3)" in first
    assert "is in Partner Center but not in seatsync" in first
    assert "Partner Center customers not added" not in second
    assert f"Consent or credential failures (1)\n  - A connection failed: {READING_PARTNER_CENTER}: " in second
    assert scenario.client_secret not in second and scenario.client_secret not in "\n".join(out)


def test_without_a_recorded_run_the_window_at_start_computes_but_sends_nothing(ctx, billed, smtp, hooks):  # noqa: F811
    _, server = hooks
    enable(ctx, smtp, server)
    billed.microsoft.licenses.append(lic(EXCHANGE, "Exchange Online (Plan 1)", 4, 4))
    ctx.uow.inventory.save(TenantInventory(tenant_id=billed.tenant, name="Contoso Dental", fetched_at=ctx.now(),
                                       licenses=tuple(billed.microsoft.licenses)))
    done = ctx.after_sync.notices_after_sync()
    assert [n.title for n in done.notices] == [NEW_EXCHANGE] and done.delivery is None
    assert smtp.messages == []


def test_an_unexpected_failure_of_the_notices_is_reported_and_the_job_still_returns(ctx, billed, job, out, smtp,  # noqa: F811
                                                                                     hooks, monkeypatch):
    _, server = hooks
    enable(ctx, smtp, server)

    def broken(self, **kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr("app.services.notify.notices.NotificationService.compute", broken)
    summary = job("*", trigger=RunTrigger.SCHEDULE)
    assert summary.run_id is not None and smtp.messages == []
    assert out[-1] == "Notifications: none sent (unexpected RuntimeError; see the log)."


def test_each_run_tells_the_team_how_it_went_and_when_the_next_is(ctx, billed, out, tmp_path):
    from app.services.team.health import RunnerHealth, runner_line

    upcoming = ctx.now() + timedelta(days=1)
    health = RunnerHealth(ctx.uow, data_dir=tmp_path, now=ctx.now, next_run=lambda: upcoming)
    health.beat()
    with ctx.uow:
        (started,) = ctx.uow.runners.all()
    assert (started.last_run_at, started.last_status, started.next_run_at) == (None, "", upcoming)
    assert "no sync yet" in runner_line([started], ctx.now())

    def fetch(tenant_id: str, with_users: bool) -> TenantInventory:
        return TenantInventory(tenant_id=tenant_id, name="Contoso Dental", fetched_at=ctx.now(),
                               licenses=tuple(billed.microsoft.licenses))

    job = ScheduledSync(ctx, service=ctx.sync_service(today=lambda: TODAY, fetch_inventory=fetch), out=out.append,
                        health=health)
    job("*", trigger="schedule")
    with ctx.uow:
        (ran,) = ctx.uow.runners.all()
    assert (ran.last_status, ran.last_summary, ran.next_run_at) == ("succeeded", "2 change(s) written", upcoming)
    assert ran.last_run_at is not None and ran.host == health.host
    assert ", OK; next " in runner_line([ran], ctx.now())
