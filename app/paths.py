"""Where seatsync keeps its files: the per-user data directory and what is in it.

The data directory follows each platform's convention (platformdirs):

- Linux and other Unix: ``$XDG_DATA_HOME/seatsync``, else ``~/.local/share/seatsync``
  (the XDG Base Directory spec ignores a relative ``XDG_DATA_HOME``);
- macOS: ``~/Library/Application Support/seatsync``, whatever ``XDG_DATA_HOME``
  says (see ``_apple_data_dir``);
- Windows: ``%LOCALAPPDATA%\\seatsync``, the local profile. Earlier versions kept
  it in the roaming profile (``%APPDATA%\\seatsync``), which a domain copies
  between the computers the user signs in to, which is no place for a SQLite
  database: the first start moves it to the local profile, once (``settle``).

``SEATSYNC_DATA_DIR`` overrides all of these (tests, the demo, a server that
keeps its data elsewhere), and nothing is moved then. Directories are created
when first asked for.

Everything seatsync keeps is in that one folder: the database, its logs
(``logs``), the local settings, the window's state and the single-instance key.
platformdirs' separate log, config and cache folders are not used, so the one
folder ``SEATSYNC_DATA_DIR`` names holds everything, is made private, moved
and backed up as one.

What is in it is private to the user (docs/security.md): on POSIX the
directories are 0700 and the files seatsync writes (the database and its
WAL/SHM, logs, window.ini, settings, exports) 0600, set when they are created
and tightened at start (``secure_data_dir``). On Windows the data directory
is under the user's profile, whose ACL already admits only that user (and
administrators); modes are not changed there.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

from platformdirs.unix import Unix
from platformdirs.windows import Windows

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

#: The suffix of a data directory part-way through a move to another drive (``settle``).
MOVING_SUFFIX = ".moving"


class DataDirError(SeatsyncError):
    """seatsync cannot use its data directory; set SEATSYNC_DATA_DIR to a folder you can write to."""


def default_data_dir(*, platform: str | None = None) -> Path:
    """The platform's per-user data directory for seatsync (not created).

    ``platform`` defaults to this machine's (``sys.platform``); tests pass others to check each platform's rule.
    Where each platform keeps it comes from platformdirs, which reads this process's environment.
    """
    platform = sys.platform if platform is None else platform
    if platform.startswith("win"):
        # The local profile: a database in the roaming one is copied to every computer the user signs in to.
        return Windows(APP_NAME, appauthor=False, roaming=False).user_data_path
    if platform == "darwin":
        return _apple_data_dir()
    return Unix(APP_NAME).user_data_path


def _apple_data_dir() -> Path:
    """``~/Library/Application Support/seatsync``, platformdirs' macOS data directory without ``XDG_DATA_HOME``.

    platformdirs lets ``XDG_DATA_HOME`` win on macOS too. seatsync does not: the window, opened from the Finder,
    never sees the variables a shell sets, so following one would give the window and the command line two
    databases.
    """
    return Path.home() / "Library" / "Application Support" / APP_NAME


def legacy_data_dir(*, platform: str | None = None) -> Path | None:
    """Where earlier versions kept the data directory, when it is not ``default_data_dir``: Windows' roaming
    profile (``%APPDATA%\\seatsync``). None on the other platforms, whose data directory has not moved."""
    platform = sys.platform if platform is None else platform
    if not platform.startswith("win"):
        return None
    return Windows(APP_NAME, appauthor=False, roaming=True).user_data_path


def data_dir(*, environ: Mapping[str, str] | None = None, create: bool = True) -> Path:
    """The data directory in use: ``SEATSYNC_DATA_DIR`` if set (read from ``environ``), else the platform's, after
    the one-time move of an earlier version's (``settle``)."""
    environ = os.environ if environ is None else environ
    override = environ.get(ENV_DATA_DIR, "").strip()
    path = Path(override).expanduser() if override else settled_data_dir()
    return _ensure(path) if create else path


def settled_data_dir(*, platform: str | None = None) -> Path:
    """The platform's data directory, once an earlier version's has been moved there (``settle``)."""
    return settle(default_data_dir(platform=platform), legacy_data_dir(platform=platform))


def database_path(*, environ: Mapping[str, str] | None = None) -> Path:
    """The SQLite database file (its directory exists; the file may not yet)."""
    return data_dir(environ=environ) / DATABASE_NAME


def log_dir(*, environ: Mapping[str, str] | None = None) -> Path:
    """The directory for seatsync's log files (created)."""
    return _ensure(data_dir(environ=environ) / LOG_DIR_NAME)


def settings_path(*, environ: Mapping[str, str] | None = None) -> Path:
    """The local settings file (start-up options; business settings live in the database)."""
    return data_dir(environ=environ) / SETTINGS_NAME


# -- the one-time move of an earlier version's data directory --------------------------------------------------

#: Each move decided in this process, by (earlier folder, new folder): the folder this process uses. Decided once,
#: so a process never uses two folders (a move that failed is tried again at the next start, not half-way through).
_settled: dict[tuple[Path, Path], Path] = {}
#: What those moves did, for the log once it has started (``log_moves``): the log lives in the data directory.
_notes: list[tuple[int, str]] = []


def settle(new: Path, old: Path | None) -> Path:
    """The data directory to use: ``new``, after moving ``old`` (an earlier version's) there when ``old`` holds
    seatsync's files and ``new`` holds none; ``old`` itself when that move fails.

    The whole folder moves: a rename on one drive, else a copy that replaces the original only once complete.
    Nothing is ever merged or overwritten: when both hold files, ``new`` is used and ``old`` is left as it was.
    What happened is logged by ``log_moves``.
    """
    if old is None or old == new:
        return new
    key = (old, new)
    if key not in _settled:
        _settled[key] = _settle(new, old)
    return _settled[key]


def log_moves() -> None:
    """Log what ``settle`` did in this process, once (call it when logging has started)."""
    while _notes:
        level, note = _notes.pop(0)
        log.log(level, "%s", note)


def _settle(new: Path, old: Path) -> Path:
    aside = old.with_name(old.name + MOVING_SUFFIX)
    source = old if _holds_files(old) else aside if _holds_files(aside) else None  # aside: a copy cut short
    if source is None:
        return new
    if new.exists() and not _empty_folder(new):
        _notes.append((logging.INFO, f"seatsync's data folder is {new}; {source}, an earlier version's, is left "
                                     "as it was"))
        return new
    try:
        _move(source, new, aside)
    except OSError as error:
        if _holds_files(new) and not _holds_files(source):  # another seatsync, starting at the same time, moved it
            return new
        kept = source if _holds_files(source) else aside
        _notes.append((logging.WARNING, f"could not move seatsync's data folder from {kept} to {new} "
                                        f"({error.strerror or error}); it is used where it is, and moved at the next "
                                        "start"))
        return kept
    _notes.append((logging.INFO, f"moved seatsync's data folder from {source} to {new} (the local profile; the "
                                 "roaming one is copied to every computer the user signs in to)"))
    return new


def _move(source: Path, new: Path, aside: Path) -> None:
    """Move the folder ``source`` to ``new`` (missing or empty): every file arrives, or ``source`` stays whole."""
    new.parent.mkdir(parents=True, exist_ok=True)
    if new.is_dir():
        new.rmdir()  # empty (settle checked): a rename needs the name free
    try:
        source.rename(new)
        return
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise  # in use (an earlier seatsync still running has it open), or not ours to move
    # Another drive (a roaming profile redirected to a server): set the folder aside first, which fails while
    # another seatsync has a file in it open, so that no one writes to it while it is copied.
    if source != aside:
        source.rename(aside)
    staged = new.with_name(new.name + MOVING_SUFFIX)
    try:
        shutil.rmtree(staged, ignore_errors=True)  # a copy an earlier start did not finish
        shutil.copytree(aside, staged)
        staged.rename(new)
    except OSError:
        shutil.rmtree(staged, ignore_errors=True)
        if source != aside:
            aside.rename(source)
        raise
    shutil.rmtree(aside, ignore_errors=True)  # the copy is complete; what cannot be removed stays behind


def _holds_files(folder: Path) -> bool:
    """Whether ``folder`` is a folder with anything in it."""
    try:
        return folder.is_dir() and any(folder.iterdir())
    except OSError:
        return False


def _empty_folder(folder: Path) -> bool:
    try:
        return folder.is_dir() and not any(folder.iterdir())
    except OSError:
        return False


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
