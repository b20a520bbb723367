"""Shared fixtures: offscreen Qt, an in-memory keyring, a fresh data directory."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring
import pytest

from app.services.secrets import MemoryKeyring


@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """A fresh per-test data directory (SEATSYNC_DATA_DIR points the app at it)."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("SEATSYNC_DATA_DIR", str(path))
    return path
