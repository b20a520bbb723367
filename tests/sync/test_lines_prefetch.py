"""On a PSA that reads many agreements' lines in a few requests, a run reads its tenants' lines a chunk at a
time, and a tenant trusts what was read for it only while the journal shows no write to it since."""

from __future__ import annotations

from dataclasses import replace

from app.services.sync.engine import Status, run_many
from tests.sync.conftest import SPB


def batched(world, count: int) -> list[str]:
    """``count`` tenants, each on an agreement of its own, on a PSA that reads lines in batches."""
    world.psa.capabilities = replace(world.psa.capabilities, reads_lines_in_batches=True)
    ids = []
    for n in range(1, count + 1):
        company = world.psa.add_company(f"Company {n}")
        ids.append(world.tenant(f"t{n}", agreement=world.psa.add_agreement(company, name=f"Managed {n}")))
    return ids


def batches(world, since: int) -> list[str]:
    return [subject for call, subject in world.psa.calls[since:] if call == "list_lines_of"]


def test_a_run_reads_every_tenants_lines_in_one_request(world):
    ids = batched(world, 6)
    first = run_many(world.engine(), ids, workers=3)
    assert all(r.status is Status.OK and r.applied for r in first)
    before = len(world.psa.calls)
    again = run_many(world.engine(), ids, workers=3)
    assert [(r.status, r.applied) for r in again] == [(Status.OK, [])] * 6  # nothing to write
    [read] = batches(world, before)  # one read for the six: no tenant read its own
    assert len(read.split(",")) == 6


def test_a_tenant_written_since_its_chunk_was_read_reads_its_lines_afresh(world):
    ids = batched(world, 3)
    run_many(world.engine(), ids, workers=1)
    world.microsoft.seats("t3", SPB, 13)  # t3 gains three seats
    written_meanwhile = []

    def t1_read(tenant_id: str, with_users: bool):
        if tenant_id == "t1" and not written_meanwhile:
            # The chunk is read by now (t1 read it). Another sync, of another process, writes t3's change.
            written_meanwhile.append(world.engine().sync("t3"))
        return world.microsoft(tenant_id, with_users)

    before = len(world.psa.calls)
    engine = world.engine()
    engine.fetch_inventory = t1_read
    results = run_many(engine, ids, workers=1)
    [other] = written_meanwhile
    assert other.status is Status.OK and other.applied  # the other sync wrote t3's change
    # This run found t3 already billed as Microsoft says: it planned from a fresh read, not from the chunk's.
    assert [(r.tenant_id, r.status, r.applied) for r in results] == [(t, Status.OK, []) for t in ids]
    # the chunk; the other sync's read and read-back of t3's agreement; t3's own read
    assert [len(b.split(",")) for b in batches(world, before)] == [3, 1, 1, 1]
    quantities = [ln.quantity for ln in world.psa.list_lines(world.store.setup("t3").mappings[0].agreement_id)
                  if ln.owned and ln.product_id == world.product and ln.kind.value == "main"]
    assert quantities == [13]  # billed once


def test_a_chunk_the_psa_could_not_read_leaves_each_tenant_to_read_its_own(world):
    from app.services.psa.port import PsaUnavailable

    ids = batched(world, 3)
    world.psa.fail_next("list_lines_of", PsaUnavailable("(no answer within 30 s)"))
    results = run_many(world.engine(), ids, workers=1)
    assert all(r.status is Status.OK and r.applied for r in results)
