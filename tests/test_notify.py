"""Notifications: what is computed from stored data, and delivery to the tray, by e-mail and by webhook."""

from __future__ import annotations

import base64
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy

import pytest

from app.billing.operations import Operation, OpKind
from app.billing.types import (
    BillingProfile,
    Exclusion,
    License,
    Product,
    RowKey,
    Subscription,
    TenantInventory,
    Term,
)
from app.models.records import (
    ConsentStatus,
    RunStatus,
    SyncOutcome,
    SyncOutcomeRecord,
    SyncRunRecord,
    TenantRecord,
)
from app.models.repositories import Approvals
from app.sandbox.server import Request, Response, SandboxApp, SandboxServer, make_tls
from app.services.microsoft.wire import Customer
from app.services.notify.delivery import Notifier
from app.services.notify.notices import Notice, NoticeInputs, NoticeKind, NotifyError, compute_notices, new_notices
from app.services.settings import NotificationSettings, SmtpSecurity, WebhookKind

TODAY = date(2026, 3, 10)
T1, T2, T3 = "tenant-1", "tenant-2", "tenant-3"
SPB, EXO, FREE = "sku-spb", "sku-exo", "sku-free"


def tenant(tenant_id: str, name: str, consent: ConsentStatus = ConsentStatus.GRANTED) -> TenantRecord:
    return TenantRecord(tenant_id=tenant_id, name=name, consent_status=consent)


def profile() -> BillingProfile:
    return BillingProfile(id="1", name="BP", product=Product(id="P1", identifier="M365-BP"))


def inputs(**changes) -> NoticeInputs:  # type: ignore[no-untyped-def]
    annual_ending = Subscription(id="S1", sku_id=SPB, quantity=10, term=Term.YEAR, commitment_end=TODAY + timedelta(20))
    annual_later = Subscription(id="S2", sku_id=SPB, quantity=2, term=Term.YEAR, commitment_end=TODAY + timedelta(200),
                                cancellation_allowed_until=TODAY + timedelta(2))
    monthly = Subscription(id="S3", sku_id=EXO, quantity=5, commitment_end=TODAY + timedelta(5))
    values = dict(
        today=TODAY,
        tenants=(tenant(T1, "Contoso"), tenant(T2, "Fabrikam", ConsentStatus.MISSING), tenant(T3, "Own MSP")),
        inventories={
            T1: TenantInventory(tenant_id=T1, licenses=(
                License(sku_id=SPB, part_number="SPB", enabled=12, consumed=10,
                        subscriptions=(annual_ending, annual_later)),
                License(sku_id=EXO, part_number="EXCHANGESTANDARD", enabled=5, consumed=5, subscriptions=(monthly,)),
                License(sku_id=FREE, part_number="FLOW_FREE", enabled=10000, consumed=3))),
            T2: TenantInventory(tenant_id=T2, licenses=(
                License(sku_id=SPB, part_number="SPB", enabled=3, consumed=3),)),
            T3: TenantInventory(tenant_id=T3, licenses=(
                License(sku_id=SPB, part_number="SPB", enabled=40, consumed=2),)),
        },
        mapped={(T1, SPB.lower()), (T2, SPB.lower())},
        exclusions=(Exclusion(sku_id=FREE), Exclusion(sku_id=SPB, tenant_id=T3, reason="our own tenant")),
        is_new=lambda tenant_id, sku_id: sku_id == EXO,
        last_run=SyncRunRecord(id=7, started_at=datetime(2026, 3, 10, 6, tzinfo=UTC), finished_at=None,
                               status=RunStatus.PARTIAL, trigger="schedule", tenants_failed=1,
                               error="Fabrikam: seatsync's Microsoft app is not consented"),
        held=3,
        pending_customers=(Customer(tenant_id="t-new", name="Northwind"),),
        sku_name=lambda sku_id, part: {SPB: "Business Premium", EXO: "Exchange Online"}.get(sku_id, part),
    )
    values.update(changes)
    return NoticeInputs(**values)


def by_kind(notices: list[Notice]) -> dict[NoticeKind, list[Notice]]:
    out: dict[NoticeKind, list[Notice]] = {}
    for notice in notices:
        out.setdefault(notice.kind, []).append(notice)
    return out


def test_every_kind_of_notice_is_computed_and_excluded_ones_raise_nothing():
    kinds = by_kind(compute_notices(inputs()))
    [unmapped] = kinds[NoticeKind.UNMAPPED_LICENSE]
    assert unmapped.title == "Contoso: new license Exchange Online has no billing profile"
    [unassigned] = kinds[NoticeKind.UNASSIGNED_SEATS]
    assert unassigned.title == "Contoso: 2 unassigned Business Premium"  # T3's 38 are excluded
    [access] = kinds[NoticeKind.ACCESS_FAILED]
    assert access.tenant_id == T2 and "missing" in access.title
    [ending] = kinds[NoticeKind.COMMITMENT_ENDING]  # the monthly one and the far one are not
    assert ending.title == "Contoso: Business Premium commitment ends 2026-03-30"
    [closing] = kinds[NoticeKind.CANCELLATION_CLOSING]
    assert "can be reduced until 2026-03-12" in closing.title
    [pending] = kinds[NoticeKind.TENANT_NOT_ADDED]
    assert pending.title.startswith("Northwind is in Partner Center")
    [failed] = kinds[NoticeKind.SYNC_FAILED]
    assert "partial" in failed.title and "not consented" in failed.message
    [waiting] = kinds[NoticeKind.APPROVALS_WAITING]
    assert waiting.title == "3 change(s) wait for approval"
    assert not [n for n in compute_notices(inputs()) if n.sku_id == FREE or n.tenant_id == T3]


def test_a_failed_tenant_keeps_its_notice_until_it_syncs_whatever_runs_since():
    failed_at = datetime(2026, 3, 9, 6, tzinfo=UTC)
    earlier = SyncOutcomeRecord(tenant_id=T1, status=SyncOutcome.FAILED, finished_at=failed_at, sync_run_id=6,
                                error="the PSA refused the line: agreement 41 is closed")
    later_run = SyncRunRecord(id=7, started_at=datetime(2026, 3, 10, 6, tzinfo=UTC), finished_at=None,
                              status=RunStatus.SUCCEEDED, trigger="manual")  # a Sync now of another company went well
    notices = compute_notices(inputs(last_run=later_run, outcomes={T1: earlier}))
    [failed] = by_kind(notices)[NoticeKind.SYNC_FAILED]
    assert (failed.tenant_id, failed.message) == (T1, "the PSA refused the line: agreement 41 is closed")
    assert failed.title.startswith("Contoso: the sync at ") and failed.title.endswith(" on 9 Mar 2026 failed")
    synced = replace(earlier, status=SyncOutcome.OK, error="", finished_at=datetime(2026, 3, 10, 7, tzinfo=UTC))
    assert NoticeKind.SYNC_FAILED not in by_kind(compute_notices(inputs(last_run=later_run, outcomes={T1: synced})))


def test_a_run_whose_failures_are_its_tenants_says_them_per_tenant_and_a_stopped_run_says_it_once():
    run = SyncRunRecord(id=7, started_at=datetime(2026, 3, 10, 6, tzinfo=UTC), finished_at=None,
                        status=RunStatus.PARTIAL, trigger="schedule", tenants_failed=1,
                        error="Contoso: Microsoft sign-in refused (AADSTS700016)")
    own = SyncOutcomeRecord(tenant_id=T1, status=SyncOutcome.FAILED, finished_at=datetime(2026, 3, 10, 6, tzinfo=UTC),
                            sync_run_id=7, error="Microsoft sign-in refused (AADSTS700016)")
    [failed] = by_kind(compute_notices(inputs(last_run=run, outcomes={T1: own})))[NoticeKind.SYNC_FAILED]
    assert failed.tenant_id == T1 and failed.message.startswith("Microsoft sign-in refused: seatsync's app")
    stopped = replace(run, status=RunStatus.FAILED, tenants_failed=3, error="the PSA refused the API keys")
    [run_notice] = by_kind(compute_notices(inputs(last_run=stopped)))[NoticeKind.SYNC_FAILED]
    assert run_notice.tenant_id == "" and run_notice.message == "the PSA refused the API keys"


def test_a_tenant_whose_every_license_is_excluded_raises_nothing_not_even_consent():
    excluded = (Exclusion(sku_id=SPB, tenant_id=T2),)
    notices = compute_notices(inputs(exclusions=excluded, held=0, last_run=None, pending_customers=()))
    assert not [n for n in notices if n.tenant_id == T2]


def test_nothing_to_say_says_nothing():
    quiet = inputs(tenants=(tenant(T1, "Contoso"),), inventories={T1: TenantInventory(tenant_id=T1, licenses=(
        License(sku_id=SPB, enabled=5, consumed=5),))}, held=0, last_run=None, pending_customers=())
    assert compute_notices(quiet) == []


def test_keys_tell_new_notices_from_ones_already_shown():
    first = compute_notices(inputs())
    seen = {n.key for n in first[:3]}
    assert new_notices(first, seen) == first[3:]
    assert {n.key for n in compute_notices(inputs())} == {n.key for n in first}  # stable


# -- from the database ----------------------------------------------------------------------


def test_the_service_reads_snapshots_runs_and_held_operations(ctx):
    spb, exo = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "4b9405b0-7788-4568-add1-99614e613b69"  # catalogue GUIDs
    ctx.uow.tenants.add(TenantRecord(tenant_id=T1, name="Contoso"))
    first, later = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC)
    ctx.uow.inventory.save(TenantInventory(tenant_id=T1, fetched_at=first, licenses=(
        License(sku_id=spb, part_number="SPB", enabled=5, consumed=5),)))
    ctx.uow.inventory.save(TenantInventory(tenant_id=T1, fetched_at=later, licenses=(
        License(sku_id=spb, part_number="SPB", enabled=5, consumed=5),
        License(sku_id=exo, part_number="EXCHANGESTANDARD", enabled=2, consumed=2))))
    run = ctx.uow.runs.start(trigger="schedule")
    ctx.uow.runs.finish(run.id, status=RunStatus.FAILED, error="the PSA refused the API keys")
    row = RowKey(tenant_id=T1, sku_id=SPB)
    Approvals().hold(Operation(key="k1", kind=OpKind.SET_QUANTITY, row=row, agreement_id="A", product_id="P",
                               marker="m", effective=TODAY, quantity=3, before=5), reason="hold decreases")
    notices = by_kind(ctx.notifications.compute(today=TODAY))
    titles = {n.title for n in notices[NoticeKind.UNMAPPED_LICENSE]}
    assert any("new license" in t and "Exchange Online (Plan 1)" in t for t in titles)  # absent before
    assert any("new license" not in t and "Business Premium" in t for t in titles)  # there from the start
    assert notices[NoticeKind.SYNC_FAILED][0].message == "the PSA refused the API keys"
    assert notices[NoticeKind.APPROVALS_WAITING][0].title == "1 change(s) wait for approval"


# -- delivery --------------------------------------------------------------------------------


class _Smtp(socketserver.StreamRequestHandler):
    def send(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        server = self.server
        self.send("220 test ESMTP")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.send("250-test")
                self.send("250 AUTH PLAIN")
            elif verb == "AUTH":
                _, user, password = base64.b64decode(line.split()[2]).decode().split("\0")
                server.logins.append((user, password))
                self.send("235 ok" if (user, password) == server.account else "535 5.7.8 bad credentials")
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                server.envelope.append(line)
                self.send("250 ok")
            elif verb == "DATA":
                self.send("354 go on")
                body = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    body += chunk
                server.messages.append(body)
                self.send("250 queued")
            elif verb == "QUIT":
                self.send("221 bye")
                return
            else:
                self.send("502 not implemented")


class SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, account: tuple[str, str]) -> None:
        super().__init__(("127.0.0.1", 0), _Smtp)
        self.account = account
        self.logins: list[tuple[str, str]] = []
        self.envelope: list[str] = []
        self.messages: list[bytes] = []


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(("billing@msp.example", "smtp-pass-1"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def email_settings(server: SmtpServer, **changes) -> NotificationSettings:  # type: ignore[no-untyped-def]
    values = dict(tray=True, email_enabled=True, smtp_host="127.0.0.1", smtp_port=server.server_address[1],
                  smtp_security=SmtpSecurity.NONE, smtp_username="billing@msp.example",
                  email_from="seatsync@msp.example", email_to=("owner@msp.example", "billing@msp.example"))
    return NotificationSettings(**(values | changes))


def test_the_digest_is_mailed_with_the_password_from_the_keyring(ctx, smtp):
    ctx.settings.set_notifications(email_settings(smtp, tray_muted=("unassigned_seats",)))
    ctx.settings.set_smtp_password("smtp-pass-1")
    shown: list[Notice] = []
    notices = compute_notices(inputs())
    delivery = Notifier(ctx.settings, tray=shown.append).deliver(notices)
    assert delivery.emailed and not delivery.errors
    assert smtp.logins == [("billing@msp.example", "smtp-pass-1")]
    assert [line.lower() for line in smtp.envelope[1:]] == ["rcpt to:<owner@msp.example>",
                                                           "rcpt to:<billing@msp.example>"]
    [raw] = smtp.messages
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["Subject"] == f"seatsync: {len(notices)} notice(s)"
    body = mail.get_body(("plain",)).get_content()
    assert "Licenses without a billing profile (new SKUs too) (1)" in body
    assert "  - Contoso: new license Exchange Online has no billing profile" in body
    assert "Changes waiting for approval (1)" in body
    assert delivery.tray == len(notices) - 1 and NoticeKind.UNASSIGNED_SEATS not in {n.kind for n in shown}


def test_a_refused_password_is_named_and_never_shown(ctx, smtp):
    ctx.settings.set_notifications(email_settings(smtp))
    ctx.settings.set_smtp_password("wrong-pass-XYZ")
    with pytest.raises(NotifyError) as raised:
        Notifier(ctx.settings).send_digest(compute_notices(inputs()))
    assert "refused the user name or password" in str(raised.value)
    assert "wrong-pass-XYZ" not in str(raised.value)


def test_an_unreachable_smtp_server_is_named(ctx, smtp):
    port = smtp.server_address[1]
    smtp.shutdown()
    smtp.server_close()
    ctx.settings.set_notifications(email_settings(smtp, smtp_port=port))
    ctx.settings.set_smtp_password("smtp-pass-1")
    delivery = Notifier(ctx.settings, timeout=2).deliver(compute_notices(inputs()))
    assert not delivery.emailed
    assert f"could not reach the SMTP server 127.0.0.1:{port}" in delivery.errors[0]


class Hooks(SandboxApp):
    def __init__(self, status: int = 200) -> None:
        super().__init__()
        self.received: list[tuple[str, object]] = []
        self.status = status
        self.route("POST", "/hooks/{team}/{token}", self.receive)

    def receive(self, request: Request) -> Response:
        self.received.append((request.params["token"], request.json()))
        return Response.json({"ok": self.status == 200}, status=self.status)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("notify-tls"))


@pytest.mark.parametrize("kind", [WebhookKind.TEAMS, WebhookKind.SLACK, WebhookKind.GENERIC])
def test_the_webhook_gets_one_json_post(ctx, tls, kind):
    hooks = Hooks()
    with SandboxServer(hooks, tls=tls) as server:
        ctx.settings.set_notifications(NotificationSettings(tray=False, webhook_enabled=True, webhook_kind=kind))
        ctx.settings.set_webhook_url(f"{server.url}/hooks/T01/tok-secret-123")
        notices = compute_notices(inputs())
        delivery = Notifier(ctx.settings, verify=tls.ca).deliver(notices)
        assert delivery.posted and not delivery.errors and delivery.tray == 0
        assert server.request_count("POST") == 1
    [(token, payload)] = hooks.received
    assert token == "tok-secret-123"
    if kind is WebhookKind.TEAMS:
        card = payload["attachments"][0]
        assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
        texts = [b["text"] for b in card["content"]["body"]]
        assert texts[0] == f"seatsync: {len(notices)} notice(s)" and len(texts) == len(notices) + 1
    elif kind is WebhookKind.SLACK:
        assert payload["text"].startswith(f"*seatsync: {len(notices)} notice(s)*")
    else:
        assert [n["kind"] for n in payload["notices"]] == [n.kind.value for n in notices]


def test_a_failing_webhook_is_named_without_its_url(ctx, tls):
    with SandboxServer(Hooks(status=404), tls=tls) as server:
        ctx.settings.set_notifications(NotificationSettings(webhook_enabled=True))
        ctx.settings.set_webhook_url(f"{server.url}/hooks/T01/tok-secret-123")
        delivery = Notifier(ctx.settings, verify=tls.ca).deliver(compute_notices(inputs()))
    assert not delivery.posted
    assert "answered HTTP 404" in delivery.errors[0] and "tok-secret-123" not in delivery.errors[0]


def test_a_missing_webhook_url_is_named(ctx):
    ctx.settings.set_notifications(NotificationSettings(webhook_enabled=True))
    delivery = Notifier(ctx.settings).deliver(compute_notices(inputs()))
    assert "has no url stored; enter it in Settings" in delivery.errors[0]
