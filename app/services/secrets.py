"""Credentials in the operating system's keyring, and nowhere else.

Every secret (PSA private keys and client secrets, the Microsoft app's
client secret, the SMTP password, a webhook URL) is stored with ``keyring``
under the service name ``seatsync`` and a username
``<kind>/<owner-id>/<field>``, e.g. ``connectwise/3/private_key``. Never in
the database, a settings file, a log or an exception message.

Which keyring backends are usable:

- the fail backend (``keyring.backends.fail.Keyring``, what keyring picks
  when it finds nothing) and the null backend (it silently forgets) never;
- a chainer only when it chains at least one recommended backend;
- a recommended backend (priority >= 1: Windows Credential Locker, macOS
  Keychain, Secret Service, KWallet) always;
- a backend keyring ranks below 1 (``keyrings.alt`` plaintext or encrypted
  files, ...) only when the user chose it by name, in ``PYTHON_KEYRING_BACKEND``
  or keyring's ``keyringrc.cfg``: seatsync never falls back to one silently.

Without a usable backend every operation raises ``NoKeyringBackend``, whose
message says what to install, and the secret is stored nowhere.

A server (``run-scheduler``) checks more at start (``check_for_server``): the
keyring answers, every secret seatsync has stored reads back, and the backend
encrypts: one that keeps secrets as plain text (``keyrings.alt``'s
``PlaintextKeyring``, ...) is refused unless ``SEATSYNC_ALLOW_PLAINTEXT_KEYRING=1``
says the user accepts it (docs/security.md).
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringError, PasswordDeleteError

from app.errors import SeatsyncError
from app.services.psa.factory import KINDS

SERVICE = "seatsync"
#: Set to 1 to let a server keep its secrets in a keyring backend that does not encrypt them.
ENV_ALLOW_PLAINTEXT = "SEATSYNC_ALLOW_PLAINTEXT_KEYRING"
#: Backends known to keep secrets unencrypted (besides any whose class or scheme says "plaintext").
PLAINTEXT_BACKENDS = frozenset({"keyrings.alt.file.PlaintextKeyring", "keyrings.alt.pyfs.PlaintextKeyring"})

#: How each kind of owner is named in messages (a PSA by its registry entry's ``short_label``).
KIND_LABELS = {
    "microsoft": "Microsoft partner connection",
    "notify": "Notifications",
    "team": "The team database",
}


class SecretError(SeatsyncError):
    """seatsync could not use the keyring."""


class MissingSecret(SecretError):
    """A credential seatsync needs is not in the keyring."""
    advice = "Enter it again in Settings."

    @property
    def message(self) -> str:  # the specifics say it all: "ConnectWise 'Main' has no ..."
        return self.detail or super().message


class NoKeyringBackend(SecretError):
    """seatsync found no secure keyring to keep credentials in, and stores them nowhere else."""


class KeyringFailed(SecretError):
    """The keyring refused the request (is it locked, or its service not running?)."""


class PlaintextKeyring(SecretError):
    """The keyring keeps credentials unencrypted; seatsync refuses it unless you accept that explicitly."""


class ServerKeyringError(SecretError):
    """seatsync cannot run without a working keyring holding every credential it stored."""

    @property
    def message(self) -> str:  # the specifics say what failed and what to do
        return self.detail or super().message


@dataclass(frozen=True, kw_only=True)
class SecretKey:
    """Names one secret: ``field`` of owner ``owner_id`` of ``kind``.

    ``owner_name`` (a connection's display name) and ``field`` appear in
    messages; the secret itself never does.
    """

    kind: str
    owner_id: str
    field: str
    owner_name: str = ""

    def __post_init__(self) -> None:
        for part in (self.kind, str(self.owner_id), self.field):
            if not part or "/" in part:
                raise ValueError(f"secret key parts must be non-empty and free of '/': {part!r}")
        object.__setattr__(self, "owner_id", str(self.owner_id))

    @property
    def username(self) -> str:
        return f"{self.kind}/{self.owner_id}/{self.field}"

    @property
    def owner(self) -> str:
        psa = KINDS.get(self.kind)
        label = KIND_LABELS.get(self.kind) or (psa.short_label if psa else self.kind)
        return f"{label} '{self.owner_name}'" if self.owner_name else label

    @property
    def field_label(self) -> str:
        return self.field.replace("_", " ")


MICROSOFT_SECRET_FIELD = "client_secret"


def psa_secret_key(connection_id: int, field_name: str, name: str = "") -> SecretKey:
    return SecretKey(kind="psa", owner_id=str(connection_id), field=field_name, owner_name=name)


def microsoft_secret_key(connection_id: int, name: str = "") -> SecretKey:
    return SecretKey(kind="microsoft", owner_id=str(connection_id), field=MICROSOFT_SECRET_FIELD, owner_name=name)


def connection_secret(kind: str, connection_id: int | str, field: str, name: str = "") -> SecretKey:
    """The key of a connection's credential, e.g. ConnectWise connection 3's private key."""
    return SecretKey(kind=kind, owner_id=str(connection_id), field=field, owner_name=name)


class SecretStore:
    """set/get/delete/has for secrets in the OS keyring (or ``backend`` if given).

    Without an explicit backend the store asks ``keyring`` for its current
    one on every call, so a backend configured later (tests, the demo) is used.
    """

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._backend = backend

    def __repr__(self) -> str:
        return f"SecretStore(backend={type(self._active()).__name__})"

    def backend(self) -> KeyringBackend:
        """The usable backend; raises NoKeyringBackend when there is none."""
        backend = self._active()
        if not usable(backend):
            raise NoKeyringBackend(no_backend_advice(backend))
        return backend

    def set(self, key: SecretKey, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ValueError(
                f"the {key.field_label} of {key.owner} must be a non-empty string; use delete to remove it"
            )
        backend = self.backend()
        try:
            backend.set_password(SERVICE, key.username, value)
        except KeyringError as error:
            raise KeyringFailed(_failure(key, "store", error)) from None

    def get(self, key: SecretKey) -> str:
        """The secret; MissingSecret when none is stored."""
        value = self._read(key)
        if value is None:
            raise MissingSecret(f"{key.owner} has no {key.field_label} stored; enter it in Settings.")
        return value

    def has(self, key: SecretKey) -> bool:
        return self._read(key) is not None

    def delete(self, key: SecretKey) -> bool:
        """Remove the secret; False when there was none."""
        backend = self.backend()
        try:
            if backend.get_password(SERVICE, key.username) is None:
                return False
            backend.delete_password(SERVICE, key.username)
        except PasswordDeleteError:
            return False
        except KeyringError as error:
            raise KeyringFailed(_failure(key, "delete", error)) from None
        return True

    def _read(self, key: SecretKey) -> str | None:
        backend = self.backend()
        try:
            return backend.get_password(SERVICE, key.username)
        except KeyringError as error:
            raise KeyringFailed(_failure(key, "read", error)) from None

    def _active(self) -> KeyringBackend:
        return self._backend if self._backend is not None else keyring.get_keyring()


    def check_for_server(self, keys: Iterable[SecretKey], environ: Mapping[str, str] | None = None) -> None:
        """Before a server's first run: the keyring works and encrypts, and each of ``keys`` reads back.

        Raises ``ServerKeyringError`` (``PlaintextKeyring`` for an unencrypted backend not accepted by
        ``SEATSYNC_ALLOW_PLAINTEXT_KEYRING=1``) saying what to do; never names a secret's value.
        """
        environ = os.environ if environ is None else environ
        try:
            backend = self.backend()
        except NoKeyringBackend as error:
            raise ServerKeyringError(f"{error} Then run this command again.") from None
        name = backend_name(backend)
        if is_plaintext(backend) and not plaintext_allowed(environ):
            raise PlaintextKeyring(
                f"{name} stores secrets in a file anyone who can read it can use. Use an encrypted backend "
                f"(docs/security.md), or set {ENV_ALLOW_PLAINTEXT}=1 to accept it.")
        try:
            backend.get_password(SERVICE, "check/keyring/read")  # a locked or stopped keyring fails here
        except Exception as error:  # noqa: BLE001 - any backend failure means the keyring does not work
            raise ServerKeyringError(
                f"The keyring ({name}) does not answer: {type(error).__name__}: {_first_line(error)}. Unlock it or "
                "start its service for the user this runs as (docs/security.md).") from None
        unreadable: list[str] = []
        for key in keys:
            try:
                if backend.get_password(SERVICE, key.username) is None:
                    unreadable.append(f"the {key.field_label} of {key.owner} is not in the keyring")
            except Exception as error:  # noqa: BLE001 - each credential that cannot be read is listed
                unreadable.append(f"the {key.field_label} of {key.owner} cannot be read ({type(error).__name__})")
        if unreadable:
            raise ServerKeyringError(
                f"seatsync cannot read every credential it needs from the keyring ({name}): "
                f"{'; '.join(unreadable)}. Enter them again in Settings, as the user this runs as, or with "
                "the keyring this runs with.")


def backend_name(backend: KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def is_plaintext(backend: KeyringBackend) -> bool:
    """Whether ``backend`` keeps secrets unencrypted (a chainer: whether the backend it writes to first does)."""
    if isinstance(backend, chainer.ChainerBackend):
        usable_ones = [b for b in backend.backends if usable(b)]
        return bool(usable_ones) and is_plaintext(usable_ones[0])
    scheme = str(getattr(backend, "scheme", "") or "").lower()
    return (backend_name(backend) in PLAINTEXT_BACKENDS or "plaintext" in type(backend).__name__.lower()
            or scheme in ("no encryption", "plaintext", "none"))


def plaintext_allowed(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the user accepted an unencrypted keyring (``SEATSYNC_ALLOW_PLAINTEXT_KEYRING=1``)."""
    environ = os.environ if environ is None else environ
    return environ.get(ENV_ALLOW_PLAINTEXT, "").strip().lower() in ("1", "true", "yes")


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [""])[0][:200]


def _failure(key: SecretKey, verb: str, error: Exception) -> str:
    # The backend's message names its own problem; it never holds the value.
    return f"Could not {verb} the {key.field_label} of {key.owner}: {type(error).__name__}: {error}"


def usable(backend: KeyringBackend) -> bool:
    """Whether seatsync may keep secrets in ``backend`` (rules in the module docstring)."""
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return any(usable(b) for b in backend.backends)
    return _priority(backend) >= 1 or chosen_by_user(backend)


def _priority(backend: KeyringBackend) -> float:
    try:
        return float(backend.priority)
    except Exception:  # noqa: BLE001 - a backend reports non-viability by raising from priority
        return -1.0


def chosen_by_user(backend: KeyringBackend, environ: dict[str, str] | None = None) -> bool:
    """True when PYTHON_KEYRING_BACKEND or keyringrc.cfg names ``backend``'s class."""
    environ = dict(os.environ) if environ is None else environ
    name = f"{type(backend).__module__}.{type(backend).__qualname__}"
    if environ.get("PYTHON_KEYRING_BACKEND", "").strip() == name:
        return True
    return _configured_name() == name


def _configured_name() -> str:
    try:
        from keyring.util import platform_

        path = platform_.config_root() / "keyringrc.cfg"
        config = configparser.RawConfigParser()
        config.read(path, encoding="utf-8")
        return config.get("backend", "default-keyring", fallback="").strip()
    except (OSError, configparser.Error):
        return ""


def no_backend_advice(backend: KeyringBackend | None = None, platform: str | None = None) -> str:
    """What to install or configure so seatsync can keep credentials, per platform."""
    platform = sys.platform if platform is None else platform
    found = f"(found: {type(backend).__module__}.{type(backend).__qualname__}) " if backend is not None else ""
    if platform.startswith("win"):
        where = "Windows Credential Manager should be available; check that the 'keyring' package is installed intact."
    elif platform == "darwin":
        where = "The macOS Keychain should be available; unlock it and check that the 'keyring' package is intact."
    else:
        where = (
            "Install a Secret Service provider such as GNOME Keyring or KWallet and make sure it is "
            "running in your session; on a headless server, set PYTHON_KEYRING_BACKEND to a "
            "keyring backend you trust."
        )
    return f"{found}{where}"


class _MaskedStore(dict):
    """A dict of secrets whose repr shows how many, never what."""

    def __repr__(self) -> str:
        return f"<{len(self)} secret(s)>"

    __str__ = __repr__


class MemoryKeyring(KeyringBackend):
    """A keyring backend held in memory: the tests' keyring and the demo's throw-away one.

    Everything in it is gone when the process ends.
    """

    priority = 1
    # Never picked by keyring's own backend detection (keyring registers every
    # subclass): it is used only when handed to keyring.set_keyring or SecretStore.
    viable = False

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = _MaskedStore()

    def __repr__(self) -> str:
        return f"MemoryKeyring({len(self.store)} secret(s))"

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.store[(service, username)]
        except KeyError:
            raise PasswordDeleteError(username) from None
