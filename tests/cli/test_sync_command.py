"""``sync`` from a terminal and from a scheduler: asking, refusing without --yes, progress only on a terminal.

A small sandbox world (three tenants, ConnectWise) set up as a user would;
the command runs in-process on it, or as a process with no terminal.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.bootstrap import open_context
from app.cli import main
from app.commands.common import use_context
from app.sandbox.world import SandboxWorld

ROOT = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    """A stream a person watches."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def world(tmp_path, data_dir):
    """Three tenants, connected, added and mapped: the first sync has changes to write."""
    with SandboxWorld.start(tmp_path / "world", tenants=3) as world:
        context = open_context(data_dir, ca_file=world.tls.ca)
        world.configure(context, share=1.0)
        use_context(context)
        try:
            yield world
        finally:
            use_context(None)
            context.close()


def test_without_yes_and_no_terminal_sync_refuses_with_exit_2(data_dir):
    """A cron line that forgot --yes fails loudly instead of never syncing."""
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "sync"], capture_output=True, text=True,
                            cwd=ROOT, timeout=120, env={**os.environ}, stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("seatsync: ")
    assert "add --yes to apply without asking" in result.stderr


def test_on_a_terminal_sync_asks_and_no_changes_nothing(world, monkeypatch, capsys):
    asked: list[str] = []
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda question: asked.append(question) or "n")
    assert main(["sync"]) == 0
    out = capsys.readouterr().out
    assert len(asked) == 1 and asked[0].startswith("Apply ") and asked[0].endswith(" change(s) to the PSA? [y/N] ")
    assert "Nothing was changed." in out
    assert world.writes() == 0


def test_on_a_terminal_yes_applies_with_a_progress_bar(world, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda question: "y")
    stderr = Terminal()
    monkeypatch.setattr("sys.stderr", stderr)
    assert main(["sync"]) in (0, 1)  # the tenant without consent fails; the others sync
    assert world.writes() > 0
    assert "3/3 tenants" in stderr.getvalue() and "[##############################]" in stderr.getvalue()
    assert "tenant(s):" in capsys.readouterr().out


def test_in_a_log_only_the_summary_is_written(world, capsys):
    """stderr is not a terminal (a log, cron's mail): no progress bar, the summary alone."""
    assert main(["sync", "--yes"]) in (0, 1)
    captured = capsys.readouterr()
    assert world.writes() > 0
    assert "tenants" not in captured.err and "\r" not in captured.err and "[#" not in captured.err
    assert "tenant(s):" in captured.out
