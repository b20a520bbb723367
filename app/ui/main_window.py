"""The main window: a toolbar (Sync now, Refresh, search, sync status, Cancel sync), the views, the first-run
guide, the Help menu, and its memory.

Views come from the registry in app/ui/views (``VIEWS``), listed in a side
navigation; each is built when first shown. Choosing a view in the
navigation shows its first page (Companies: the list, not the company last
opened). Every view sits in a page that scrolls when the window is smaller
than the view, with the same margins on every view, so the window's minimum
size is that of its own parts: it fits a 1366×768 laptop at 100 % and at
125 %, and neither showing Settings nor a long message makes it grow.

The window opens at a size that fits the screen's available area (the
taskbar and the title bar left out), remembers its geometry, its splitter,
the last view and whether the set-up guide was open in QSettings, and comes
back on a screen that still exists. Closing it hides it to the tray when
there is one (said once); without a tray, closing quits, and the window says
the schedule only runs while it is open.

On an install with no PSA connection the set-up guide (app/ui/views/first_run.py)
shows above the views; Help > Set-up guide shows it again, Help > About
seatsync says what is installed where.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QRect, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QProgressBar,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.services import setup_guide
from app.services.sync.scheduler import ALL
from app.services.team.roles import Ability, Role
from app.services.team.syncer import SyncRunningElsewhere
from app.ui.errors import explain
from app.ui.sync_gateway import SyncGateway, target_of
from app.ui.views import Factory, available
from app.ui.views.first_run import SetupGuidePanel
from app.ui.widgets.badge import BADGE_ROLE, BadgeDelegate
from app.ui.widgets.icons import app_icon, glyph
from app.ui.widgets.plain import ElidedLabel, PlainLabel, tip
from app.ui.widgets.scroll import ScrollPage
from app.ui.widgets.tones import style

if TYPE_CHECKING:
    from app.services.sync.service import RunSummary

log = logging.getLogger(__name__)

SEARCH_DELAY_MS = 150
#: The size the window opens at the first time, when the screen has room for it.
DEFAULT_SIZE = QSize(1280, 800)
#: What the system adds around the window (title bar, borders) before the window is shown and says so itself.
FRAME_ALLOWANCE = QSize(16, 40)
#: Every view's margins (left, top, right, bottom) inside its page: no view jumps from one to the next.
PAGE_MARGINS = (10, 8, 10, 10)
NAV_WIDTH = 190
NO_TRAY_NOTE = "No system tray here: the daily sync runs only while this window is open."
KEY_ROLE = Qt.ItemDataRole.UserRole + 1
CANCELLING = "Cancelling…"


def default_geometry(area: QRect, frame: QSize = FRAME_ALLOWANCE) -> QRect:
    """Where the window opens the first time: DEFAULT_SIZE, or less so that it and its ``frame`` fit ``area``
    (a screen's available geometry), centred in it."""
    width = max(min(DEFAULT_SIZE.width(), area.width() - frame.width()), 1)
    height = max(min(DEFAULT_SIZE.height(), area.height() - frame.height()), 1)
    title = frame.height() - frame.width() // 2  # the title bar and the top border; the bottom border is below
    left = area.x() + (area.width() - width) // 2
    top = area.y() + max(area.height() - height - frame.height(), 0) // 2 + title
    return QRect(left, top, width, height)


class MainWindow(QMainWindow):
    closed_to_tray = Signal()

    def __init__(self, context: Any, tasks: Any, settings: QSettings, *, tray_available: bool,
                 sync: SyncGateway | None = None, views: list[tuple[str, str, Factory]] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.tasks = tasks
        #: The sync gateway: the toolbar asks it, and the window and each view follow its signals themselves.
        self.sync = sync
        self.settings = settings
        self.tray_available = tray_available
        self.quitting = False
        self.syncing = False  # between on_sync_started and the last on_sync_finished
        self.cancelling = False  # Cancel sync was clicked and the sync has not finished yet
        self.about_dialog: QWidget | None = None
        self.setWindowTitle("seatsync")
        self.setWindowIcon(app_icon())
        self.views: dict[str, QWidget] = {}
        self.pages: dict[str, ScrollPage] = {}
        self._registry = available(views)
        self._guide_reading = False
        self._guide_again = False
        self._guide_at_start = True
        self._build()
        self._restore()
        if sync is not None:
            sync.started.connect(self.on_sync_started)
            sync.progressed.connect(self.on_sync_progress)
            sync.finished.connect(self._sync_finished)
            sync.refused.connect(lambda _target: self.status.setText("A sync of this is already running"))
        self.refresh_guide()

    # -- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(toolbar)
        self.sync_action = self._action("Sync now", "F5", self.sync_now, "sync",
                                        self.role().refusal(Ability.SYNC)
                                        or "Sync the selected company, or every company when none is selected")
        self.sync_action.setEnabled(self.role().may_sync)
        self.preview_action = self._action("Preview", "Shift+F5", self.preview, "",
                                           "Every change Sync now would write, before writing it; then apply "
                                           "exactly those")
        self.refresh_action = self._action("Refresh", "Ctrl+R", self.refresh, "refresh", "Read again what is shown")
        self.cancel_action = self._action("Cancel sync", "", self.cancel_sync, "",
                                          "Stop the sync that is running: what is written stays written, the "
                                          "rest waits for the next sync")
        self.cancel_action.setObjectName("cancelSync")
        self.cancel_action.setEnabled(False)
        toolbar.addAction(self.sync_action)
        toolbar.addAction(self.preview_action)
        toolbar.addAction(self.refresh_action)
        toolbar.addSeparator()
        self.search = QLineEdit(self)
        self.search.setObjectName("search")
        self.search.setPlaceholderText("Search companies (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMaximumWidth(340)
        self.search.setMinimumWidth(160)
        toolbar.addWidget(self.search)
        spacer = QWidget(self)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(spacer)
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(90)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.status = ElidedLabel("Ready", self)
        self.status.setObjectName("syncStatus")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        toolbar.addWidget(self.busy)
        toolbar.addWidget(self.status)
        toolbar.addAction(self.cancel_action)
        self.cancel_button = toolbar.widgetForAction(self.cancel_action)
        find = self._action("Find", "Ctrl+F", self._focus_search)
        self.addAction(find)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._apply_search)
        self.search.textChanged.connect(lambda _: self._search_timer.start())

        self.nav = QListWidget(self)
        self.nav.setObjectName("navigation")
        self.nav.setItemDelegate(BadgeDelegate(self.nav))
        self.nav.setMinimumWidth(150)
        self.nav.setSpacing(2)
        style(self.nav, "QListWidget#navigation { padding: 4px; } QListWidget#navigation::item { padding: 5px 6px; }")
        self.stack = QStackedWidget(self)
        view_actions = []
        for number, (key, title, _) in enumerate(self._registry, start=1):
            item = QListWidgetItem(title, self.nav)
            item.setData(KEY_ROLE, key)
            item.setToolTip(f"{title} (Ctrl+{number})" if number <= 9 else title)
            if number <= 9:
                action = self._action(title, f"Ctrl+{number}", functools.partial(self.navigate, key))
                self.addAction(action)
                view_actions.append(action)
        self.nav.currentRowChanged.connect(lambda row: self.navigate(self._registry[row][0]) if row >= 0 else None)
        self.nav.itemClicked.connect(lambda item: self.navigate(item.data(KEY_ROLE)))

        self.guide = SetupGuidePanel(self)
        self.guide.step_requested.connect(self.open_step)
        self.guide.hide_requested.connect(self.hide_guide)
        self.guide_box = QWidget(self)
        self.guide_box.setObjectName("guideBox")
        box = QVBoxLayout(self.guide_box)
        box.setContentsMargins(PAGE_MARGINS[0], PAGE_MARGINS[1], PAGE_MARGINS[2], 0)
        box.addWidget(self.guide)
        self.guide_box.hide()
        content = QWidget(self)
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.guide_box)
        column.addWidget(self.stack, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.nav)
        self.splitter.addWidget(content)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(0, False)
        self.splitter.setCollapsible(1, False)
        self.splitter.setSizes([NAV_WIDTH, DEFAULT_SIZE.width() - NAV_WIDTH])
        self.setCentralWidget(self.splitter)
        self._build_menus(view_actions, find)
        self.tasks.busy_changed.connect(self._tasks_changed)
        if not self.tray_available:
            note = PlainLabel(NO_TRAY_NOTE, self)
            note.setObjectName("noTrayNote")
            self.statusBar().addPermanentWidget(note, 1)
        user = getattr(getattr(self.context, "database_user", None), "user", "")
        if user:  # a team database: who this desktop is there, and so what it may do
            self.connected_as = PlainLabel(f"Connected as {user} ({self.role().value})", self)
            self.connected_as.setObjectName("connectedAs")
            self.statusBar().addPermanentWidget(self.connected_as)

    def role(self) -> Role:
        """The connected database user's role (the owner when no data is open)."""
        return self.context.role() if self.context is not None else Role.OWNER

    def _build_menus(self, view_actions: list[QAction], find: QAction) -> None:
        bar = self.menuBar()
        view = bar.addMenu("&View")
        view.addActions(view_actions)
        view.addSeparator()
        view.addAction(self.refresh_action)
        view.addAction(find)
        sync = bar.addMenu("&Sync")
        sync.addAction(self.sync_action)
        sync.addAction(self.cancel_action)
        help_menu = bar.addMenu("&Help")
        self.guide_action = help_menu.addAction("Set-up guide")
        self.guide_action.setToolTip("The steps that set seatsync up, and which of them are done")
        self.guide_action.triggered.connect(lambda *_: self.show_guide())
        help_menu.addSeparator()
        self.about_action = help_menu.addAction("About seatsync")
        self.about_action.triggered.connect(lambda *_: self.show_about())
        self.help_menu = help_menu

    def _action(self, text: str, shortcut: str, slot: Callable[[], object], icon: str = "", tip: str = "") -> QAction:
        action = QAction(text, self)
        if icon:
            action.setIcon(glyph(icon))
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(f"{tip or text} ({shortcut})" if shortcut else tip or text)
        action.triggered.connect(lambda *_: slot())
        return action

    # -- views -----------------------------------------------------------------------------

    def view(self, key: str) -> QWidget | None:
        """The view, built now if it was never shown (None when it cannot be built)."""
        if key in self.views:
            return self.views[key]
        entry = next((e for e in self._registry if e[0] == key), None)
        if entry is None:
            return None
        try:
            widget = entry[2](self.context, self.tasks, self.stack, self.sync)
        except Exception as error:  # one broken view never takes the window down
            log.exception("the %s view could not be built", key)
            widget = PlainLabel(f"The {entry[1]} view could not be opened: {explain(error)}", self.stack)
            widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
            widget.setWordWrap(True)
        layout = widget.layout()
        if layout is not None:
            layout.setContentsMargins(*PAGE_MARGINS)
        page = ScrollPage(widget, self.stack)
        page.setObjectName(f"page.{key}")
        self.views[key] = widget
        self.pages[key] = page
        self.stack.addWidget(page)
        self._connect(key, widget)
        return widget

    def _connect(self, key: str, widget: QWidget) -> None:
        if hasattr(widget, "attention_changed"):
            widget.attention_changed.connect(lambda count, k=key: self.set_badge(k, count))

    def show_view(self, key: str) -> QWidget | None:
        widget = self.view(key)
        if widget is None:
            return None
        self.stack.setCurrentWidget(self.pages[key])
        row = next(n for n, e in enumerate(self._registry) if e[0] == key)
        if self.nav.currentRow() != row:
            self.nav.blockSignals(True)  # the navigation follows; it does not navigate again
            try:
                self.nav.setCurrentRow(row)
            finally:
                self.nav.blockSignals(False)
        if self.search.text() and hasattr(widget, "set_search"):
            widget.set_search(self.search.text())
        return widget

    def navigate(self, key: str) -> QWidget | None:
        """A view chosen in the navigation (or by its shortcut): shown at its first page."""
        widget = self.show_view(key)
        home = getattr(widget, "show_home", None)
        if callable(home):
            home()
        return widget

    def current_key(self) -> str:
        item = self.nav.currentItem()
        return item.data(KEY_ROLE) if item is not None else ""

    def current_view(self) -> QWidget | None:
        return self.views.get(self.current_key())

    def set_badge(self, key: str, count: int) -> None:
        for row in range(self.nav.count()):
            item = self.nav.item(row)
            if item.data(KEY_ROLE) == key:
                item.setData(BADGE_ROLE, count)

    def badge(self, key: str) -> int:
        item = next((self.nav.item(r) for r in range(self.nav.count()) if self.nav.item(r).data(KEY_ROLE) == key),
                    None)
        return int(item.data(BADGE_ROLE) or 0) if item is not None else 0

    # -- toolbar -----------------------------------------------------------------------------

    def sync_now(self) -> None:
        if not self.role().may_sync:  # the database would refuse the run's first write
            self.status.setText(self.role().refusal(Ability.SYNC))
            return
        view = self.current_view()
        company_id = view.sync_target() if view is not None and hasattr(view, "sync_target") else None
        if self.sync is not None:
            self.sync.sync_now(target_of(company_id))

    def preview(self) -> None:
        """The preview of what Sync now would write for the company shown (or every company)."""
        from app.ui.dialogs.preview import PreviewDialog

        view = self.current_view()
        company_id = view.sync_target() if view is not None and hasattr(view, "sync_target") else None
        if self.sync is None:
            return
        service = self.context.sync
        scope = "every company" if company_id is None else "the company shown"
        self.preview_dialog = PreviewDialog(self.context, self.tasks, self.sync, target_of(company_id),
                                            lambda: service.plan(company_id), self, scope=scope)
        self.preview_dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.preview_dialog.open()

    def refresh(self) -> None:
        view = self.current_view()
        if view is not None and hasattr(view, "refresh"):
            view.refresh()

    def _focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _apply_search(self) -> None:
        view = self.current_view()
        if view is not None and hasattr(view, "set_search"):
            view.set_search(self.search.text())

    # -- sync status (from the sync gateway's signals) ---------------------------------------------

    def on_sync_started(self, target: str) -> None:
        self.syncing, self.cancelling = True, False
        self.busy.show()
        self.sync_action.setEnabled(False)
        self.cancel_action.setEnabled(True)
        self.status.setText("Syncing every company…" if target == ALL else "Syncing…")

    def on_sync_progress(self, target: str, text: str) -> None:
        if text and not self.cancelling:
            self.status.setText(f"Syncing… {text}")

    def _sync_finished(self, target: str, summary: RunSummary | None, error: BaseException | None) -> None:
        assert self.sync is not None
        self.on_sync_finished(target, summary, error, still_busy=self.sync.busy)

    def on_sync_finished(self, target: str, summary: RunSummary | None, error: BaseException | None, *,
                         still_busy: bool = False) -> None:
        cancelled = self.cancelling
        self.syncing = still_busy
        self.cancelling = cancelled and still_busy
        self.busy.setVisible(still_busy)
        self.sync_action.setEnabled(not still_busy and self.role().may_sync)
        self.cancel_action.setEnabled(still_busy and not self.cancelling)
        if self.cancelling:
            self.status.setText(CANCELLING)
        else:
            text = sync_summary_text(summary, error)
            if cancelled and not text.startswith("Sync cancelled"):
                text = f"Sync cancelled: {explain(error)}" if error is not None else f"Sync cancelled. {text}"
            self.status.setText(text)
        self.status.setToolTip(tip(explain(error)) if error is not None else "")
        self._guide_may_have_moved()

    def cancel_sync(self) -> None:
        """Ask the running sync to stop; "Cancelling…" until it has finished."""
        if not self.syncing or self.cancelling:
            return
        self.cancelling = True
        self.cancel_action.setEnabled(False)
        self.status.setText(CANCELLING)
        self.status.setToolTip("")
        if self.sync is not None:
            self.sync.cancel()

    # -- the set-up guide ---------------------------------------------------------------------------

    def refresh_guide(self) -> None:
        """Read the set-up steps again on a worker (at start, when work settles, when asked)."""
        if self.context is None:
            return
        if self._guide_reading:
            self._guide_again = True
            return
        self._guide_reading, self._guide_again = True, False
        context, previewed = self.context, bool(self.settings.value("guide/previewed", False, type=bool))
        self.tasks.run(lambda: setup_guide.read_guide(context.uow, previewed=previewed), self._guide_read,
                       self._guide_failed, label="read set-up steps")

    def _guide_read(self, guide: Any) -> None:
        self._guide_reading = False
        if self._guide_at_start:
            self._guide_at_start = False
            left_open = self.settings.value("guide/open", False, type=bool)
            if not guide.psa_connected or (left_open and not guide.complete):
                self._set_guide_shown(True)
        self.guide.show_guide(guide)
        if guide.complete:
            self.settings.setValue("guide/open", False)
        if self._guide_again:
            self.refresh_guide()

    def _guide_failed(self, error: BaseException) -> None:
        self._guide_reading = False
        self._guide_at_start = False
        self.guide.failed(explain(error, doing="Could not read what is set up"))

    def _tasks_changed(self, running: int) -> None:
        """Work in the background settled (a connection, a profile or a mapping saved...)."""
        if running == 0 and not self._guide_reading:
            self._guide_may_have_moved()

    def _guide_may_have_moved(self) -> None:
        """Read the steps again if the guide is on the screen and not complete yet."""
        if self.isVisible() and self.guide_box.isVisibleTo(self) and not self.guide.complete:
            self.refresh_guide()

    def show_guide(self) -> None:
        self._set_guide_shown(True)
        self._guide_at_start = False
        self.refresh_guide()

    def hide_guide(self) -> None:
        self._set_guide_shown(False)
        self._guide_at_start = False  # hidden before the first read came back: it stays hidden

    def _set_guide_shown(self, shown: bool) -> None:
        self.guide_box.setVisible(shown)
        self.settings.setValue("guide/open", shown)

    def open_step(self, key: str) -> None:
        """Open the place where set-up step ``key`` is done (app/services/setup_guide.py names them)."""
        done = self.guide.guide is not None and self.guide.guide.step(key).done
        target = {"psa": "settings", "microsoft": "settings", "profiles": "profiles", "companies": "companies",
                  "mappings": "companies", "preview": "reports"}[key]
        view = self.navigate(target)
        if view is None:
            self.status.setText(f"This window has no {target} view.")
            return
        if key == "psa" and not done and hasattr(view, "edit_psa"):
            view.edit_psa(None)
        elif key == "microsoft" and not done and hasattr(view, "edit_microsoft"):
            view.edit_microsoft()
        elif key == "companies" and hasattr(view, "add_companies"):
            view.add_companies()
        elif key == "mappings" and hasattr(view, "show_unmapped"):
            view.show_unmapped()
        elif key == "preview":
            self.settings.setValue("guide/previewed", True)
            self.refresh_guide()

    # -- Help ------------------------------------------------------------------------------------

    def show_about(self) -> QWidget:
        from app.ui.dialogs.about import AboutDialog, about_info

        if self.about_dialog is None:
            self.about_dialog = AboutDialog(about_info(self.context.data_dir), self)
            self.about_dialog.finished.connect(lambda _: setattr(self, "about_dialog", None))
            self.about_dialog.finished.connect(self.about_dialog.deleteLater)
            self.about_dialog.open()
        return self.about_dialog

    # -- memory ------------------------------------------------------------------------------

    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            screen = QGuiApplication.primaryScreen()
            if screen is not None:
                self.setGeometry(default_geometry(screen.availableGeometry()))
            else:
                self.resize(DEFAULT_SIZE)
        self.clamp_to_screen()
        splitter = self.settings.value("window/splitter")
        if isinstance(splitter, QByteArray) and not splitter.isEmpty():
            self.splitter.restoreState(splitter)
        keys = [e[0] for e in self._registry]
        last = str(self.settings.value("window/view", keys[0] if keys else ""))
        if keys:
            self.show_view(last if last in keys else keys[0])
            self.view(keys[0])  # the first view (Companies) carries the badge: build it even when not shown

    def clamp_to_screen(self) -> None:
        """Bring the window back onto a screen that exists, no larger than its available area (with the frame the
        system adds)."""
        screens = QGuiApplication.screens()
        if not screens:
            return
        frame = self.frameGeometry()
        screen = next((s for s in screens if s.availableGeometry().intersects(frame)), None)
        area: QRect = (screen or QGuiApplication.primaryScreen() or screens[0]).availableGeometry()
        extra = frame.size() - self.size()
        if extra.height() <= 0:  # not shown yet: the system has not said what it adds
            extra = FRAME_ALLOWANCE
        width = min(self.width(), area.width() - extra.width())
        height = min(self.height(), area.height() - extra.height())
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
        visible = area.intersected(self.frameGeometry())
        if screen is None or visible.width() < 100 or visible.height() < 50:
            self.move(area.x() + (area.width() - width - extra.width()) // 2,
                      area.y() + (area.height() - height - extra.height()) // 2)

    def save_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("window/view", self.current_key())
        self.settings.sync()

    def bring_to_front(self) -> None:
        self.show()
        self.setWindowState((self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive)
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        if self.tray_available and not self.quitting:
            event.ignore()
            self.hide()
            if not self.settings.value("tray/told", False, type=bool):
                self.settings.setValue("tray/told", True)
                self.closed_to_tray.emit()
            return
        event.accept()


def sync_summary_text(summary: RunSummary | None, error: BaseException | None) -> str:
    """The toolbar's one line about the sync that just ended."""
    if isinstance(error, SyncRunningElsewhere):  # coalesced into a team-mate's or the runner's sync: no failure
        return explain(error)
    if error is not None:
        return f"Sync failed: {explain(error)}"
    if summary is None:
        return "Sync finished"
    skipped = len(summary.not_synced)  # not started: the run was cancelled or stopped early
    failed = len(summary.failed) - skipped
    text = f"Synced {len(summary.results) - skipped} tenant(s): {summary.writes} change(s) written"
    if summary.held:
        text += f", {summary.held} waiting for approval"
    if failed:
        text += f", {failed} failed"
    if skipped:
        text += f", {skipped} not synced"
    return f"Sync cancelled. {text}" if summary.cancelled else text
