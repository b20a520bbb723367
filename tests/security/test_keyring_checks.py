"""``run-scheduler`` refuses to start, with exit code 1 and what to do, when the keyring does not work, a stored
secret cannot be read, or the backend keeps secrets as plain text (unless SEATSYNC_ALLOW_PLAINTEXT_KEYRING=1)."""

from __future__ import annotations

import signal

import keyring
import pytest
from keyring.backends import fail
from keyring.errors import KeyringLocked

from app.bootstrap import open_context
from app.cli import main
from app.commands import common
from app.models.records import MicrosoftConnectionRecord
from app.services.secrets import MemoryKeyring, microsoft_secret_key
from app.services.settings import NotificationSettings


class SchedulerStarted(Exception):
    """The scheduler would have run: the check did not refuse."""


class FakeScheduler:
    def start(self) -> None:
        raise SchedulerStarted

    def next_run(self) -> None:
        return None

    def shutdown(self, wait: bool = True) -> None:
        pass


class PlaintextKeyring(MemoryKeyring):
    """Stands in for keyrings.alt's PlaintextKeyring (not installed here): same name, same scheme."""

    scheme = "no encryption"


PlaintextKeyring.__module__ = "keyrings.alt.file"


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the collection is locked")


@pytest.fixture
def ctx(data_dir, monkeypatch):
    """The user's data with a Microsoft connection whose secret is stored; the scheduler never really starts."""
    monkeypatch.setattr("app.commands.run_scheduler.build_scheduler", lambda *args, **kwargs: FakeScheduler())
    monkeypatch.setattr(signal, "signal", lambda *args: None)
    monkeypatch.delenv("SEATSYNC_ALLOW_PLAINTEXT_KEYRING", raising=False)
    context = open_context(data_dir)
    context.microsoft_record = context.uow.microsoft_connections.save(
        MicrosoftConnectionRecord(id=0, name="Partner", client_id="app-1", partner_tenant_id="partner-1"))
    common.use_context(context)
    yield context
    common.use_context(None)
    context.close()


def run_scheduler(capsys) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    try:
        code = main(["run-scheduler"])
    except SchedulerStarted:
        code = None
    return code, capsys.readouterr().err


def store_microsoft_secret(ctx, backend) -> None:  # type: ignore[no-untyped-def]
    record = ctx.microsoft_record
    backend.set_password("seatsync", microsoft_secret_key(record.id, record.name).username, "s3cret")


def test_a_working_keyring_with_every_secret_starts(ctx, memory_keyring, capsys):
    store_microsoft_secret(ctx, memory_keyring)
    assert run_scheduler(capsys)[0] is None  # the scheduler started


def test_no_keyring_refuses(ctx, capsys):
    keyring.set_keyring(fail.Keyring())
    code, err = run_scheduler(capsys)
    assert code == 1
    assert "keyring" in err and "PYTHON_KEYRING_BACKEND" in err


def test_a_locked_keyring_refuses(ctx, capsys):
    keyring.set_keyring(LockedKeyring())
    code, err = run_scheduler(capsys)
    assert code == 1 and "does not answer" in err and "Unlock it" in err


def test_an_unreadable_secret_refuses_and_names_it(ctx, capsys):
    code, err = run_scheduler(capsys)  # the Microsoft connection's secret was never stored
    assert code == 1
    assert "the client secret of Microsoft partner connection 'Partner' is not in the keyring" in err
    assert "Enter them again in Settings" in err


def test_an_enabled_webhook_without_its_url_refuses(ctx, memory_keyring, capsys):
    store_microsoft_secret(ctx, memory_keyring)
    ctx.settings.set_notifications(NotificationSettings(webhook_enabled=True))
    code, err = run_scheduler(capsys)
    assert code == 1 and "the url of Notifications 'Webhook' is not in the keyring" in err


def test_a_plaintext_keyring_refuses_unless_opted_in(ctx, capsys, monkeypatch):
    backend = PlaintextKeyring()
    keyring.set_keyring(backend)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")  # chosen by the user
    store_microsoft_secret(ctx, backend)
    code, err = run_scheduler(capsys)
    assert code == 1
    assert "keyrings.alt.file.PlaintextKeyring" in err and "SEATSYNC_ALLOW_PLAINTEXT_KEYRING=1" in err
    monkeypatch.setenv("SEATSYNC_ALLOW_PLAINTEXT_KEYRING", "1")
    assert run_scheduler(capsys)[0] is None  # accepted explicitly: it starts


def test_the_check_never_prints_a_secret(ctx, memory_keyring, capsys):
    store_microsoft_secret(ctx, memory_keyring)
    ctx.settings.set_notifications(NotificationSettings(webhook_enabled=True))
    _, err = run_scheduler(capsys)
    assert "s3cret" not in err
