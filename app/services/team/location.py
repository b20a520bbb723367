"""Where seatsync's database is: the local SQLite file, or a team's PostgreSQL database.

The choice cannot live in the database it chooses, so it is a small file in
the data folder, ``team.json`` (``{"url": "postgresql://user@host/db"}``),
kept private like the database. The password is never in it: it is in the
keyring (``DATABASE_PASSWORD``), or, on a server, where libpq looks for one
(``PGPASSWORD``, ``~/.pgpass``). ``SEATSYNC_DATABASE_URL`` in the
environment overrides the file: the headless runner's documented option
(docs/team.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app import paths
from app.errors import SeatsyncError
from app.models.database import connection_options, is_database_url
from app.paths import private_file
from app.services.secrets import SecretError, SecretKey, SecretStore

TEAM_FILE = "team.json"
ENVIRONMENT = "SEATSYNC_DATABASE_URL"
DATABASE_PASSWORD = SecretKey(kind="team", owner_id="database", field="password")


class TeamSettingUnreadable(SeatsyncError):
    """The team database setting (team.json in seatsync's data folder) cannot be read."""
    advice = "Fix or delete the file: deleted, seatsync opens its local database."


@dataclass(frozen=True)
class DatabaseLocation:
    """A ``postgresql://`` URL (no password in it), or the local SQLite file."""

    target: str | Path

    @property
    def is_team(self) -> bool:
        return is_database_url(self.target)

    def describe(self) -> str:
        """For people: the server and database, or the file (never a password)."""
        if not self.is_team:
            return f"this computer's database ({self.target})"
        parts = urlsplit(str(self.target))
        return f"team database {parts.path.strip('/')} on {parts.hostname}:{parts.port or 5432}"


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}@{netloc}" if user else netloc).geturl()


def locate(data_dir: Path, environ: Mapping[str, str] | None = None) -> DatabaseLocation:
    """The database seatsync opens from ``data_dir``."""
    environ = os.environ if environ is None else environ
    url = environ.get(ENVIRONMENT, "").strip()
    if url:
        return DatabaseLocation(url)
    file = data_dir / TEAM_FILE
    if file.exists():
        try:
            url = str(json.loads(file.read_text(encoding="utf-8"))["url"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise TeamSettingUnreadable(f"({file}: {error})") from None
        if not is_database_url(url):
            raise TeamSettingUnreadable(f"({file}: {url[:100]!r} is not a postgresql:// address)")
        return DatabaseLocation(url)
    return DatabaseLocation(data_dir / paths.DATABASE_NAME)


def password(secrets: SecretStore, location: DatabaseLocation) -> str | None:
    """The team database's password from the keyring; None: libpq's own sources, or none needed."""
    if not location.is_team or urlsplit(str(location.target)).password:
        return None
    try:
        return secrets.get(DATABASE_PASSWORD) if secrets.has(DATABASE_PASSWORD) else None
    except SecretError:  # no keyring here (a server): libpq's own sources serve, or the server says what it needs
        return None


def use_team(data_dir: Path, url: str, secrets: SecretStore, secret: str | None) -> DatabaseLocation:
    """From the next start, open the team database at ``url``; its password (if any) goes to the keyring."""
    connection_options(url)  # a malformed address is refused before anything is kept
    if secret:
        secrets.set(DATABASE_PASSWORD, secret)
    else:  # an earlier database's password, sent to this one, would win over PGPASSWORD and ~/.pgpass
        secrets.delete(DATABASE_PASSWORD)
    clean = without_password(url)
    with open(private_file(data_dir / TEAM_FILE), "w", encoding="utf-8") as file:
        file.write(json.dumps({"url": clean}, indent=2) + "\n")
    return DatabaseLocation(clean)


def use_local(data_dir: Path, secrets: SecretStore) -> DatabaseLocation:
    """From the next start, open this computer's own database again."""
    (data_dir / TEAM_FILE).unlink(missing_ok=True)
    secrets.delete(DATABASE_PASSWORD)
    return DatabaseLocation(data_dir / paths.DATABASE_NAME)
