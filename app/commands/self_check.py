"""``self-check``: prove this installation has what it needs (used on the built bundle).

Checks, without touching your data: the SKU catalogue is found, a database
can be created and migrated, the PostgreSQL driver for a team database is
present, the keyring works (the platform's backend is
present, the active backend is one seatsync may use, and a throw-away entry
can be stored, read back and deleted), Qt starts (offscreen), every view of
the window can be loaded, and TLS and HTTP work by testing a connection to
the ConnectWise sandbox through the real client.

--no-keyring checks only that the keyring backends are present, for a
machine that has no keyring to use (a build server testing the bundle).
Exit code 1 when any check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import secrets
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from app import __version__
from app.errors import SeatsyncError

if TYPE_CHECKING:
    from app.services.secrets import SecretStore


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("self-check", help="check this installation (bundle smoke test)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-keyring", action="store_true",
                        help="do not use the keyring, only check its backends are present (a build server)")
    parser.set_defaults(func=run)


class KeyringUnusable(SeatsyncError):
    """seatsync cannot keep credentials in this keyring."""

    @property
    def message(self) -> str:  # the specifics say what failed and what to do
        return self.detail or super().message


def _catalogue() -> str:
    from app.services.microsoft.skus import SkuCatalogue

    count = len(SkuCatalogue.load())
    if count < 100:
        raise RuntimeError(f"the SKU catalogue has only {count} entries")
    return f"{count} SKUs"


def _database(directory: Path) -> str:
    from app.models import close_database, latest_version, open_database

    database = open_database(directory / "check.db")
    try:
        return f"migrated to version {latest_version()} ({database.__class__.__name__})"
    finally:
        close_database()


def _postgresql_driver() -> str:
    """The team database's driver is in the bundle, with the libpq it brings (no server is needed to check)."""
    import psycopg2

    driver = str(getattr(psycopg2, "__version__", "?")).split()[0]  # "2.9.13 (dt dec pq3 ext lo64)"
    libpq = psycopg2.extensions.libpq_version()
    return f"psycopg2 {driver} with libpq {libpq // 10000}.{libpq % 10000}"


def _keyring_backends() -> str:
    """The platform's own backend is in the bundle, usable here or not (no desktop keyring runs on a build server)."""
    import keyring

    from app.services.secrets import backend_name

    module = {"win32": "keyring.backends.Windows", "darwin": "keyring.backends.macOS"}.get(
        sys.platform, "keyring.backends.SecretService")
    backend = importlib.import_module(module).Keyring
    if module.endswith("SecretService"):
        importlib.import_module("secretstorage")  # what the backend needs to talk to the desktop's keyring
    viable = "usable here" if backend.viable else "present, not usable here"
    return f"{module} {viable}; active {backend_name(keyring.get_keyring())}"


def _keyring(store: SecretStore | None = None) -> str:
    """The backends are present, and the active one stores, reads back and deletes a throw-away entry."""
    from app.services.secrets import SERVICE, NoKeyringBackend, SecretStore, backend_name, is_plaintext

    present = _keyring_backends()
    try:
        backend = (store or SecretStore()).backend()
    except NoKeyringBackend as error:
        raise KeyringUnusable(f"{error} Then run self-check again (or self-check --no-keyring on a machine that "
                              "will never keep seatsync's credentials).") from None
    name = backend_name(backend)
    username, value = f"check/self-check/{secrets.token_hex(8)}", secrets.token_urlsafe(16)
    try:
        backend.set_password(SERVICE, username, value)
        read = backend.get_password(SERVICE, username)
        backend.delete_password(SERVICE, username)
        left = backend.get_password(SERVICE, username)
    except Exception as error:  # noqa: BLE001 - a locked keyring, a stopped service, ...
        with contextlib.suppress(Exception):
            backend.delete_password(SERVICE, username)
        raise KeyringUnusable(f"seatsync cannot keep credentials in {name}: storing, reading back and deleting a "
                              f"test entry failed ({type(error).__name__}: {(str(error).splitlines() or [''])[0]}). "
                              "Unlock the keyring or start its service for this user, or choose another backend "
                              "with PYTHON_KEYRING_BACKEND (docs/security.md).") from None
    if read != value or left is not None:
        what = "did not give back the test entry it stored" if read != value else "kept the entry it deleted"
        raise KeyringUnusable(f"seatsync cannot keep credentials in {name}: it {what}; choose another backend "
                              "with PYTHON_KEYRING_BACKEND (docs/security.md).")
    plain = " (it keeps secrets unencrypted: run-scheduler refuses it unless SEATSYNC_ALLOW_PLAINTEXT_KEYRING=1)" \
        if is_plaintext(backend) else ""
    return f"{present}; a test entry stored, read back and deleted{plain}"


def _qt() -> str:
    from app.ui.smoke import qt_works

    return qt_works()


def _views() -> str:
    """Every view of the window can be loaded (a bundle that left one out shows a blank page)."""
    from app.ui.views import VIEWS

    missing = []
    for key, _, factory in VIEWS:
        try:
            getattr(importlib.import_module(factory.module), factory.name)
        except (ImportError, AttributeError) as error:
            missing.append(f"{key} ({error})")
    if missing:
        raise RuntimeError(f"views that cannot be loaded: {', '.join(missing)}")
    return f"{len(VIEWS)} views: {', '.join(key for key, _, _ in VIEWS)}"


def _https(directory: Path) -> str:
    from app.sandbox.connectwise import ConnectWiseSandbox
    from app.sandbox.server import SandboxServer, make_tls
    from app.services.psa.factory import open_psa

    tls = make_tls(directory / "tls")
    with SandboxServer(ConnectWiseSandbox(), tls=tls) as server:
        psa = open_psa("connectwise", {"site": server.url, "company_id": "seatsync", "public_key": "sandbox-public",
                                       "client_id": "self-check"}, lambda name: "sandbox-private", tls.ca)
        try:
            psa.test_connection()
        finally:
            if hasattr(psa, "close"):  # as PsaProvider.close does: the port does not promise one
                psa.close()
    return "TLS and HTTP to a sandbox"


def _keyring_not_used() -> str:
    return f"{_keyring_backends()}; not used (--no-keyring)"


def run(args: argparse.Namespace) -> int:
    print(f"seatsync {__version__}")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="seatsync-check-") as tmp:
        directory = Path(tmp)
        checks: list[tuple[str, Callable[[], str]]] = [
            ("SKU catalogue", _catalogue), ("database", lambda: _database(directory)),
            ("team database driver", _postgresql_driver),
            ("keyring", _keyring_not_used if args.no_keyring else _keyring),
            ("Qt", _qt), ("views", _views), ("network", lambda: _https(directory)),
        ]
        for name, check in checks:
            try:
                print(f"ok    {name}: {check()}")
            except SeatsyncError as error:  # its message says what failed and what to do
                failures += 1
                print(f"FAIL  {name}: {error}")
            except Exception as error:  # noqa: BLE001 - every failure is reported, then the exit code says it
                failures += 1
                print(f"FAIL  {name}: {type(error).__name__}: {error}")
    return 1 if failures else 0
