"""Credentials live in the OS keyring only, and every failure says what to do."""

from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringLocked

from app.services.secrets import (
    SERVICE,
    KeyringFailed,
    MemoryKeyring,
    MissingSecret,
    NoKeyringBackend,
    SecretKey,
    SecretStore,
    chosen_by_user,
    connection_secret,
    no_backend_advice,
    usable,
)

PRIVATE_KEY = connection_secret("connectwise", 3, "private_key", name="Main")
SECRET = "s3cr3t-Pr1vate-Key"


def test_round_trip_in_the_keyring_under_service_and_username(memory_keyring):
    store = SecretStore()
    assert not store.has(PRIVATE_KEY)
    store.set(PRIVATE_KEY, SECRET)
    assert store.get(PRIVATE_KEY) == SECRET and store.has(PRIVATE_KEY)
    assert memory_keyring.get_password(SERVICE, "connectwise/3/private_key") == SECRET


def test_delete(memory_keyring):
    store = SecretStore()
    store.set(PRIVATE_KEY, SECRET)
    assert store.delete(PRIVATE_KEY) is True
    assert not store.has(PRIVATE_KEY) and store.delete(PRIVATE_KEY) is False
    assert len(memory_keyring.store) == 0


def test_a_missing_secret_names_the_connection_and_field():
    with pytest.raises(MissingSecret) as raised:
        SecretStore().get(PRIVATE_KEY)
    assert str(raised.value) == "ConnectWise 'Main' has no private key stored; enter it in Settings."


def test_an_empty_secret_is_refused():
    with pytest.raises(ValueError, match="private key of ConnectWise 'Main'"):
        SecretStore().set(PRIVATE_KEY, "")


@pytest.mark.parametrize("part", ["", "a/b"])
def test_key_parts_are_checked(part):
    with pytest.raises(ValueError, match="free of '/'"):
        SecretKey(kind="halopsa", owner_id="1", field=part)


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()], ids=["fail", "null"])
def test_without_a_usable_backend_nothing_is_stored_and_the_message_says_what_to_install(backend, monkeypatch):
    monkeypatch.setattr("sys.platform", "linux")
    keyring.set_keyring(backend)
    store = SecretStore()
    for action in (lambda: store.set(PRIVATE_KEY, SECRET), lambda: store.get(PRIVATE_KEY),
                   lambda: store.has(PRIVATE_KEY), lambda: store.delete(PRIVATE_KEY)):
        with pytest.raises(NoKeyringBackend) as raised:
            action()
        message = str(raised.value)
        assert "GNOME Keyring or KWallet" in message and "PYTHON_KEYRING_BACKEND" in message
        assert SECRET not in message


class LowPriorityKeyring(MemoryKeyring):
    """Stands for keyrings.alt's plaintext file: works, but keyring does not recommend it."""

    priority = 0.5  # type: ignore[assignment]


def test_a_low_priority_backend_is_used_only_when_the_user_chose_it(monkeypatch):
    backend = LowPriorityKeyring()
    keyring.set_keyring(backend)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setattr("app.services.secrets._configured_name", lambda: "")
    with pytest.raises(NoKeyringBackend):
        SecretStore().set(PRIVATE_KEY, SECRET)
    assert len(backend.store) == 0
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", f"{__name__}.LowPriorityKeyring")
    SecretStore().set(PRIVATE_KEY, SECRET)
    assert SecretStore().get(PRIVATE_KEY) == SECRET


def test_a_chosen_backend_can_be_named_in_keyringrc(monkeypatch):
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setattr("app.services.secrets._configured_name", lambda: f"{__name__}.LowPriorityKeyring")
    assert chosen_by_user(LowPriorityKeyring())
    assert not chosen_by_user(MemoryKeyring())


def test_a_chainer_is_usable_only_with_a_recommended_backend_inside(monkeypatch):
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    assert not usable(chainer.ChainerBackend())
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [MemoryKeyring(), MemoryKeyring()])
    assert usable(chainer.ChainerBackend())


def test_advice_per_platform():
    assert "Credential Manager" in no_backend_advice(platform="win32")
    assert "Keychain" in no_backend_advice(platform="darwin")
    assert "Secret Service" in no_backend_advice(fail.Keyring(), platform="linux")
    assert "keyring.backends.fail.Keyring" in no_backend_advice(fail.Keyring(), platform="linux")


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the login keyring is locked")


def test_a_backend_failure_is_a_typed_error_without_the_secret():
    store = SecretStore(backend=LockedKeyring())
    with pytest.raises(KeyringFailed) as raised:
        store.get(PRIVATE_KEY)
    assert "private key of ConnectWise 'Main'" in str(raised.value) and "locked" in str(raised.value)


def test_an_explicit_backend_is_used_instead_of_the_global_one(memory_keyring):
    own = MemoryKeyring()
    SecretStore(backend=own).set(PRIVATE_KEY, SECRET)
    assert len(own.store) == 1 and len(memory_keyring.store) == 0


def test_no_secret_in_any_repr_or_str(memory_keyring):
    store = SecretStore()
    store.set(PRIVATE_KEY, SECRET)
    for thing in (store, memory_keyring, memory_keyring.store, PRIVATE_KEY):
        assert SECRET not in repr(thing) and SECRET not in str(thing)


def test_the_memory_keyring_is_never_picked_by_keyring_detection():
    assert MemoryKeyring not in set(KeyringBackend.get_viable_backends())
