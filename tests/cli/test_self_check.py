"""``self-check``'s keyring line: ok only for a keyring seatsync can really keep credentials in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from keyring.backends import fail, null
from keyring.errors import KeyringLocked

from app.commands import self_check
from app.services.secrets import MemoryKeyring, SecretStore

ROOT = Path(__file__).resolve().parents[2]


class Locked(MemoryKeyring):
    """A keyring whose service refuses every request (locked, or not running for this user)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the collection is locked")


class Forgetful(MemoryKeyring):
    """A keyring that accepts an entry and gives nothing back."""

    def get_password(self, service: str, username: str) -> str | None:
        return None


class Undeletable(MemoryKeyring):
    """A keyring that says it deleted an entry and keeps it."""

    def delete_password(self, service: str, username: str) -> None:
        pass


def run_self_check(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "self-check", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120, env={**os.environ, **env}, stdin=subprocess.DEVNULL)


def test_a_working_keyring_is_ok_and_keeps_no_test_entry():
    backend = MemoryKeyring()
    text = self_check._keyring(SecretStore(backend))
    assert text.endswith("a test entry stored, read back and deleted")
    assert dict(backend.store) == {}


NO_BACKEND = "seatsync found no secure keyring to keep credentials in"
CANNOT_KEEP = "seatsync cannot keep credentials in tests.cli.test_self_check."


@pytest.mark.parametrize(("backend", "start", "says"), [
    (fail.Keyring(), NO_BACKEND, "(found: keyring.backends.fail.Keyring)"),
    (null.Keyring(), NO_BACKEND, "(found: keyring.backends.null.Keyring)"),
    (Locked(), CANNOT_KEEP, "storing, reading back and deleting a test entry failed (KeyringLocked: the "
                            "collection is locked). Unlock the keyring or start its service"),
    (Forgetful(), CANNOT_KEEP, "did not give back the test entry it stored"),
    (Undeletable(), CANNOT_KEEP, "kept the entry it deleted"),
])
def test_an_unusable_keyring_fails_with_what_to_do(backend, start, says):
    with pytest.raises(self_check.KeyringUnusable) as failed:
        self_check._keyring(SecretStore(backend))
    assert str(failed.value).startswith(start)
    assert says in str(failed.value)


def test_self_check_fails_on_the_fail_backend_and_exits_1():
    result = run_self_check(PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = {line.split(":")[0].split(None, 1)[1]: line.split()[0] for line in result.stdout.splitlines()[1:]}
    assert lines == {"SKU catalogue": "ok", "database": "ok", "team database driver": "ok", "keyring": "FAIL",
                     "Qt": "ok", "views": "ok", "network": "ok"}
    [keyring_line] = [line for line in result.stdout.splitlines() if line.startswith("FAIL  keyring: ")]
    assert "found no secure keyring" in keyring_line and "PYTHON_KEYRING_BACKEND" in keyring_line
    assert "self-check --no-keyring" in keyring_line


def test_no_keyring_checks_only_that_the_backends_are_present():
    """A build server (the bundle's CI) has no keyring: --no-keyring says so instead of failing."""
    result = run_self_check("--no-keyring", PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == ["ok"] * 7
    assert "ok    keyring: keyring.backends." in result.stdout and "not used (--no-keyring)" in result.stdout
