"""The main window: a toolbar (Sync now, Refresh, search, sync status), the views, and its memory.

Views come from the registry in app/ui/views (``VIEWS``), listed in a side
navigation; each is built when first shown. The window remembers its
geometry, its splitter and the last view in QSettings, and comes back on a
screen that still exists. Closing it hides it to the tray when there is one
(said once); without a tray, closing quits, and the window says the
schedule only runs while it is open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QByteArray, QRect, QSettings, Qt, QTimer, Signal
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
    QWidget,
)

from app.ui.errors import explain
from app.ui.views import Factory, available
from app.ui.widgets.badge import BADGE_ROLE, BadgeDelegate
from app.ui.widgets.icons import app_icon, glyph
from app.ui.widgets.plain import ElidedLabel, PlainLabel, tip
from app.ui.widgets.tones import style

log = logging.getLogger(__name__)

ALL = "*"
SEARCH_DELAY_MS = 150
DEFAULT_SIZE = (1180, 760)
NO_TRAY_NOTE = "No system tray here: the daily sync runs only while this window is open."
KEY_ROLE = Qt.ItemDataRole.UserRole + 1


class MainWindow(QMainWindow):
    sync_requested = Signal(str)  # "*" or a company id
    closed_to_tray = Signal()

    def __init__(self, context: Any, tasks: Any, settings: QSettings, *, tray_available: bool,
                 views: list[tuple[str, str, Factory]] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.tasks = tasks
        self.settings = settings
        self.tray_available = tray_available
        self.quitting = False
        self.setWindowTitle("seatsync")
        self.setWindowIcon(app_icon())
        self.views: dict[str, QWidget] = {}
        self._registry = available(views)
        self._build()
        self._restore()

    # -- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(toolbar)
        self.sync_action = self._action("Sync now", "F5", self.sync_now, "sync",
                                        "Sync the selected company, or every company when none is selected")
        self.refresh_action = self._action("Refresh", "Ctrl+R", self.refresh, "refresh", "Read again what is shown")
        toolbar.addAction(self.sync_action)
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
        for number, (key, title, _) in enumerate(self._registry, start=1):
            item = QListWidgetItem(title, self.nav)
            item.setData(KEY_ROLE, key)
            item.setToolTip(f"{title} (Ctrl+{number})" if number <= 9 else title)
            if number <= 9:
                self.addAction(self._action(title, f"Ctrl+{number}", lambda k=key: self.show_view(k)))
        self.nav.currentRowChanged.connect(lambda row: self.show_view(self._registry[row][0]) if row >= 0 else None)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.nav)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([190, 990])
        self.setCentralWidget(self.splitter)
        if not self.tray_available:
            note = PlainLabel(NO_TRAY_NOTE, self)
            note.setObjectName("noTrayNote")
            self.statusBar().addPermanentWidget(note, 1)

    def _action(self, text: str, shortcut: str, slot: Callable[[], None], icon: str = "", tip: str = "") -> QAction:
        action = QAction(text, self)
        if icon:
            action.setIcon(glyph(icon))
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(f"{tip or text} ({shortcut})")
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
            widget = entry[2](self.context, self.tasks, self.stack)
        except Exception as error:  # noqa: BLE001 - one broken view never takes the window down
            log.exception("the %s view could not be built", key)
            widget = PlainLabel(f"The {entry[1]} view could not be opened: {explain(error)}", self.stack)
            widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
            widget.setWordWrap(True)
        self.views[key] = widget
        self.stack.addWidget(widget)
        self._connect(key, widget)
        return widget

    def _connect(self, key: str, widget: QWidget) -> None:
        if hasattr(widget, "attention_changed"):
            widget.attention_changed.connect(lambda count, k=key: self.set_badge(k, count))
        if hasattr(widget, "sync_requested"):
            widget.sync_requested.connect(lambda company_id: self.sync_requested.emit(str(company_id)))

    def show_view(self, key: str) -> None:
        widget = self.view(key)
        if widget is None:
            return
        self.stack.setCurrentWidget(widget)
        row = next(n for n, e in enumerate(self._registry) if e[0] == key)
        if self.nav.currentRow() != row:
            self.nav.setCurrentRow(row)
        if self.search.text() and hasattr(widget, "set_search"):
            widget.set_search(self.search.text())

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

    def each_view(self, method: str, *args: Any) -> None:
        for widget in list(self.views.values()):
            hook = getattr(widget, method, None)
            if callable(hook):
                hook(*args)

    # -- toolbar -----------------------------------------------------------------------------

    def sync_now(self) -> None:
        view = self.current_view()
        target = view.sync_target() if view is not None and hasattr(view, "sync_target") else None
        self.sync_requested.emit(ALL if target is None else str(target))

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

    # -- sync status (the app calls these from the bridge's signals) ------------------------------

    def on_sync_started(self, target: str) -> None:
        self.busy.show()
        self.sync_action.setEnabled(False)
        self.status.setText("Syncing every company…" if target == ALL else "Syncing…")
        self.each_view("on_sync_started", target)

    def on_sync_progress(self, target: str, text: str) -> None:
        if text:
            self.status.setText(f"Syncing… {text}")
        self.each_view("on_sync_progress", target, text)

    def on_sync_finished(self, target: str, summary: Any, error: Any, *, still_busy: bool = False) -> None:
        self.busy.setVisible(still_busy)
        self.sync_action.setEnabled(not still_busy)
        self.status.setText(sync_summary_text(summary, error))
        self.status.setToolTip(tip(explain(error)) if error is not None else "")
        self.each_view("on_sync_finished", target, summary, error)

    # -- memory ------------------------------------------------------------------------------

    def _restore(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(*DEFAULT_SIZE)
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
        """Bring the window back onto a screen that exists, no larger than it."""
        screens = QGuiApplication.screens()
        if not screens:
            return
        frame = self.frameGeometry()
        screen = next((s for s in screens if s.availableGeometry().intersects(frame)), None)
        area: QRect = (screen or QGuiApplication.primaryScreen() or screens[0]).availableGeometry()
        width, height = min(self.width(), area.width()), min(self.height(), area.height())
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
        visible = area.intersected(self.frameGeometry())
        if screen is None or visible.width() < 100 or visible.height() < 50:
            self.move(area.x() + (area.width() - width) // 2, area.y() + (area.height() - height) // 2)

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


def sync_summary_text(summary: Any, error: Any) -> str:
    """The toolbar's one line about the sync that just ended."""
    if error is not None:
        return f"Sync failed: {explain(error)}"
    if summary is None:
        return "Sync finished"
    failed = len(summary.failed)
    text = f"Synced {len(summary.results)} tenant(s): {summary.writes} change(s) written"
    held = getattr(summary, "held", 0)
    if held:
        text += f", {held} waiting for approval"
    if failed:
        text += f", {failed} failed"
    return text
