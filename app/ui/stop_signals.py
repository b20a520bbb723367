"""Let a signal (SIGTERM, SIGINT) end the window's event loop the way Quit does.

Python runs a signal's handler only between its own bytecodes, and none run
while Qt's event loop waits: ``signals_reach_the_loop`` points Python's
wakeup file descriptor at a socket Qt watches, so a signal wakes the loop and
its Python handler runs at once. A handler ends the loop with ``exit_loop``.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QCoreApplication, QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication


@contextmanager
def signals_reach_the_loop() -> Iterator[QCoreApplication]:
    """The application (made here if there is none), its loop woken by every signal while inside."""
    app = QApplication.instance() or QApplication([])
    receive, send = socket.socketpair()
    receive.setblocking(False)
    send.setblocking(False)
    previous = signal.set_wakeup_fd(send.fileno(), warn_on_full_buffer=False)
    notifier = QSocketNotifier(receive.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(lambda *_: _drain(receive))  # running Python here runs the handler
    try:
        yield app
    finally:
        notifier.setEnabled(False)
        signal.set_wakeup_fd(previous)
        receive.close()
        send.close()


def _drain(receive: socket.socket) -> None:
    try:
        while receive.recv(64):
            pass
    except OSError:
        pass  # nothing more to read


def exit_loop(code: int) -> None:
    """End the event loop with ``code`` as soon as it runs (safe to call from a signal handler)."""
    app = QCoreApplication.instance()
    if app is not None:
        QTimer.singleShot(0, app, lambda: QCoreApplication.exit(code))
