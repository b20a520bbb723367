"""The headless entry point: python main.py --help | --version | plan | demo, exit codes and error lines."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app import __version__
from app.cli import COMMANDS, build_parser, main, subparsers_of
from app.commands.common import error_line
from app.commands.render import plain_help
from app.errors import SeatsyncError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def isolated(data_dir):
    """Every command here runs on a fresh, empty data directory, never the user's."""


def run_main(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``python main.py ARGS`` as a scheduler runs it: no terminal on standard input."""
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={**os.environ, **env}, stdin=subprocess.DEVNULL)


def test_help_lists_the_commands_in_order():
    result = run_main("--help")
    assert result.returncode == 0
    commands = result.stdout.split("COMMAND\n", 1)[1].split("options:")[0]
    listed = re.findall(r"^    (\S+)", commands, re.M)
    assert listed == list(COMMANDS)
    assert COMMANDS.index("connections") == COMMANDS.index("tenants") + 1


def every_command(parser=None, path=()):
    """The path of every command and subcommand, e.g. ("connections", "add", "psa")."""
    for name, sub in subparsers_of(parser or build_parser()).items():
        yield (*path, name)
        yield from every_command(sub, (*path, name))


REST = re.compile(r"``|:[A-Za-z][\w.+-]*(?::[A-Za-z][\w.+-]*)*:`")


def test_every_commands_help_is_plain_text(capsys):
    paths = list(every_command())
    assert {("plan",), ("demo",), ("self-check",), ("connections", "add", "psa"), ("approvals", "list")} <= set(paths)
    for path in paths:
        with pytest.raises(SystemExit) as done:
            main([*path, "--help"])
        assert done.value.code == 0, path
        text = capsys.readouterr().out
        assert text.startswith(f"usage: seatsync {' '.join(path)}"), path
        assert not REST.search(text), f"{' '.join(path)} --help shows reST markup: {REST.search(text)[0]!r}"


def test_descriptions_keep_their_words_without_the_markup(capsys):
    for path, words in ((("plan",), "plan: the dry run."), (("demo",), "demo: try seatsync"),
                        (("sync",), "sync: bring the PSA in step")):
        with pytest.raises(SystemExit):
            main([*path, "--help"])
        assert words in capsys.readouterr().out, path


def test_plain_help_strips_literals_and_roles():
    assert plain_help("``plan``: see :func:`app.cli.main`, :ref:`the rules <billing>` and :py:class:`~a.B`.") \
        == "plan: see app.cli.main, the rules and a.B."


def test_an_error_is_printed_once_with_one_prefix(monkeypatch, capsys):
    from app.commands import plan

    class Locked(SeatsyncError):
        """seatsync: the database is locked by another seatsync"""

    def fail(args):
        raise Locked("close the other one")

    monkeypatch.setattr(plan, "run", fail)
    assert main(["plan"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "seatsync: the database is locked by another seatsync: close the other one\n"


@pytest.mark.parametrize(("message", "line"), [
    ("seatsync: seatsync: twice", "seatsync: twice"),
    ("SEATSYNC:  shouting", "seatsync: shouting"),
    ("no PSA connection", "seatsync: no PSA connection"),
])
def test_error_line(message, line):
    assert error_line(SeatsyncError(message)) == f"seatsync: Something went wrong in seatsync: {message}"
    assert error_line(RuntimeError(message)) == line


def test_version():
    result = run_main("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"seatsync {__version__}")


def test_plan_of_the_example_prints_a_table(capsys):
    assert main(["plan", "--example"]) == 0
    out = capsys.readouterr().out
    assert "Plan as of 2026-11-16" in out
    assert "add prorate line  +2" in out  # Contoso: 21 → 23 seats mid-November
    # Fabrikam's agreement holds CloudConsole's Business Standard line: its row is held, nothing written beside it.
    assert "foreign line            line 9003 (reference 'CloudConsole')" in out
    assert "5 operation(s), 6 finding(s) across 3 tenant(s)." in out


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
    (["sync"], 2, "add --yes to apply without asking"),
    (["approvals", "approve"], 1, "give the keys of the changes, or --all"),
    (["approvals", "approve", "--decreases"], 2, "--company, --reason and --decreases choose among every held"),
])
def test_bad_arguments_give_a_clear_error_and_exit_code(args, code, message):
    result = run_main(*args)
    assert result.returncode == code
    assert message in result.stderr
    assert "seatsync: seatsync:" not in result.stderr


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
    assert "have its admin grant consent (AADSTS700016)" in result.stdout and "1 failed, " in result.stdout


def test_self_check_passes_from_the_source_tree():
    result = run_main("self-check", PYTHON_KEYRING_BACKEND="app.services.secrets.MemoryKeyring")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == ["ok"] * 7
    assert ("ok    views: 10 views: companies, approvals, history, reports, rules, migrate, exclusions, profiles, "
            "access, settings") in result.stdout
    assert "ok    team database driver: psycopg2 2." in result.stdout


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
            assert len(context.uow.tenants.all()) == len(matched["links"])
            assert len(pending) == 10 - len(matched["links"])
        finally:
            use_context(None)
            context.close()


def test_output_cut_short_by_its_reader_ends_quietly(data_dir):
    """``plan --example --json | head -1``: the reader goes first; the command stops without a traceback."""
    process = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "plan", "--example", "--json"], cwd=ROOT,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # before the command prints anything
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1 and err.decode() == ""
