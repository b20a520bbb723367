"""Notifications in the window: what needs a person, after every sync and at start (DESIGN §1.9).

On a worker (``Tasks.run``), ``gather`` computes the notices with
``AfterSyncService.notices_after_sync`` (app/services/notify/after_sync.py: Partner Center's customers
not yet added, a failure to read them as a notice, and after a scheduled
sync the e-mail digest and the webhook, when enabled; ``run-scheduler``
calls the same function), and keeps those the tray may show by the
notifier's own rule (tray on, kind not muted in Settings).

Back on the UI thread, ``NotificationCenter`` keeps the notices and asks
for one tray message about the notices not shown before; a situation that
goes away and comes back is shown again. Only the newest computation
counts: an older one finishing late is dropped.

Each finding kind needing a person is a notice from the findings every
sync stores per tenant (whichever desktop or runner synced it), until a
later sync of that tenant no longer reports it.

What needs attention is one number everywhere: the companies needing
attention (``needing_attention``), as the Companies view counts them, which
is what the notices of the kinds that need attention (``notices.ATTENTION``:
unmapped licenses, changes waiting for approval, a failed last sync, missing
Microsoft access, findings) say company by company. The navigation's
badge, the tray and the toolbar's ``NoticesButton`` show it; the button's
menu lists the notices behind it by kind, those needing attention first.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from app.services.notify.delivery import Delivery, Notifier
from app.services.notify.notices import ATTENTION, KIND_LABELS, Notice, NoticeKind
from app.services.sync.service import companies
from app.ui.errors import explain
from app.ui.widgets.icons import app_icon
from app.ui.widgets.plain import tip

log = logging.getLogger(__name__)

#: How many notice titles one tray message lists before "and N more".
TITLES_SHOWN = 3
#: The view each kind of notice is dealt with in (the notices menu opens it).
VIEW_OF = {
    NoticeKind.APPROVALS_WAITING: "approvals",
    NoticeKind.ACCESS_FAILED: "settings",
    NoticeKind.GDAP: "access",
}
#: The kinds in the menu's order: those needing attention first.
MENU_ORDER = sorted(NoticeKind, key=lambda kind: kind not in ATTENTION)


@dataclass(frozen=True, kw_only=True)
class Gathered:
    notices: tuple[Notice, ...]
    #: The notices the tray may show (tray on, kind not muted).
    tray: tuple[Notice, ...]
    #: The digest and webhook sent with them (None: not a scheduled sync).
    delivery: Delivery | None = None


class _ChannelsOff:
    """The settings as the notifier sees them, with e-mail and webhook off: its tray rule alone."""

    def __init__(self, settings: Any) -> None:
        self.notifications = replace(settings.notifications, email_enabled=False, webhook_enabled=False)
        self._settings = settings

    def smtp_password(self) -> str:
        return self._settings.smtp_password()

    def webhook_url(self) -> str:
        return self._settings.webhook_url()


def tray_notices(settings: Any, notices: Sequence[Notice]) -> list[Notice]:
    """The notices the tray may show, by ``Notifier``'s own rule (tray on, kind not muted)."""
    shown: list[Notice] = []
    Notifier(_ChannelsOff(settings), tray=shown.append).deliver(notices)
    return shown


def gather(context: Any, *, digest: bool = False, run_id: int | None = None) -> Gathered:
    """On a worker: the notices, those for the tray, and (after a scheduled run) the digest sent."""
    from app.services.uow import connected

    with connected():
        done = context.after_sync.notices_after_sync(digest=digest, run_id=run_id, describe=explain)
        tray = tray_notices(context.settings, done.notices)
    return Gathered(notices=done.notices, tray=tuple(tray), delivery=done.delivery)


def needing_attention(rows: Sequence[Any]) -> int:
    """How many companies need attention: the one number the badge, the tray and the notices show."""
    return sum(1 for row in rows if row.attention)


def attention_text(count: int) -> str:
    """ "1 company needs your attention", "21 companies need your attention"."""
    return f"{companies(count)} need{'s' if count == 1 else ''} your attention"


def message_of(fresh: Sequence[Notice]) -> tuple[str, str]:
    """One tray message (title, text) about ``fresh`` notices."""
    if len(fresh) == 1:
        return fresh[0].title, fresh[0].message
    titles = [n.title for n in fresh[:TITLES_SHOWN]]
    more = len(fresh) - len(titles)
    return f"seatsync: {len(fresh)} new notices", "\n".join(titles + ([f"and {more} more"] if more else []))


class NotificationCenter(QObject):
    #: How many notices there are now.
    changed = Signal(int)
    #: A tray message to show: title, text (whoever owns the tray shows it).
    message = Signal(str, str)
    #: A computation finished and was applied: its ``Gathered``.
    gathered = Signal(object)

    def __init__(self, context: Any, tasks: Any, parent: QObject | None = None, *,
                 gather_fn: Callable[..., Gathered] = gather) -> None:
        super().__init__(parent)
        self.context = context
        self.tasks = tasks
        self._gather = gather_fn
        self.notices: tuple[Notice, ...] = ()
        self._seen: set[str] = set()
        self._asked = 0

    def refresh(self, *, digest: bool = False, run_id: int | None = None) -> None:
        """Compute the notices again on a worker (at start, after a sync, or when asked)."""
        self._asked += 1
        asked = self._asked
        context, gather_fn = self.context, self._gather
        # Once the window has shown the sync's result: computed beside its loads, the notices would slow the
        # repaint of the companies' new state.
        self.tasks.when_quiet(lambda: gather_fn(context, digest=digest, run_id=run_id),
                              lambda result: self._apply(asked, result),
                              lambda error: log.error("the notices could not be computed", exc_info=error),
                              label="compute notices")

    def after_sync(self, summary: Any, error: Any) -> None:
        """A sync ended (failed or not): notices again, and the digest if it was the scheduled one."""
        self.refresh(run_id=getattr(summary, "run_id", None) if error is None else None)

    def _apply(self, asked: int, result: Gathered) -> None:
        if asked != self._asked:
            return  # a newer computation is on its way
        fresh = [n for n in result.tray if n.key not in self._seen]
        self._seen = {n.key for n in result.notices}
        self.notices = result.notices
        self.changed.emit(len(result.notices))
        if fresh:
            self.message.emit(*message_of(fresh))
        self.gathered.emit(result)

    def count_by_kind(self) -> Counter[NoticeKind]:
        return Counter(n.kind for n in self.notices)


class NoticesButton(QToolButton):
    """The toolbar's badge: how many companies need attention (the same number as the navigation and the
    tray), and a menu of the notices by kind that opens where each is dealt with."""

    open_view = Signal(str)

    def __init__(self, center: NotificationCenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.center = center
        self.attention = 0
        self.setObjectName("notices")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setAutoRaise(True)
        self.setMenu(QMenu(self))
        self.menu().aboutToShow.connect(self.rebuild_menu)
        center.changed.connect(lambda _count: self._show())
        self._show()

    def show_attention(self, count: int) -> None:
        """The companies needing attention now."""
        self.attention = count
        self._show()

    def _show(self) -> None:
        count, notices = self.attention, len(self.center.notices)
        if count:
            text = f"{count} need{'s' if count == 1 else ''} attention"
        else:
            text = f"{notices} notice{'s' if notices != 1 else ''}" if notices else "No notices"
        self.setText(text)
        self.setIcon(app_icon("tray-attention" if count else "tray-idle"))
        said = f"{attention_text(count)}." if count else "No company needs your attention."
        self.setToolTip(f"{said} The menu lists the notices (Settings > Notifications chooses what the tray "
                        "shows).")

    def rebuild_menu(self) -> None:
        menu = self.menu()
        menu.clear()
        if self.attention:
            companies_entry = menu.addAction(attention_text(self.attention))
            companies_entry.triggered.connect(lambda _=False: self.open_view.emit("companies"))
            menu.addSeparator()
        counts = self.center.count_by_kind()
        if not counts:
            menu.addAction("No notices.").setEnabled(False)
            return
        for kind in MENU_ORDER:
            if not counts[kind]:
                continue
            titles = [n.title for n in self.center.notices if n.kind is kind][:10]
            action = menu.addAction(f"{KIND_LABELS[kind]} ({counts[kind]})")
            action.setToolTip(tip("\n".join(titles)))
            action.triggered.connect(lambda _=False, k=kind: self.open_view.emit(VIEW_OF.get(k, "companies")))
        menu.setToolTipsVisible(True)
