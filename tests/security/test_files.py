"""seatsync's files are the user's alone: data directory 0700; database, WAL, SHM, logs, window.ini and exports
0600 on POSIX, set on creation and tightened at start. The single-instance socket lives in that private
directory, so another local user cannot squat its name and keep seatsync from starting."""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
import stat
from decimal import Decimal
from pathlib import Path

import pytest

from app import paths
from app.bootstrap import open_context
from app.services.review.reports import Reconciliation, ReconRow, write_csv

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX; Windows relies on the profile's ACL")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture(autouse=True)
def permissive_umask():
    """The usual umask (022), under which files would be world-readable if seatsync did not see to it."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_data_directory_and_database_are_private(data_dir, ctx):
    from app.models.database import db

    db.execute_sql("SELECT count(*) FROM sqlite_master")
    ctx.settings.set_sync_time("05:30")  # a write: the WAL and SHM exist now
    assert mode(data_dir) == 0o700
    for name in ("seatsync.db", "seatsync.db-wal", "seatsync.db-shm"):
        assert (data_dir / name).exists(), name
        assert mode(data_dir / name) == 0o600, name


def test_the_platform_data_directory_is_created_private(tmp_path):
    root = tmp_path / "xdg" / "seatsync"
    environ = {paths.ENV_DATA_DIR: str(root)}
    assert paths.database_path(environ=environ).parent == root
    assert mode(root) == 0o700 and mode(paths.log_dir(environ=environ)) == 0o700


def test_files_an_older_seatsync_left_readable_are_tightened_at_start(data_dir):
    data_dir.chmod(0o755)
    (data_dir / "seatsync.db").touch(mode=0o644)
    (data_dir / "window.ini").write_text("[General]\n")
    (data_dir / "logs").mkdir(mode=0o755)
    (data_dir / "logs" / "seatsync.log").write_text("old\n")
    (data_dir / "logs" / "seatsync.log.1").write_text("older\n")
    os.chmod(data_dir / "window.ini", 0o644)
    context = open_context(data_dir)
    context.close()
    assert mode(data_dir) == 0o700 and mode(data_dir / "logs") == 0o700
    for path in ("seatsync.db", "window.ini", "logs/seatsync.log", "logs/seatsync.log.1"):
        assert mode(data_dir / path) == 0o600, path


def test_a_read_only_file_stays_read_only(data_dir):
    (data_dir / "window.ini").write_text("")
    os.chmod(data_dir / "window.ini", 0o444)
    paths.secure_data_dir(data_dir)
    assert mode(data_dir / "window.ini") == 0o400  # tightening only takes permissions away


def test_the_log_file_and_its_rollovers_are_private(data_dir):
    from app.ui.app import start_logging

    handler = start_logging(data_dir / "logs")
    try:
        handler.maxBytes = 200
        for n in range(20):
            logging.getLogger("seatsync.test").warning("line %d %s", n, "x" * 40)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    logs = sorted((data_dir / "logs").iterdir())
    assert len(logs) > 1 and mode(data_dir / "logs") == 0o700
    assert {p.name: mode(p) for p in logs} == {p.name: 0o600 for p in logs}


def test_window_ini_is_private(qapp, data_dir):
    from app.ui.app import window_settings

    settings = window_settings(data_dir)
    settings.setValue("window/geometry", "abc")
    settings.sync()
    assert (data_dir / "window.ini").read_text().strip() and mode(data_dir / "window.ini") == 0o600


def test_an_export_is_private_even_over_a_readable_file(tmp_path):
    report = Reconciliation(rows=(ReconRow(company="Contoso", tenant_id="t", tenant="Contoso", sku_id="s",
                                           license="E3", purchased=1, assigned=1, should_bill=1, billed=1, unbilled=0,
                                           unit_price=Decimal("1.00"), leakage=Decimal("0.00")),))
    fresh = write_csv(report, tmp_path / "fresh.csv")
    existing = tmp_path / "existing.csv"
    existing.write_text("old")
    os.chmod(existing, 0o644)
    write_csv(report, existing)
    assert mode(fresh) == 0o600 and mode(existing) == 0o600


# -- the single-instance server ----------------------------------------------------------------------------


def old_name(data_dir: Path) -> str:
    """The name seatsync used to listen on: guessable by anyone who knows the user and the data directory."""
    digest = hashlib.sha256(f"{getpass.getuser()}\0{Path(data_dir).resolve()}".encode()).hexdigest()[:16]
    return f"seatsync-{digest}"


def test_the_server_socket_is_in_the_private_data_directory(data_dir):
    from app.ui.single_instance import server_name

    data_dir.chmod(0o755)
    name = Path(server_name(data_dir))
    assert name.parent == data_dir.resolve() and mode(data_dir) == 0o700


def test_a_squatter_on_the_old_name_does_not_stop_seatsync_from_starting(qtbot, data_dir):
    from PySide6.QtNetwork import QLocalServer

    from app.ui.single_instance import SingleInstance, hand_over, server_name

    squatter = QLocalServer()
    QLocalServer.removeServer(old_name(data_dir))
    assert squatter.listen(old_name(data_dir)), squatter.errorString()
    try:
        name = server_name(data_dir)
        assert not hand_over(name)  # the squatter is not taken for a running seatsync
        first = SingleInstance(name)
        assert first.listen()
        try:
            with qtbot.waitSignal(first.message_received, timeout=5000):
                assert hand_over(name)  # while the real one hands over as before
        finally:
            first.close()
        assert not squatter.hasPendingConnections()
    finally:
        squatter.close()


def test_a_long_data_directory_uses_a_private_runtime_directory(tmp_path, monkeypatch):
    import tempfile

    from app.ui.single_instance import SOCKET_PATH_MAX, server_name

    deep = tmp_path / ("d" * 60) / ("e" * 60)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    name = Path(server_name(deep, environ={}))
    assert len(os.fsencode(deep / "x.sock")) > SOCKET_PATH_MAX
    assert name.parent == tmp_path / f"seatsync-{os.geteuid()}" and mode(name.parent) == 0o700


def test_a_runtime_directory_opened_to_others_is_never_used(tmp_path, monkeypatch):
    import tempfile

    from app.ui.single_instance import server_name

    deep = tmp_path / ("d" * 60) / ("e" * 60)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    squatted = tmp_path / f"seatsync-{os.geteuid()}"
    squatted.mkdir()
    squatted.chmod(0o777)
    shared = tmp_path / "shared-runtime"
    shared.mkdir(mode=0o755)
    name = Path(server_name(deep, environ={"XDG_RUNTIME_DIR": str(shared)}))
    assert name.parent not in (squatted, shared) and mode(name.parent) == 0o700
