"""A keyring kept in a JSON file, for a benchmark's child process: the headless command reads the secrets the
benchmark stored for the sandboxes.

    PYTHON_KEYRING_BACKEND=benchmarks.bench_keyring.PlaintextFileKeyring
    SEATSYNC_BENCH_KEYRING=/tmp/.../keyring.json

Plain text, as its name says (seatsync then uses it only because PYTHON_KEYRING_BACKEND names it, and a
server only with SEATSYNC_ALLOW_PLAINTEXT_KEYRING=1): it holds the sandboxes' throw-away secrets, never a real
one. Kept apart from the benchmark so that the child imports nothing more than this.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

#: The file the keyring reads and writes.
ENV_FILE = "SEATSYNC_BENCH_KEYRING"


def write(path: Path, secrets: Mapping[tuple[str, str], str]) -> None:
    """Store ``secrets`` ((service, username) -> secret) in ``path``, readable by its owner only."""
    path.touch(mode=0o600)
    path.write_text(json.dumps([[service, username, secret] for (service, username), secret in secrets.items()]),
                    encoding="utf-8")


class PlaintextFileKeyring(KeyringBackend):
    """Secrets as plain text in the JSON file ``SEATSYNC_BENCH_KEYRING`` names."""

    priority = 0.5  # below 1: never picked by keyring itself, nor by seatsync unless named
    viable = False

    def __init__(self) -> None:
        super().__init__()
        self.path = Path(os.environ[ENV_FILE])

    def _read(self) -> dict[tuple[str, str], str]:
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {(str(service), str(username)): str(secret) for service, username, secret in rows}

    def get_password(self, service: str, username: str) -> str | None:
        return self._read().get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        secrets = self._read()
        secrets[(service, username)] = password
        write(self.path, secrets)

    def delete_password(self, service: str, username: str) -> None:
        secrets = self._read()
        if secrets.pop((service, username), None) is None:
            raise PasswordDeleteError(username)
        write(self.path, secrets)
