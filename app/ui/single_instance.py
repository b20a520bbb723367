"""One seatsync window per user: a second start hands over to the first and exits.

The first instance listens on a QLocalServer private to the user and the
data directory (so a test, or a second data directory, never meets the
user's own instance, and another user cannot stand in for it): on POSIX a
socket inside the data directory, which is 0700 (or, when that path is too
long for a socket, inside the user's private runtime directory); on Windows
a named pipe whose name holds a random key kept in the data directory, under
the user's profile, which other users cannot read (docs/security.md). A
predictable name in a shared place (/tmp) would let another local user
listen first and keep seatsync from starting. A second start connects, sends one line of
versioned JSON — ``{"v": 1, "action": "raise", "args": [...]}`` — and exits;
the first raises its window. A message it cannot read (another version,
not JSON, too long, a client that never finishes its line) is logged and
dropped, never fatal. A server name left behind by a crashed instance is
removed when nobody answers on it.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import logging
import os
import secrets
import stat
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtNetwork import QAbstractSocket, QLocalServer, QLocalSocket

from app import paths
from app.errors import SeatsyncError

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 1
TIMEOUT_MS = 2000
MAX_MESSAGE = 64 * 1024


class BadMessage(SeatsyncError):
    """Another seatsync start sent a message this one cannot read."""


@dataclass(frozen=True, kw_only=True)
class InstanceMessage:
    action: str
    args: tuple[str, ...] = ()


#: The longest socket path used (sun_path holds 108 bytes on Linux, 104 on macOS, with its terminating NUL).
SOCKET_PATH_MAX = 100
KEY_FILE = "instance.key"


def server_name(data_dir: Path | str, user: str | None = None, *, platform: str | None = None,
                environ: Mapping[str, str] | None = None) -> str:
    """The local server's name for this user and data directory, somewhere only this user can reach.

    POSIX: the full path of a socket in the data directory (made 0700), else in a private runtime directory.
    Windows: a pipe name with the data directory's random key, which only the user can read.
    """
    user = user if user is not None else getpass.getuser()
    data_dir = paths.private_dir(Path(data_dir)).resolve()
    digest = hashlib.sha256(f"{user}\0{data_dir}".encode()).hexdigest()[:16]
    platform = sys.platform if platform is None else platform
    if platform.startswith("win"):
        return f"seatsync-{digest}-{_instance_key(data_dir)}"
    socket_name = f"seatsync-{digest}.sock"
    inside = data_dir / socket_name
    if len(os.fsencode(inside)) <= SOCKET_PATH_MAX:
        return str(inside)
    return str(_runtime_dir(os.environ if environ is None else environ) / socket_name)


def _instance_key(data_dir: Path) -> str:
    """A random key kept in the data directory (created once, readable by its user only)."""
    path = data_dir / KEY_FILE
    for _ in range(2):
        try:
            key = path.read_text(encoding="ascii").strip()
            if key:
                return key
        except (OSError, UnicodeDecodeError):
            pass
        try:
            with open(path, "x", encoding="ascii", opener=paths.private_opener) as handle:
                handle.write(secrets.token_hex(16))
        except FileExistsError:
            continue  # another start wrote it first: read theirs
    return path.read_text(encoding="ascii").strip()


def _runtime_dir(environ: Mapping[str, str]) -> Path:
    """A directory only this user can enter, with a short path: $XDG_RUNTIME_DIR, else one of ours in the temp dir.

    A folder in the temp directory that someone else created (or opened to others) is never used.
    """
    runtime = environ.get("XDG_RUNTIME_DIR", "").strip()
    if runtime and Path(runtime).is_absolute() and _private_to_us(Path(runtime)):
        return Path(runtime)
    shared = Path(tempfile.gettempdir()) / f"seatsync-{os.geteuid()}"
    with contextlib.suppress(FileExistsError):
        shared.mkdir(mode=paths.PRIVATE_DIR_MODE)
    if _private_to_us(shared):
        return shared
    log.warning("%s is not private to this user: one seatsync per user is not enforced this time", shared)
    return Path(tempfile.mkdtemp(prefix="seatsync-"))


def _private_to_us(path: Path) -> bool:
    try:
        info = path.lstat()
    except OSError:
        return False
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
            and stat.S_IMODE(info.st_mode) & 0o077 == 0)


def encode(message: InstanceMessage) -> bytes:
    return (json.dumps({"v": PROTOCOL_VERSION, "action": message.action, "args": list(message.args)}) + "\n").encode()


def decode(data: bytes) -> InstanceMessage:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadMessage(f"(not JSON: {error})") from None
    if not isinstance(value, dict):
        raise BadMessage("(not a JSON object)")
    if value.get("v") != PROTOCOL_VERSION:
        raise BadMessage(f"(protocol version {value.get('v')!r}; this seatsync speaks {PROTOCOL_VERSION})")
    action, args = value.get("action"), value.get("args", [])
    if not isinstance(action, str) or not action or not isinstance(args, list):
        raise BadMessage("(it needs an action and a list of arguments)")
    return InstanceMessage(action=action, args=tuple(str(a) for a in args))


class SingleInstance(QObject):
    """The first instance's server, and the second instance's one message to it."""

    message_received = Signal(object)  # InstanceMessage

    def __init__(self, name: str, parent: QObject | None = None, *, timeout_ms: int = TIMEOUT_MS) -> None:
        super().__init__(parent)
        self.name = name
        self.timeout_ms = timeout_ms
        self.server: QLocalServer | None = None
        self._buffers: dict[QLocalSocket, bytearray] = {}

    # -- the second instance ---------------------------------------------------------

    def send(self, message: InstanceMessage) -> bool:
        """Hand ``message`` to a running instance; False when none answers."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(self.timeout_ms):
            return False
        socket.write(encode(message))
        sent = socket.waitForBytesWritten(self.timeout_ms)
        socket.disconnectFromServer()
        if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
            socket.waitForDisconnected(self.timeout_ms)
        if not sent:
            log.warning("a running seatsync did not take the message: %s", socket.errorString())
        return sent

    # -- the first instance --------------------------------------------------------------

    def listen(self) -> bool:
        """Serve as the running instance; False when the name cannot be taken (logged)."""
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            if server.serverError() != QAbstractSocket.SocketError.AddressInUseError:
                log.warning("cannot listen for other seatsync starts: %s", server.errorString())
                return False
            # Nobody answered on it (the caller tried ``send`` first): a crashed instance left it behind.
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                log.warning("cannot listen for other seatsync starts: %s", server.errorString())
                return False
        server.newConnection.connect(self._accept)
        self.server = server
        return True

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for socket in list(self._buffers):
            self._drop(socket)

    def _accept(self) -> None:
        while self.server is not None and self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            self._buffers[socket] = bytearray()
            # Slots that find the socket as the sender (or the timer's parent) rather than functions holding it:
            # PySide crashes when the collector frees such a function while its socket is being deleted.
            socket.readyRead.connect(self._ready)
            socket.disconnected.connect(self._gone)
            timer = QTimer(socket)
            timer.setSingleShot(True)
            timer.timeout.connect(self._expire)
            timer.start(self.timeout_ms)

    def _ready(self) -> None:
        self._read(cast(QLocalSocket, self.sender()))

    def _gone(self) -> None:
        self._read(cast(QLocalSocket, self.sender()), final=True)

    def _read(self, socket: QLocalSocket, final: bool = False) -> None:
        buffer = self._buffers.get(socket)
        if buffer is None:
            return
        buffer.extend(bytes(socket.readAll().data()))
        if len(buffer) > MAX_MESSAGE:
            log.warning("ignored a message from another seatsync start: longer than %d bytes", MAX_MESSAGE)
            self._drop(socket)
            return
        line, newline, _ = bytes(buffer).partition(b"\n")
        if not newline and not final:
            return
        self._drop(socket)
        if not line.strip():
            return
        try:
            message = decode(line)
        except BadMessage as error:
            log.warning("ignored a message from another seatsync start: %s", error)
            return
        log.info("another seatsync start asked: %s", message.action)
        self.message_received.emit(message)

    def _expire(self) -> None:
        socket = cast(QLocalSocket, self.sender().parent())
        if socket in self._buffers:
            log.warning("ignored another seatsync start: it did not finish its message in %d ms", self.timeout_ms)
            self._drop(socket)

    def _drop(self, socket: QLocalSocket) -> None:
        # The socket stays a child of the server and goes with it: a second start is
        # rare, and a deleteLater racing the server's own deletion crashes PySide6.
        self._buffers.pop(socket, None)
        socket.abort()


def hand_over(name: str, argv: Sequence[str] = ()) -> bool:
    """As a second start: ask the running instance to raise its window; True when one did."""
    return SingleInstance(name).send(InstanceMessage(action="raise", args=tuple(argv)))
