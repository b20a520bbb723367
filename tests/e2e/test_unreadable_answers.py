"""A write whose answer cannot be read, on each PSA: unknown at first, settled by reading the PSA.

The PSA's answer to one write of a sync is unreadable: an HTML page with
status 200 (a proxy's or a maintenance page), JSON cut short, or a
connection reset halfway through the body. Each of these comes after the
PSA applied the write, except the first kind of HTML page ("html"), which a
proxy answers without passing the request on. The write is one of three: a
new line (a newly mapped license), a quantity change (seats added) and the
row's prorate line (written before the main line's change).

The first sync fails the tenant with a plain sentence (never "unexpected
error") and journals the write ``unknown``; the next, fault-free sync reads
the PSA, settles it as applied (audited then, never sent again) or as not
applied (written then), and leaves the PSA as a fault-free sync does; a
third sync writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from app.sandbox.server import Fault
from app.services.sync.db_store import DbSyncStore
from app.services.sync.store import JournalState
from tests.e2e.conftest import E3, MID, PERIOD_END, SPB, Tenant


@dataclass(frozen=True)
class Target:
    """Which request carries the faulted write on a PSA."""

    method: str
    path: str
    skip: int = 0  # matching requests let through first (the row's prorate line)


TARGETS = {
    ("connectwise", "create"): Target("POST", r"/agreements/\d+/additions$", skip=1),
    ("connectwise", "set_quantity"): Target("PATCH", r"/additions/\d+$"),
    ("connectwise", "prorate"): Target("POST", r"/agreements/\d+/additions$"),
    ("autotask", "create"): Target("POST", r"/Contracts/\d+/Services$"),
    ("autotask", "set_quantity"): Target("POST", r"/ContractServiceAdjustments$"),
    ("autotask", "prorate"): Target("POST", r"/Contracts/\d+/Charges$"),
    ("halopsa", "create"): Target("POST", r"/RecurringInvoice/Lines$", skip=1),
    ("halopsa", "set_quantity"): Target("POST", r"/RecurringInvoice/updatelines$"),
    ("halopsa", "prorate"): Target("POST", r"/RecurringInvoice/Lines$"),
}
PSA_NAMES = {"connectwise": "ConnectWise", "autotask": "Autotask", "halopsa": "HaloPSA"}


@dataclass(frozen=True)
class Mode:
    """A fault, whether the PSA applied the write before it, and what the message says."""

    applied: bool
    says: str


MODES = {
    "html": Mode(False, "HTML page"),
    "html_after": Mode(True, "HTML page"),
    "truncated_after": Mode(True, "JSON cut short"),
    "reset_after": Mode(True, "while the answer was being read"),
}


def change(tenant: Tenant, op: str) -> None:
    """What happens in Microsoft on 16 January: a license newly mapped, or seats added (its prorate line)."""
    if op == "create":
        tenant.seats(E3, 5)
        tenant.map(E3)
    else:
        tenant.seats(SPB, 13)


def assert_as_without_faults(tenant: Tenant, op: str) -> None:
    """The PSA holds what one fault-free sync leaves, each line once."""
    markers = [h.marker for h in tenant.holdings()]
    assert len(markers) == len(set(markers)), f"a line was written twice: {tenant.holdings()}"
    if op == "create":
        # 5 × 36.00 × 16/31 = 92.90 for 16-31 January; 5 seats from February.
        assert (tenant.main(E3).quantity, tenant.main(E3).amount) == (5, Decimal("180.00"))
        assert tenant.dated(E3) == [(MID, PERIOD_END, Decimal("92.90"))]
    else:
        # 3 × 22.00 × 16/31 = 34.06 for 16-31 January; 13 seats from February.
        assert (tenant.main(SPB).quantity, tenant.main(SPB).amount) == (13, Decimal("286.00"))
        assert tenant.dated(SPB) == [(MID, PERIOD_END, Decimal("34.06"))]


@pytest.mark.parametrize("op", ["create", "set_quantity", "prorate"])
@pytest.mark.parametrize("mode", list(MODES))
def test_an_unreadable_answer_is_settled_by_reading_the_psa(synced: Tenant, op: str, mode: str):
    tenant, expected = synced, MODES[mode]
    change(tenant, op)
    target = TARGETS[(tenant.kind, op)]
    tenant.world.psa_server.chaos.inject(Fault(mode, method=target.method, path=target.path, skip=target.skip))

    first = tenant.sync()
    assert not tenant.world.psa_server.chaos._faults, "the fault never reached the PSA"
    (failed,) = first.failed
    assert "unexpected" not in failed.error and "Traceback" not in failed.error, failed.error
    assert "outcome is unknown" in failed.error and PSA_NAMES[tenant.kind] in failed.error, failed.error
    assert expected.says in failed.error, failed.error
    assert "<html" not in failed.error.lower() and "<!doctype" not in failed.error.lower(), failed.error
    key, state = DbSyncStore().journal_states(tenant.tenant_id)[-1]
    assert state is JournalState.UNKNOWN

    before = tenant.writes()
    second = tenant.sync()
    assert not second.failed, [r.error for r in second.results]
    (result,) = second.results
    recovered = [o.key for o in result.recovered]
    # Autotask's create is two writes (the contract service, then its units): with the first applied and
    # its answer unreadable, the line holds no units yet, so the next run finishes it rather than recovering.
    unfinished = tenant.kind == "autotask" and op == "create"
    if expected.applied and not unfinished:
        assert recovered == [key], "the write the PSA shows is settled as applied"
        # Settled, not sent again: only what the row still lacked is written (the prorate row's main change).
        assert len(result.applied) == (1 if op == "prorate" else 0)
    else:
        assert recovered == []
        assert dict(DbSyncStore().journal_states(tenant.tenant_id))[key] in (JournalState.NOT_APPLIED,
                                                                             JournalState.DONE)
        assert len(result.applied) == (2 if op == "prorate" else 1)
    if tenant.kind != "autotask":  # an Autotask write is several requests
        assert tenant.writes() - before == len(result.applied)
    assert_as_without_faults(tenant, op)
    states = tenant.journal()
    assert JournalState.PENDING not in states and JournalState.UNKNOWN not in states, states
    audited = tenant.audited_keys()
    assert len(audited) == len(set(audited)), "a write was audited twice"
    if expected.applied and not unfinished:
        assert audited.count(key) == 1, "the recovered write is audited once"

    before = tenant.writes()
    quiet = tenant.sync()
    assert not quiet.failed, [r.error for r in quiet.results]
    assert (quiet.writes, quiet.planned, tenant.writes() - before) == (0, 0, 0)
    assert tenant.audited_keys() == audited
