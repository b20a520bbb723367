"""``run-scheduler``: the daily sync without a window, for a server.

Runs until interrupted (Ctrl+C or SIGTERM). The schedule (time of day,
enabled) comes from seatsync's settings; a run missed while this was not
running happens at start. After each scheduled sync it computes the notices
and sends the e-mail digest and the Teams/Slack webhook when Settings >
Notifications enables them (as the window does), then prints one line
saying what was sent, or why nothing was. A failed delivery never stops the
scheduler; the webhook URL and the SMTP password are never printed.

At start it checks the keyring: it must work for the user this runs as,
hold every credential seatsync stored (PSA and Microsoft connections, the
SMTP password and webhook URL when they are in use) and encrypt them; a
backend that keeps them as plain text is refused unless
SEATSYNC_ALLOW_PLAINTEXT_KEYRING=1 (docs/security.md). A failed check exits
with code 1 and says what to do.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.commands.common import app_context, summary_table
from app.errors import SeatsyncError
from app.services.redaction import RedactSecrets

if TYPE_CHECKING:
    from app.services.container import Services
    from app.services.notify.after_sync import AfterSync
    from app.services.secrets import SecretKey
    from app.services.settings import NotificationSettings
    from app.services.sync.scheduler import SyncScheduler
    from app.services.sync.service import RunSummary, SyncService
    from app.services.team.health import RunnerHealth

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run-scheduler", help="run the daily sync without a window (for a server)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=run)


class ScheduledSync:
    """The scheduler's job: sync ``target`` ("*" or a company id), print the summary, then the notifications."""

    def __init__(self, context: Services, *, service: SyncService | None = None,
                 out: Callable[[str], None] | None = None, health: RunnerHealth | None = None) -> None:

        self.context = context
        self.service = service or context.sync
        self.out = out or (lambda text: print(text, flush=True))
        self.health = health

    def __call__(self, target: str, *, trigger: str) -> RunSummary:
        """On a scheduler thread. ``trigger`` is what the run records (a ``RunTrigger``, passed by the
        scheduler); only the schedule's runs send the digest."""
        from app.models.records import RunStatus
        from app.services.sync.scheduler import ALL
        from app.services.uow import connected

        with connected():
            try:
                summary = self.service.sync(None if target == ALL else int(target), actor="run-scheduler",
                                            trigger=trigger)
            except SeatsyncError as error:
                self._report(RunStatus.FAILED, error.message)
                raise
            self.out(summary_table(summary))
            self.out(self.notify(summary.run_id))
        self._report(summary.status, "; ".join(summary.problems()) or f"{summary.writes} change(s) written")
        return summary

    def _report(self, status: str, summary: str) -> None:
        """Tell the team's desktops how the run went (a failure to tell is logged, never fatal)."""
        if self.health is None:
            return
        try:
            self.health.ran(status, summary)
        except SeatsyncError as error:
            log.warning("the runner's health could not be reported: %s", error)

    def notify(self, run_id: int | None) -> str:
        """Notices after the run ``run_id``, the digest and webhook sent if it was scheduled: one line on what."""

        try:
            done = self.context.after_sync.notices_after_sync(run_id=run_id)
        except SeatsyncError as error:
            log.error("notifications failed: %s", error)
            return f"Notifications: none sent ({error})."
        except Exception as error:  # the sync is done; the next one must still run
            log.error("notifications failed", exc_info=error)
            return f"Notifications: none sent (unexpected {type(error).__name__}; see the log)."
        return notifications_line(done, self.context.settings.notifications)


def notifications_line(done: AfterSync, config: NotificationSettings) -> str:
    """What was sent, or why nothing was; never a secret (``Delivery.errors`` hold none)."""
    delivery = done.delivery
    count = f"{len(done.notices)} notice{'s' if len(done.notices) != 1 else ''}"
    if delivery is None:
        return f"Notifications: {count}; none sent (not a scheduled sync)."
    if not (config.email_enabled or config.webhook_enabled):
        return (f"Notifications: {count}; none sent (the e-mail digest and the webhook are off in "
                "Settings > Notifications).")
    if not done.notices:
        return "Notifications: nothing needs attention; no digest sent."
    # Notifier.deliver tries the e-mail first, then the webhook, and names each failure in that order.
    errors = iter(delivery.errors)
    parts = []
    if config.email_enabled:
        parts.append(f"e-mail digest sent to {len(config.email_to)} recipient(s)" if delivery.emailed
                     else f"e-mail digest NOT sent: {next(errors, 'see the log')}")
    if config.webhook_enabled:
        kind = config.webhook_kind.value.capitalize()
        parts.append(f"{kind} webhook posted" if delivery.posted
                     else f"{kind} webhook NOT sent: {next(errors, 'see the log')}")
    return f"Notifications ({count}): {'; '.join(parts)}."


def build_scheduler(context: Services, job: Callable[..., Any], *,
                    now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
                    on_finished: Callable[[str, Any, BaseException | None], None] | None = None) -> SyncScheduler:
    """The scheduler over ``job``, its schedule from the settings (``start()`` it; ``now``: tests fix it)."""
    from app.services.sync.scheduler import ScheduleSettings, SyncScheduler

    # Nothing to sync on an empty install: a scheduled run is skipped.
    return SyncScheduler(job, settings=ScheduleSettings.of(context.settings), last_run=context.sync.last_scheduled_run,
                         now=now, on_finished=on_finished, ready=context.sync.ready_to_sync)


def stored_secrets(context: Services) -> list[SecretKey]:
    """Every credential a scheduled run may read: the connections' secrets, and notifications' when enabled."""
    from app.services.psa.factory import KINDS
    from app.services.secrets import microsoft_secret_key, psa_secret_key
    from app.services.settings import SMTP_PASSWORD, WEBHOOK_URL

    keys = [psa_secret_key(record.id, f.name, record.name) for record in context.uow.psa_connections.all()
            for f in (KINDS[record.kind].fields if record.kind in KINDS else ()) if f.secret and f.required]
    keys += [microsoft_secret_key(record.id, record.name) for record in context.uow.microsoft_connections.all()]
    config = context.settings.notifications
    if config.email_enabled and config.smtp_username:
        keys.append(SMTP_PASSWORD)
    if config.webhook_enabled:
        keys.append(WEBHOOK_URL)
    return keys


def check_keyring(context: Services) -> None:
    """Refuse to start (ServerKeyringError, exit code 1) without a keyring that works, encrypts and has them all."""
    context.secrets.check_for_server(stored_secrets(context))


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecrets())  # what reaches a server's journal masks credentials too
    stop = threading.Event()
    with app_context() as context:
        from app.services.team.health import RunnerHealth

        check_keyring(context)
        scheduled: list[SyncScheduler] = []
        health = RunnerHealth(context.uow, data_dir=context.data_dir, now=context.now,
                              next_run=lambda: scheduled[0].next_run() if scheduled else None)
        scheduler = build_scheduler(context, ScheduledSync(context, health=health))
        scheduled.append(scheduler)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        scheduler.start()
        health.beat()
        health.keep_beating(stop)
        log.info("scheduler running on %s; next sync at %s",
                 context.location.describe() if context.location else "its database", scheduler.next_run())
        stop.wait()
        scheduler.shutdown(wait=True)
    return 0
