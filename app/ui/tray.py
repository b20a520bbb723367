"""The system-tray icon: its menu, its state, its messages. It only emits signals.

The menu (Open, Sync now, Cancel sync while one runs, Pause sync, Quit) is
rebuilt each time it is about to show, from the state the app gives it, so
it is never stale. The icon shows idle, syncing or "needs attention"; the
tooltip says what and when.
Whoever owns the tray decides what each signal does: the tray never calls a
service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.ui.widgets.icons import app_icon
from app.ui.widgets.plain import clip, tip, tray_text, tray_title


class TrayState(StrEnum):
    IDLE = "idle"
    SYNCING = "syncing"
    ATTENTION = "attention"


@dataclass(frozen=True, kw_only=True)
class TrayStatus:
    """What the menu shows when it opens."""

    syncing: bool = False
    paused: bool = False
    #: A cancel was asked and the running sync is finishing the companies it started.
    cancelling: bool = False


class Tray(QObject):
    open_requested = Signal()
    sync_requested = Signal()
    cancel_requested = Signal()
    pause_requested = Signal(bool)  # True: pause the schedule, False: resume it
    quit_requested = Signal()
    #: A message was shown: title, text (tests and logs listen).
    message_shown = Signal(str, str)

    def __init__(self, status: Callable[[], TrayStatus] = TrayStatus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._status = status
        self.state = TrayState.IDLE
        self.icon = QSystemTrayIcon(parent)
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self.rebuild_menu)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.set_state(TrayState.IDLE, "seatsync")
        self.rebuild_menu()

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def set_state(self, state: TrayState, tooltip: str) -> None:
        self.state = TrayState(state)
        self.icon.setIcon(app_icon(f"tray-{self.state.value}"))
        self.icon.setToolTip(tip(tooltip))

    def show_message(self, title: str, text: str) -> None:
        self.icon.showMessage(tray_title(clip(title)), tray_text(text), app_icon(f"tray-{self.state.value}"), 8000)
        self.message_shown.emit(title, text)

    def rebuild_menu(self) -> None:
        status = self._status()
        self.menu.clear()
        self._add("Open seatsync", lambda *_: self.open_requested.emit())
        sync = self._add("Syncing…" if status.syncing else "Sync now", lambda *_: self.sync_requested.emit())
        sync.setEnabled(not status.syncing)
        if status.syncing:
            cancel = self._add("Cancelling…" if status.cancelling else "Cancel sync",
                               lambda *_: self.cancel_requested.emit())
            cancel.setEnabled(not status.cancelling)
            cancel.setToolTip("Stop the sync: the companies it started finish, the others are not synced")
        pause = self._add("Pause sync", lambda checked: self.pause_requested.emit(checked))
        pause.setCheckable(True)
        pause.setChecked(status.paused)
        pause.setToolTip("Pause the daily sync (Sync now still works)")
        self.menu.addSeparator()
        self._add("Quit seatsync", lambda *_: self.quit_requested.emit())

    def actions(self) -> dict[str, QAction]:
        """The menu's actions by text (tests trigger them as a click would)."""
        return {action.text(): action for action in self.menu.actions() if action.text()}

    def _add(self, text: str, slot: Callable) -> QAction:
        action = QAction(text, self.menu)
        action.triggered.connect(slot)
        self.menu.addAction(action)
        return action

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.open_requested.emit()

    def dispose(self) -> None:
        self.icon.hide()
        self.menu.deleteLater()
