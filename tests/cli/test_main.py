"""The headless entry point: python main.py --help | --version | plan | demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import __version__
from app.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def isolated(data_dir):
    """Every command here runs on a fresh, empty data directory, never the user's."""


def run_main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={**os.environ})


def test_help_lists_the_commands():
    result = run_main("--help")
    assert result.returncode == 0
    assert "plan" in result.stdout and "demo" in result.stdout


def test_version():
    result = run_main("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"seatsync {__version__}")


def test_plan_of_the_example_prints_a_table(capsys):
    assert main(["plan", "--example"]) == 0
    out = capsys.readouterr().out
    assert "Plan as of 2026-11-16" in out
    assert "add prorate line  +2" in out  # Contoso: 21 → 23 seats mid-November
    assert "7 operation(s), 6 finding(s) across 3 tenant(s)." in out


def test_plan_json_is_machine_readable(capsys):
    assert main(["plan", "--example", "--json", "--today", "2026-11-01"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["today"] == "2026-11-01"
    contoso = data["tenants"][0]
    assert contoso["tenant"] == "Contoso Dental"
    # On the first day of the period: no prorate or credit lines, amounts as strings.
    assert [(op["kind"], op["quantity"], op["amount"]) for op in contoso["operations"]] == [
        ("set_quantity", 23, "506.00"), ("set_quantity", 4, "16.00")]


@pytest.mark.parametrize(("args", "code", "message"), [
    (["plan", "--today", "2026-13-01"], 2, "invalid fromisoformat value"),
    (["plan", "--bogus"], 2, "unrecognized arguments"),
    (["nosuchcommand"], 2, "invalid choice"),
    (["plan"], 1, "no PSA connection to plan against"),
    (["sync", "--yes"], 1, "no PSA connection to plan against"),
    (["approvals", "approve"], 1, "give the keys of the changes, or --all"),
])
def test_bad_arguments_give_a_clear_error_and_exit_code(args, code, message):
    result = run_main(*args)
    assert result.returncode == code
    assert message in result.stderr


def test_the_headless_path_never_imports_qt():
    code = ("import sys; from app.cli import main; main(['plan', '--example', '--json']); "
            "sys.exit(1 if any(m.split('.')[0] == 'PySide6' for m in sys.modules) else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr


def test_demo_example_prints_the_example_plan(capsys):
    assert main(["demo", "--example"]) == 0
    assert "across 3 tenant(s)" in capsys.readouterr().out


def test_demo_once_syncs_the_sandboxes_headless():
    result = run_main("demo", "--once")
    assert result.returncode == 0, result.stderr
    assert "tenant(s):" in result.stdout and "What the PSA now holds: https://127.0.0.1:" in result.stdout
    # The tenant without consent failed with what to do; the others synced.
    assert "not consented" in result.stdout and "1 failed." in result.stdout


def test_self_check_passes_from_the_source_tree():
    result = run_main("self-check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == ["ok"] * 6
    assert "ok    views: 7 views: companies, approvals, history, reports, exclusions, profiles, settings" \
        in result.stdout


def test_self_check_fails_when_a_view_cannot_be_loaded(monkeypatch):
    from app.commands import self_check
    from app.ui import views

    monkeypatch.setattr(views, "VIEWS", [*views.VIEWS, ("gone", "Gone", views.lazy("app.ui.views.gone", "GoneView"))])
    with pytest.raises(RuntimeError, match=r"cannot be loaded: gone \(No module named 'app.ui.views.gone'\)"):
        self_check._views()


def test_a_database_newer_than_the_app_is_refused_with_what_to_do(data_dir):
    import sqlite3

    from app.models import close_database, latest_version, open_database

    open_database(data_dir / "seatsync.db")
    close_database()
    with sqlite3.connect(data_dir / "seatsync.db") as raw:
        raw.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (latest_version() + 1, "from the future", "2030-01-01T00:00:00+00:00"))
    result = run_main("plan")
    assert result.returncode == 3
    assert "newer seatsync" in result.stderr and "update seatsync" in result.stderr.lower()


def test_tenants_on_the_users_data_after_the_demo_setup(tmp_path, capsys):
    """tenants list|match read Partner Center and the cached PSA companies of the user's own data."""
    from app.bootstrap import open_context
    from app.commands.common import use_context
    from app.sandbox.world import SandboxWorld
    from app.services.secrets import MemoryKeyring, SecretStore

    with SandboxWorld.start(tmp_path, tenants=10) as world:
        context = open_context(tmp_path / "data", secrets=SecretStore(MemoryKeyring()), ca_file=world.tls.ca)
        try:
            world.connect(context)
            use_context(context)
            assert main(["tenants", "match", "--json"]) == 0
            matched = json.loads(capsys.readouterr().out)
            assert matched["links"] and matched["unmatched"]
            assert main(["tenants", "add", "--all-links"]) == 0
            capsys.readouterr()
            assert main(["tenants", "list", "--new", "--json"]) == 0
            pending = json.loads(capsys.readouterr().out)
            assert len(context.tenants.all()) == len(matched["links"])
            assert len(pending) == 10 - len(matched["links"])
        finally:
            use_context(None)
            context.close()
