"""Where seatsync keeps its files: the per-user data directory and what is in it.

Platform conventions, without extra packages:

- Linux and other Unix: ``$XDG_DATA_HOME/seatsync``, else ``~/.local/share/seatsync``
  (the XDG Base Directory spec ignores a relative ``XDG_DATA_HOME``);
- macOS: ``~/Library/Application Support/seatsync``;
- Windows: ``%APPDATA%\\seatsync`` (the roaming profile), else
  ``~\\AppData\\Roaming\\seatsync``.

``SEATSYNC_DATA_DIR`` overrides all of these (tests, the demo, a server that
keeps its data elsewhere). Directories are created when first asked for.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from app.errors import SeatsyncError

APP_NAME = "seatsync"
ENV_DATA_DIR = "SEATSYNC_DATA_DIR"

DATABASE_NAME = "seatsync.db"
LOG_DIR_NAME = "logs"
SETTINGS_NAME = "settings.json"


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
    return path
