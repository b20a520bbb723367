"""Two installations of seatsync with separate databases on one PSA, on each PSA sandbox.

Installation B is a copy of A's set-up (the same connections and mappings)
under a name of its own. Its markers tell the lines apart: B finds A's lines
on the agreement, reports them and holds the rows, and never writes the
lines A wrote a second time, whichever of the two syncs first.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from app.services.settings import Settings
from tests.e2e.conftest import MID, SPB, Tenant
from tests.e2e.test_processes import finish, worker


@pytest.fixture
def database_engine() -> str:
    return "sqlite"  # two installations: two database files, copied as files


def second_installation(tenant: Tenant) -> str:
    """A copy of the tenant's database (read whole, WAL included) in a data directory of its own."""
    b = tenant.context.data_dir.parent / "installation-b"
    b.mkdir()
    source = sqlite3.connect(tenant.context.data_dir / "seatsync.db")
    copy = sqlite3.connect(b / "seatsync.db")
    with copy:
        source.backup(copy)
    source.close()
    copy.close()
    return str(b)


def run_b(tenant: Tenant, data_dir: str) -> dict:
    code, out, err = finish(worker(tenant, data_dir=data_dir, installation="b0b0"))
    assert code == 0, err
    answer = json.loads(out)
    (result,) = answer["results"]
    return {**result, "installation": answer["installation"], "mappings": answer["mappings"]}


@pytest.mark.slow
def test_a_second_installation_holds_the_rows_the_first_bills_and_writes_nothing_twice(tenant: Tenant):
    b = second_installation(tenant)
    first = tenant.sync()
    assert not first.failed and first.writes == 2
    mine = Settings().installation_id
    assert len(tenant.holdings()) == 2 and all(h.marker.endswith(f".{mine}") for h in tenant.holdings())
    writes = tenant.writes()
    result = run_b(tenant, b)
    assert (result["status"], result["applied"]) == ("ok", []), result
    assert result["findings"].count("other_installation") == 2, (result, tenant.holdings())  # one per line A bills
    assert tenant.writes() == writes
    tenant.move_to(MID)
    tenant.seats(SPB, 13)
    result = run_b(tenant, b)
    assert result["applied"] == [] and tenant.writes() == writes
    again = tenant.sync()
    assert again.writes == 2  # A bills the change: the prorate line and the new quantity, once
    assert sorted(h.marker.rpartition(".")[2][:4] for h in tenant.holdings()) == [mine] * 3
