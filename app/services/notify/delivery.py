"""Where notices are sent (DESIGN §1.9).

``Notifier`` delivers: tray messages through a callback the window gives,
an e-mail digest (smtplib; settings from app.services.settings, the
password from the keyring), and a Teams or Slack incoming webhook (its URL
is a secret: it carries its own token, and is never shown or logged).

Names in notices come from customers (tenant, company and license names,
what a PSA answered): each channel escapes them for its format, so a name
such as ``<!channel>``, ``<https://x|click>`` or ``[text](url)`` is shown as
written and never mentions, links or formats (``slack_text``, ``teams_text``,
the digest's HTML part; the generic webhook and the plain part carry it as
is). The SMTP password is sent only over TLS (STARTTLS or implicit TLS) or to
a relay on this computer (docs/security.md).
"""

from __future__ import annotations

import html
import ipaddress
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from app.services.http import HttpApi, HttpFailure
from app.services.notify.notices import KIND_LABELS, Notice, NoticeKind, NotifyError
from app.services.secrets import MissingSecret
from app.services.settings import NotificationSettings, SmtpSecurity, WebhookKind


@dataclass(frozen=True, kw_only=True)
class Delivery:
    tray: int = 0
    emailed: bool = False
    posted: bool = False
    errors: tuple[str, ...] = ()


def _by_kind(notices: Sequence[Notice]) -> list[tuple[NoticeKind, list[Notice]]]:
    """The notices grouped by kind, in the kinds' order, empty groups left out."""
    groups = [(kind, [n for n in notices if n.kind is kind]) for kind in NoticeKind]
    return [(kind, group) for kind, group in groups if group]


def digest_text(notices: Sequence[Notice]) -> str:
    lines = []
    for kind, group in _by_kind(notices):
        lines.append(f"{KIND_LABELS[kind]} ({len(group)})")
        lines.extend(f"  - {n.title}: {n.message}" for n in group)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def digest_html(notices: Sequence[Notice]) -> str:
    """The digest's HTML part: the plain digest's content, every notice's text escaped."""
    parts = ["<html><body>"]
    for kind, group in _by_kind(notices):
        parts.append(f"<h3>{html.escape(KIND_LABELS[kind])} ({len(group)})</h3><ul>")
        parts.extend(f"<li><b>{html.escape(n.title)}</b>: {html.escape(n.message)}</li>" for n in group)
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


#: Slack's broadcasts written out (``@here``); a zero-width space after the "@" keeps them text.
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone)\b)", re.IGNORECASE)
#: What Teams' Markdown (Adaptive Card TextBlock) would read as formatting, a list or a link.
_TEAMS_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")


def slack_text(text: str) -> str:
    """``text`` for Slack's mrkdwn: &, < and > escaped as Slack asks (no <!channel>, <url|link>), no @here."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u200b", escaped)


def teams_text(text: str) -> str:
    """``text`` for a Teams Adaptive Card TextBlock: Markdown characters backslash-escaped, &, < and > as entities
    (no [text](url) link, no emphasis, no <at> mention)."""
    escaped = _TEAMS_MARKDOWN.sub(r"\\\1", text)
    return escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class PlainTextAuthRefused(NotifyError):
    """seatsync sends the SMTP password only over TLS or to a relay on this computer."""


def is_loopback(address: str) -> bool:
    """Whether ``address`` (an IP address as a socket reports it) is this computer's loopback."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


class NoticeSettings(Protocol):
    """What ``Notifier`` reads of the settings (``Settings`` is one)."""

    @property
    def notifications(self) -> NotificationSettings: ...

    def smtp_password(self) -> str: ...

    def webhook_url(self) -> str: ...


class Notifier:
    def __init__(self, settings: NoticeSettings, *, tray: Callable[[Notice], None] | None = None,
                 verify: bool | str = True, timeout: float = 15.0) -> None:
        self.settings = settings
        self.tray = tray
        self.verify = verify
        self.timeout = timeout

    def deliver(self, notices: Sequence[Notice]) -> Delivery:
        """Send the notices everywhere the settings say; one channel failing never stops another."""
        config = self.settings.notifications
        errors: list[str] = []
        shown = 0
        if config.tray and self.tray is not None:
            for notice in notices:
                if notice.kind.value not in config.tray_muted:
                    self.tray(notice)
                    shown += 1
        emailed = posted = False
        if config.email_enabled and notices:
            try:
                self.send_digest(notices, config)
                emailed = True
            except NotifyError as error:
                errors.append(str(error))
        if config.webhook_enabled and notices:
            try:
                self.post_webhook(notices, config)
                posted = True
            except (NotifyError, MissingSecret) as error:
                errors.append(str(error))
        return Delivery(tray=shown, emailed=emailed, posted=posted, errors=tuple(errors))

    # -- e-mail -------------------------------------------------------------

    def send_digest(self, notices: Sequence[Notice], config: NotificationSettings | None = None) -> None:
        config = config or self.settings.notifications
        if not (config.smtp_host and config.email_from and config.email_to):
            raise NotifyError("(the e-mail digest needs an SMTP host, a From address and a To address)")
        message = EmailMessage()
        message["Subject"] = f"seatsync: {len(notices)} notice(s)"
        message["From"] = config.email_from
        message["To"] = ", ".join(config.email_to)
        message.set_content(digest_text(notices))  # customer text as is: plain text runs nothing
        message.add_alternative(digest_html(notices), subtype="html")  # customer text escaped
        where = f"{config.smtp_host}:{config.smtp_port}"
        try:
            with self._smtp(config) as smtp:
                if config.smtp_username:
                    self._refuse_plain_text_auth(smtp, config, where)
                    smtp.login(config.smtp_username, self._smtp_password())
                smtp.send_message(message)
        except smtplib.SMTPAuthenticationError:
            raise NotifyError(f"(the SMTP server {where} refused the user name or password; check them in "
                              "Settings > Notifications)") from None
        except smtplib.SMTPNotSupportedError as error:
            raise NotifyError(f"(the SMTP server {where} does not support this: {error}; check the security "
                              "setting)") from None
        except (smtplib.SMTPException, ssl.SSLError) as error:
            raise NotifyError(f"(the SMTP server {where} refused the digest: {type(error).__name__}: "
                              f"{_first_line(error)})") from None
        except OSError as error:
            raise NotifyError(f"(could not reach the SMTP server {where}: {error.strerror or error})") from None

    def _smtp(self, config: NotificationSettings) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self.verify if isinstance(self.verify, str) else None)
        if config.smtp_security is SmtpSecurity.TLS:
            return smtplib.SMTP_SSL(config.smtp_host, config.smtp_port, timeout=self.timeout, context=context)
        smtp = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=self.timeout,
                            local_hostname=socket.gethostname() or "localhost")
        if config.smtp_security is SmtpSecurity.STARTTLS:
            try:
                smtp.starttls(context=context)
            except BaseException:
                smtp.close()
                raise
        return smtp

    @staticmethod
    def _refuse_plain_text_auth(smtp: smtplib.SMTP, config: NotificationSettings, where: str) -> None:
        """Never send the password in clear text to another computer: only over TLS or to a loopback relay.

        Decided on the address connected to, not the host name (a name may resolve anywhere).
        """
        if config.smtp_security is not SmtpSecurity.NONE:
            return
        try:
            peer = smtp.sock.getpeername()[0] if smtp.sock is not None else ""
        except OSError:
            peer = ""
        if not is_loopback(str(peer)):
            raise PlainTextAuthRefused(
                f"(the SMTP server {where} is not on this computer and SMTP security is 'none': seatsync sends "
                "the SMTP password only over TLS. Choose STARTTLS or TLS in Settings > Notifications, or "
                "clear the user name for a relay that needs no login)")

    def _smtp_password(self) -> str:
        try:
            return self.settings.smtp_password()
        except MissingSecret:
            raise NotifyError("(the SMTP user name is set but no password is stored; enter it in Settings > "
                              "Notifications)") from None

    # -- webhook ------------------------------------------------------------

    def post_webhook(self, notices: Sequence[Notice], config: NotificationSettings | None = None) -> None:
        config = config or self.settings.notifications
        url = self.settings.webhook_url()
        api = HttpApi(name=f"{config.webhook_kind.value.capitalize()} webhook", base_url=url, verify=self.verify,
                      timeout=(5.0, self.timeout))
        try:
            # One POST, never retried blindly: a repeat would post the digest twice.
            response = api.request("POST", url, json=webhook_payload(notices, config.webhook_kind),
                                   idempotent=False, endpoint="webhook")
        except HttpFailure as error:
            raise NotifyError(f"(the webhook did not answer: {error.detail})") from None
        finally:
            api.session.close()
        if not 200 <= response.status_code < 300:
            raise NotifyError(f"(the webhook answered HTTP {response.status_code}; check its URL in Settings)")


def webhook_payload(notices: Sequence[Notice], kind: WebhookKind) -> dict:
    title = f"seatsync: {len(notices)} notice(s)"
    text = digest_text(notices)
    if kind is WebhookKind.SLACK:
        # No unfurling: a URL in a customer's name is text, not a preview.
        return {"text": f"*{title}*\n{slack_text(text)}", "unfurl_links": False, "unfurl_media": False}
    if kind is WebhookKind.TEAMS:
        # Teams workflows ("When a Teams webhook request is received") post Adaptive Cards.
        body = [{"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True}]
        body += [{"type": "TextBlock", "text": f"**{teams_text(n.title)}** — {teams_text(n.message)}", "wrap": True}
                 for n in notices]
        return {"type": "message", "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
            "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                        "version": "1.4", "body": body}}]}
    return {"source": "seatsync", "title": title,
            "notices": [{"kind": n.kind.value, "title": n.title, "message": n.message, "tenant_id": n.tenant_id}
                        for n in notices]}


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [""])[0][:200]
