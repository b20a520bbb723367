"""Customer text in chat and mail is shown, never run: Slack, Teams and generic webhooks, the e-mail digest.

And the SMTP password goes only over TLS, or to a relay on this computer: with "SMTP security: none" and a
server elsewhere, seatsync refuses before the password leaves it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest

from app.models.records import TenantRecord
from app.sandbox.server import SandboxServer, make_tls
from app.services.notify.delivery import Notifier, digest_html, digest_text, is_loopback, webhook_payload
from app.services.notify.notices import Notice, NoticeKind, NotifyError, compute_notices
from app.services.settings import NotificationSettings, SmtpSecurity, WebhookKind
from tests.test_notify import (
    Hooks,
    SmtpServer,
    _Smtp,
    email_settings,
    inputs,
    smtp,  # noqa: F401 - the local SMTP server fixture
)

CHANNEL = "Contoso <!channel> <!here|here> @here @channel"
LINK = "Fabrikam <https://evil.example/login|Click to re-consent>"
MARKDOWN = "Northwind [Renew now](https://evil.example) **urgent** <at>Admin</at> & co"
HTML = "Litware <script>alert(1)</script><a href=\"https://evil.example\">x</a>"
HOSTILE = (CHANNEL, LINK, MARKDOWN, HTML)


def hostile_notices() -> list[Notice]:
    return [Notice(kind=NoticeKind.TENANT_NOT_ADDED, tenant_id=f"t{i}", title=f"{name} is in Partner Center",
                   message=f"Add {name}.") for i, name in enumerate(HOSTILE)]


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("messages-tls"))


# -- webhooks ---------------------------------------------------------------------------------------------


def test_slack_gets_no_mention_link_or_markup_from_a_name():
    text = webhook_payload(hostile_notices(), WebhookKind.SLACK)["text"]
    body = text.split("\n", 1)[1]  # after seatsync's own bold title
    assert "<" not in body and ">" not in body  # no <!channel>, <!here>, <url|text>
    assert "&lt;!channel&gt;" in body and "&lt;https://evil.example/login|Click to re-consent&gt;" in body
    assert "&amp; co" in body and "& co" not in body
    assert "@here" not in body and "@channel" not in body  # a zero-width space keeps the broadcast text
    assert "@\u200bhere" in body


def test_slack_does_not_unfurl_a_url_from_a_name():
    payload = webhook_payload(hostile_notices(), WebhookKind.SLACK)
    assert payload["unfurl_links"] is False and payload["unfurl_media"] is False


def test_teams_gets_no_link_markup_or_mention_from_a_name():
    card = webhook_payload(hostile_notices(), WebhookKind.TEAMS)["attachments"][0]["content"]
    texts = [block["text"] for block in card["body"][1:]]
    assert len(texts) == len(HOSTILE)
    markdown = texts[2]
    assert markdown.startswith("**Northwind ")  # seatsync's own bold stays
    assert "[Renew now](https://evil.example)" not in markdown
    assert "\\[Renew now\\]\\(https://evil" in markdown
    assert "\\*\\*urgent\\*\\*" in markdown
    assert "<at>" not in markdown and "&lt;at&gt;Admin&lt;/at&gt;" in markdown and "&amp; co" in markdown
    assert all("<" not in text for text in texts)


def test_the_generic_webhook_carries_names_as_plain_json():
    payload = webhook_payload(hostile_notices(), WebhookKind.GENERIC)
    assert [n["title"] for n in payload["notices"]] == [f"{name} is in Partner Center" for name in HOSTILE]


@pytest.mark.parametrize("kind", [WebhookKind.SLACK, WebhookKind.TEAMS])
def test_what_is_posted_is_escaped(ctx, tls, kind):
    hooks = Hooks()
    with SandboxServer(hooks, tls=tls) as server:
        ctx.settings.set_notifications(NotificationSettings(tray=False, webhook_enabled=True, webhook_kind=kind))
        ctx.settings.set_webhook_url(f"{server.url}/hooks/T01/tok-1")
        delivery = Notifier(ctx.settings, verify=tls.ca).deliver(hostile_notices())
    assert delivery.posted and not delivery.errors
    [(_, payload)] = hooks.received
    posted = str(payload)
    assert "<!channel>" not in posted and "<https://evil.example/login|" not in posted
    if kind is WebhookKind.TEAMS:  # Slack's mrkdwn has no [text](url) links: there it is text already
        assert "[Renew now](https://evil.example)" not in posted


# -- the e-mail digest -----------------------------------------------------------------------------------


def test_the_digest_html_part_escapes_names_and_the_plain_part_keeps_them(ctx, smtp):  # noqa: F811
    ctx.settings.set_notifications(email_settings(smtp))
    ctx.settings.set_smtp_password("smtp-pass-1")
    Notifier(ctx.settings).send_digest(hostile_notices())
    [raw] = smtp.messages
    mail = message_from_bytes(raw, policy=policy.default)
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert all(name in plain for name in HOSTILE)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="https://evil.example">' not in html and "&lt;!channel&gt;" in html
    assert plain.replace("\r\n", "\n") == digest_text(hostile_notices())


def test_the_digest_html_escapes_a_tenant_name_from_microsoft():
    notices = compute_notices(inputs(tenants=(TenantRecord(tenant_id="tenant-1", name=HTML),)))
    assert notices and "<script>" not in digest_html(notices)


# -- SMTP authentication only over TLS or on this computer -----------------------------------------------


def non_loopback_address() -> str:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        address = probe.getsockname()[0]
    except OSError:
        address = ""
    finally:
        probe.close()
    if not address or is_loopback(address):
        pytest.skip("this computer has no address other than loopback")
    return address


class RemoteSmtp(SmtpServer):
    """The test SMTP server, listening on an address of this computer that is not loopback."""

    def __init__(self, address: str) -> None:  # skips SmtpServer's 127.0.0.1
        import socketserver

        socketserver.ThreadingTCPServer.__init__(self, (address, 0), _Smtp)
        self.account = ("billing@msp.example", "smtp-pass-1")
        self.logins, self.envelope, self.messages = [], [], []


@pytest.fixture
def remote_smtp() -> Iterator[RemoteSmtp]:
    server = RemoteSmtp(non_loopback_address())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_no_password_over_plain_text_to_another_computer(ctx, remote_smtp):
    host = remote_smtp.server_address[0]
    ctx.settings.set_notifications(email_settings(remote_smtp, smtp_host=host, smtp_security=SmtpSecurity.NONE))
    ctx.settings.set_smtp_password("smtp-pass-1")
    with pytest.raises(NotifyError) as raised:
        Notifier(ctx.settings, timeout=5).send_digest(hostile_notices())
    assert remote_smtp.logins == [] and remote_smtp.messages == []
    message = str(raised.value)
    assert "STARTTLS or TLS in Settings > Notifications" in message and "smtp-pass-1" not in message


def test_the_refusal_is_a_delivery_error_not_a_crash(ctx, remote_smtp):
    host = remote_smtp.server_address[0]
    ctx.settings.set_notifications(email_settings(remote_smtp, smtp_host=host))
    ctx.settings.set_smtp_password("smtp-pass-1")
    delivery = Notifier(ctx.settings, timeout=5).deliver(hostile_notices())
    assert not delivery.emailed and "only over TLS" in delivery.errors[0]
    assert remote_smtp.logins == []


def test_without_a_user_name_a_remote_relay_still_gets_the_digest(ctx, remote_smtp):
    host = remote_smtp.server_address[0]
    ctx.settings.set_notifications(email_settings(remote_smtp, smtp_host=host, smtp_username=""))
    Notifier(ctx.settings, timeout=5).send_digest(hostile_notices())
    assert len(remote_smtp.messages) == 1 and remote_smtp.logins == []


def test_a_loopback_relay_may_take_the_password_in_plain_text(ctx, smtp):  # noqa: F811
    ctx.settings.set_notifications(email_settings(smtp, smtp_security=SmtpSecurity.NONE))
    ctx.settings.set_smtp_password("smtp-pass-1")
    Notifier(ctx.settings).send_digest(hostile_notices())
    assert smtp.logins == [("billing@msp.example", "smtp-pass-1")]


@pytest.mark.parametrize(("address", "loopback"), [("127.0.0.1", True), ("127.8.9.1", True), ("::1", True),
                                               ("::ffff:127.0.0.1", True), ("192.0.2.2", False),
                                               ("fd00::2", False), ("", False), ("localhost", False)])
def test_what_counts_as_this_computer(address, loopback):
    assert is_loopback(address) is loopback
