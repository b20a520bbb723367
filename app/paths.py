"""Where seatsync keeps its files: the per-user data directory and what is in it.

Platform conventions, without extra packages:

- Linux and other Unix: ``$XDG_DATA_HOME/seatsync``, else ``~/.local/share/seatsync``
  (the XDG Base Directory spec ignores a relative ``XDG_DATA_HOME``);
- macOS: ``~/Library/Application Support/seatsync``;
- Windows: ``%APPDATA%\\seatsync`` (the roaming profile), else
  ``~\\AppData\\Roaming\\seatsync``.

``SEATSYNC_DATA_DIR`` overrides all of these (tests, the demo, a server that
keeps its data elsewhere). Directories are created when first asked for.

What is in it is private to the user (docs/security.md): on POSIX the
directories are 0700 and the files seatsync writes (the database and its
WAL/SHM, logs, window.ini, settings, exports) 0600, set when they are created
and tightened at start (``secure_data_dir``). On Windows the data directory
is under the user's profile, whose ACL already admits only that user (and
administrators); modes are not changed there.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

from app.errors import SeatsyncError

log = logging.getLogger(__name__)

APP_NAME = "seatsync"
ENV_DATA_DIR = "SEATSYNC_DATA_DIR"

DATABASE_NAME = "seatsync.db"
LOG_DIR_NAME = "logs"
SETTINGS_NAME = "settings.json"
WINDOW_SETTINGS_NAME = "window.ini"

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
#: The files seatsync keeps in its data directory, each private (with the database's WAL, SHM and journal).
PRIVATE_FILES = (DATABASE_NAME, f"{DATABASE_NAME}-wal", f"{DATABASE_NAME}-shm", f"{DATABASE_NAME}-journal",
                 SETTINGS_NAME, WINDOW_SETTINGS_NAME)


class DataDirError(SeatsyncError):
    """seatsync cannot use its data directory; set SEATSYNC_DATA_DIR to a folder you can write to."""


def default_data_dir(
    *,
    platform: str | None = None,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Path:
    """The platform's per-user data directory for seatsync (not created).

    ``platform``, ``environ`` and ``home`` default to this machine's; tests
    pass others to check each platform's rule.
    """
    platform = sys.platform if platform is None else platform
    environ = os.environ if environ is None else environ
    home = Path.home() if home is None else home

    if platform.startswith("win"):
        appdata = environ.get("APPDATA", "").strip()
        base = Path(appdata) if appdata else home / "AppData" / "Roaming"
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = environ.get("XDG_DATA_HOME", "").strip()
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".local" / "share"
    return base / APP_NAME


def data_dir(*, environ: Mapping[str, str] | None = None, create: bool = True) -> Path:
    """The data directory in use: ``SEATSYNC_DATA_DIR`` if set, else the platform's."""
    environ = os.environ if environ is None else environ
    override = environ.get(ENV_DATA_DIR, "").strip()
    path = Path(override).expanduser() if override else default_data_dir(environ=environ)
    return _ensure(path) if create else path


def database_path(*, environ: Mapping[str, str] | None = None) -> Path:
    """The SQLite database file (its directory exists; the file may not yet)."""
    return data_dir(environ=environ) / DATABASE_NAME


def log_dir(*, environ: Mapping[str, str] | None = None) -> Path:
    """The directory for seatsync's log files (created)."""
    return _ensure(data_dir(environ=environ) / LOG_DIR_NAME)


def settings_path(*, environ: Mapping[str, str] | None = None) -> Path:
    """The local settings file (start-up options; business settings live in the database)."""
    return data_dir(environ=environ) / SETTINGS_NAME


def _ensure(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataDirError(f"{path}: {error.strerror or error}.", path=str(path)) from error
    if not path.is_dir():
        raise DataDirError(f"{path} exists and is not a folder.", path=str(path))
    return private_dir(path)


def _posix() -> bool:
    return os.name == "posix"


def private_dir(path: Path | str) -> Path:
    """``path`` as a folder only its owner can enter (0700 on POSIX; created with its parents if missing)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    _tighten(path, PRIVATE_DIR_MODE)
    return path


def private_file(path: Path | str) -> Path:
    """``path`` as a file only its owner can read (0600 on POSIX): created empty if missing, else tightened."""
    path = Path(path)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        _tighten(path, PRIVATE_FILE_MODE)
    return path


def private_opener(path: str, flags: int) -> int:
    """An ``open(..., opener=)`` that creates files 0600 and makes one that was there 0600 too."""
    descriptor = os.open(path, flags, PRIVATE_FILE_MODE)
    if _posix():
        try:
            os.fchmod(descriptor, PRIVATE_FILE_MODE)
        except OSError:
            os.close(descriptor)
            raise
    return descriptor


def secure_data_dir(directory: Path | str) -> Path:
    """Make the data directory and what seatsync keeps in it private (created if missing); returns it.

    Run at start: a data directory from an older seatsync, or restored from a backup, may be readable by others.
    """
    directory = private_dir(directory)
    for name in PRIVATE_FILES:
        _tighten(directory / name, PRIVATE_FILE_MODE)
    logs = directory / LOG_DIR_NAME
    if logs.is_dir() and not logs.is_symlink():
        private_dir(logs)
        for entry in logs.iterdir():
            _tighten(entry, PRIVATE_FILE_MODE)
    return directory


def _tighten(path: Path, mode: int) -> None:
    """Take from ``path`` every permission ``mode`` lacks, when it exists and is not a symbolic link (POSIX only)."""
    if not _posix():
        return
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    current = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode) or current & ~mode == 0:
        return
    if stat.S_ISDIR(info.st_mode) != (mode == PRIVATE_DIR_MODE):
        return
    try:
        os.chmod(path, current & mode)  # only ever takes permissions away (a read-only file stays read-only)
    except OSError as error:  # another user's file: say so, and let what needs it fail on its own terms
        log.warning("cannot make %s private (mode %o): %s", path, mode, error.strerror or error)
