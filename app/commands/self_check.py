"""``self-check``: prove this installation has what it needs (used on the built bundle).

Checks, without touching your data: the SKU catalogue is found, a database
can be created and migrated, the keyring backends are present (and which
one is active), Qt starts (offscreen), every view of the window can be
loaded, and TLS and HTTP work by testing a connection to the ConnectWise
sandbox through the real client.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from app import __version__


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("self-check", help="check this installation (bundle smoke test)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=run)


def _catalogue() -> str:
    from app.services.catalogue import SkuCatalogue

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


def _keyring() -> str:
    import keyring

    # The platform's own backend must be in the bundle, usable or not (no
    # desktop keyring runs on a build server, so it may not be viable here).
    module = {"win32": "keyring.backends.Windows", "darwin": "keyring.backends.macOS"}.get(
        sys.platform, "keyring.backends.SecretService")
    backend = importlib.import_module(module).Keyring
    if module.endswith("SecretService"):
        importlib.import_module("secretstorage")  # what the backend needs to talk to the desktop's keyring
    viable = "usable here" if backend.viable else "present, not usable here"
    return f"{module} {viable}; active {type(keyring.get_keyring()).__name__}"


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
            psa.close()
    return "TLS and HTTP to a sandbox"


def run(args: argparse.Namespace) -> int:
    print(f"seatsync {__version__}")
    failures = 0
    with tempfile.TemporaryDirectory(prefix="seatsync-check-") as tmp:
        directory = Path(tmp)
        checks: list[tuple[str, Callable[[], str]]] = [
            ("SKU catalogue", _catalogue), ("database", lambda: _database(directory)), ("keyring", _keyring),
            ("Qt", _qt), ("views", _views), ("network", lambda: _https(directory)),
        ]
        for name, check in checks:
            try:
                print(f"ok    {name}: {check()}")
            except Exception as error:  # noqa: BLE001 - every failure is reported, then the exit code says it
                failures += 1
                print(f"FAIL  {name}: {type(error).__name__}: {error}")
    return 1 if failures else 0
