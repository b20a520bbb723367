"""After a sync (or at start): the notices, and after the scheduled sync the digest and webhook (DESIGN §1.9).

Before the notices, each tenant's GDAP standing is read from the partner's
relationships and recorded (``AccessService.check_gdap``), so a relationship
that ended or ends within 30 days is a notice, and in the digest.

The window (``app.ui.notifications``, on a worker) and ``run-scheduler``
(on the scheduler's thread) both call ``AfterSyncService.notices_after_sync``: it reads
Partner Center's customers not yet added (a failure to read them is itself
a notice; nothing to read while Microsoft is not connected), computes the
notices from stored data (``NotificationService``) and, after a scheduled
sync only, sends the e-mail digest and the webhook, when Settings enables
them, with every notice: the daily sync makes the daily digest, and a
"Sync now" never sends one. The tray is the window's: nothing here shows a
tray message.

Delivery never raises: a channel that fails is named in
``Delivery.errors`` (which never holds the webhook URL or the SMTP
password) and logged as a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from app.errors import ConfigurationError, SeatsyncError
from app.models.records import RunTrigger
from app.services.connections.access import AccessService
from app.services.customers.bulk_add import BulkAddService
from app.services.microsoft.wire import Customer
from app.services.notify.delivery import Delivery, Notifier
from app.services.notify.notices import Notice, NotificationService
from app.services.settings import Settings
from app.services.uow import UnitOfWork, connected

log = logging.getLogger(__name__)

#: What a Partner Center failure notice says was being done.
READING_PARTNER_CENTER = "Reading Partner Center's customers"


@dataclass(frozen=True, kw_only=True)
class AfterSync:
    notices: tuple[Notice, ...]
    #: The digest and webhook sent with them; None: not a scheduled sync, nothing was sent.
    delivery: Delivery | None = None


class AfterSyncService:
    def __init__(self, uow: UnitOfWork, *, notices: NotificationService, customers: BulkAddService,
                 settings: Settings, verify: bool | str, access: AccessService | None = None) -> None:
        self.uow = uow
        self.access = access
        self.notices = notices
        self.customers = customers
        self.settings = settings
        self.verify = verify

    def pending_customers(self, *, describe: Callable[[SeatsyncError], str] = str,
                          ) -> tuple[list[Customer], list[str]]:
        """(Partner Center customers not yet added, what failed reading them: one line per partner connection
        that could not be read); nothing when Microsoft is not connected.

        ``describe`` words a failure (the window adds what to do); it is a network call, for a worker thread.
        """
        try:
            pending, unread = self.customers.pending()
        except ConfigurationError:
            return [], []
        except SeatsyncError as error:
            return [], [f"{READING_PARTNER_CENTER}: {describe(error)}"]
        return pending, [f"{READING_PARTNER_CENTER} of partner connection '{u.partner}': {describe(u.error)}"
                         for u in unread]

    def check_gdap(self) -> None:
        """Record each tenant's GDAP standing from the partner's relationships (a network call). Nothing when
        Microsoft is not connected; a read the app may not make, or that fails, changes nothing (the access
        page says why when a person checks)."""
        if self.access is None:
            return
        try:
            unread = self.access.check_gdap()
        except SeatsyncError as error:
            unread = str(error)
        if unread:
            log.info("GDAP not checked: %s", unread)

    def is_scheduled(self, run_id: int | None) -> bool:
        """Whether the sync run ``run_id`` was started by the schedule (None: no run was recorded)."""
        return run_id is not None and self.uow.runs.get(run_id).trigger == RunTrigger.SCHEDULE

    def notices_after_sync(self, *, digest: bool = False, run_id: int | None = None,
                           describe: Callable[[SeatsyncError], str] = str) -> AfterSync:
        """The notices now; the digest and webhook sent too when ``digest`` or the run ``run_id`` was scheduled."""
        self.check_gdap()
        with connected():
            pending, failures = self.pending_customers(describe=describe)
            notices = self.notices.compute(pending_customers=pending, access_failures=failures)
            delivery = None
            if digest or self.is_scheduled(run_id):
                delivery = Notifier(self.settings, verify=self.verify).deliver(notices)
                for error in delivery.errors:
                    log.warning("notification not sent: %s", error)
        return AfterSync(notices=tuple(notices), delivery=delivery)
