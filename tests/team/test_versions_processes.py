"""Concurrent edits of one mapping from two processes on one PostgreSQL database: both read the same
version; the first save is taken, the second is refused with the first's name (issue #14)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.billing import types as core
from app.models import close_database, open_database
from app.models.repositories import Mappings
from app.services.team.location import ENVIRONMENT
from tests.models.factories import BP, TENANT, connection, profile, tenant

ROOT = Path(__file__).resolve().parents[2]
KEY = core.RowKey(tenant_id=TENANT, sku_id=BP)

#: One technician's desktop: read the mapping and its version, wait for "save" on stdin, save as ``actor``.
EDITOR = """
import os, sys
from dataclasses import replace
from app.billing.types import RowKey
from app.models import close_database, open_database
from app.models.records import EditConflict
from app.models.repositories import Mappings

actor, minimum = sys.argv[1], int(sys.argv[2])
open_database(os.environ["SEATSYNC_DATABASE_URL"])
try:
    mapping, version = Mappings().versioned(RowKey(tenant_id=sys.argv[3], sku_id=sys.argv[4]))
    print(f"read version {version}", flush=True)
    sys.stdin.readline()
    try:
        Mappings().save(replace(mapping, minimum_quantity=minimum), expected_version=version, actor=actor)
    except EditConflict as conflict:
        print(f"refused: {conflict}", flush=True)
        sys.exit(3)
    print("saved", flush=True)
finally:
    close_database()
"""


def editor(url: str, actor: str, minimum: int) -> subprocess.Popen[str]:
    env = {**os.environ, ENVIRONMENT: url, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", EDITOR, actor, str(minimum), TENANT, BP], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.postgresql
def test_the_second_of_two_processes_saving_one_mapping_is_refused_with_the_firsts_name(postgres_server):
    url = postgres_server.new_database()
    open_database(url)
    try:
        tenant()
        Mappings().save(core.Mapping(tenant_id=TENANT, sku_id=BP, profile=profile(connection()), agreement_id="A7",
                                     minimum_quantity=2), actor="carol")
    finally:
        close_database()

    alice, bob = editor(url, "alice", 5), editor(url, "bob", 9)
    try:
        assert alice.stdout is not None and bob.stdout is not None
        assert alice.stdout.readline().strip() == "read version 1"
        assert bob.stdout.readline().strip() == "read version 1"  # both opened the same version
        alice_out, alice_err = alice.communicate("save\n", timeout=60)
        bob_out, bob_err = bob.communicate("save\n", timeout=60)
    finally:
        for process in (alice, bob):
            if process.poll() is None:
                process.kill()
    assert (alice.returncode, alice_out.strip()) == (0, "saved"), alice_err
    assert bob.returncode == 3, bob_err
    assert bob_out.startswith("refused: Mapping for Contoso Ltd / " + BP + " was changed by alice at ")
    assert bob_out.strip().endswith("after you opened it; your change was not saved.")

    open_database(url)
    try:
        mapping, version = Mappings().versioned(KEY)
        assert (mapping.minimum_quantity, version) == (5, 2)  # alice's, once
    finally:
        close_database()
    assert postgres_server.sql("SELECT actor, action FROM config_change WHERE kind = 'mapping' ORDER BY id",
                               url.rsplit("/", 1)[1]) == [("carol", "created"), ("alice", "changed")]


@pytest.mark.postgresql
def test_two_processes_saving_at_once_save_one_change_and_refuse_the_other_by_name(postgres_server):
    url = postgres_server.new_database()
    open_database(url)
    try:
        tenant()
        Mappings().save(core.Mapping(tenant_id=TENANT, sku_id=BP, profile=profile(connection()), agreement_id="A7"),
                        actor="carol")
    finally:
        close_database()

    editors = {"alice": editor(url, "alice", 5), "bob": editor(url, "bob", 9)}
    try:
        for process in editors.values():
            assert process.stdout is not None and process.stdout.readline().strip() == "read version 1"
        for process in editors.values():  # both told to save before either is waited for
            assert process.stdin is not None
            process.stdin.write("save\n")
            process.stdin.flush()
        outputs = {actor: process.communicate(timeout=60) for actor, process in editors.items()}
    finally:
        for process in editors.values():
            if process.poll() is None:
                process.kill()
    codes = {actor: process.returncode for actor, process in editors.items()}
    assert sorted(codes.values()) == [0, 3], outputs
    winner = next(actor for actor, code in codes.items() if code == 0)
    loser = next(actor for actor, code in codes.items() if code == 3)
    assert f"was changed by {winner} at " in outputs[loser][0]
    open_database(url)
    try:
        mapping, version = Mappings().versioned(KEY)
        assert (mapping.minimum_quantity, version) == ({"alice": 5, "bob": 9}[winner], 2)
    finally:
        close_database()
