"""What ``python main.py ...`` imports: a headless command imports its own module and what it uses, not the
other commands, the window or the services it does not call (an import rule, checked in a process of its
own; how long start-up takes is benchmarks/sync_now_bench.py's to measure)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[2]

#: Runs main.py as ``python main.py ARGS`` does, then writes the names of every module the process imported.
PROBE = """
import json, runpy, sys
out, sys.argv = sys.argv[1], ["main.py", *sys.argv[2:]]
try:
    runpy.run_path("main.py", run_name="__main__")
finally:
    with open(out, "w", encoding="utf-8") as file:
        json.dump(sorted(sys.modules), file)
"""

#: Services a sync never calls (the window's, onboarding's, the notices'): their modules stay unimported.
NOT_FOR_A_SYNC = ("app.services.connections.admin", "app.services.customers.onboarding",
                  "app.services.customers.companies", "app.services.review.approvals",
                  "app.services.review.reports", "app.services.notify.after_sync", "app.services.preferences")


@pytest.fixture(autouse=True)
def isolated(data_dir):
    """Every command here runs on a fresh, empty data directory, never the user's."""


def imported(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    """The exit code of ``python main.py ARGS`` and the modules it imported."""
    out = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", PROBE, str(out), *args], cwd=ROOT, env={**os.environ},
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return done.returncode, set(json.loads(out.read_text(encoding="utf-8")))


def roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def commands(modules: set[str]) -> set[str]:
    """The command modules among ``modules`` (app.commands.sync -> "sync"), helpers left out."""
    return {name.rsplit(".", 1)[1] for name in modules if name.startswith("app.commands.")} - {"common", "render"}


def test_help_imports_every_command_but_neither_the_window_nor_the_database_nor_microsoft(tmp_path):
    code, modules = imported(tmp_path, "--help")
    assert code == 0
    assert commands(modules) >= {name.replace("-", "_") for name in COMMANDS}
    assert not roots(modules) & {"PySide6", "msal", "peewee", "psycopg2", "keyring"}
    assert "app.services.customers.onboarding" not in modules


def test_a_commands_help_imports_that_command_alone(tmp_path):
    code, modules = imported(tmp_path, "sync", "--help")
    assert code == 0
    assert commands(modules) == {"sync"}
    assert not roots(modules) & {"PySide6", "requests", "msal", "peewee", "keyring"}
    assert not any(name.startswith("app.services") for name in modules)


def test_a_sync_imports_the_sync_and_no_service_it_does_not_call(tmp_path):
    code, modules = imported(tmp_path, "sync", "--yes")  # an empty data folder: "no PSA connection", exit 1
    assert code == 1
    assert "app.services.sync.service" in modules
    assert commands(modules) == {"sync"}
    assert not roots(modules) & {"PySide6"}
    assert not any(name.startswith(("app.ui", "app.sandbox")) for name in modules)
    assert not set(NOT_FOR_A_SYNC) & modules
