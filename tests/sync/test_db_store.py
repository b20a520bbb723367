"""DbSyncStore: the engine's store on the database keeps MemorySyncStore's promises.

The engine's own tests (test_engine.py) run on both stores; these pin what
they do not reach: ``setup()`` from what the user configured, the same
answers as the memory store call for call, the audit's company, connections
on worker threads, and the tenant lock across processes.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from app.billing import operations as ops
from app.billing import types as core
from app.errors import SeatsyncError
from app.models import close_database, open_database
from app.models.database import db
from app.models.records import TenantRecord
from app.models.repositories import (
    AuditLog,
    Catalog,
    Companies,
    Exclusions,
    Mappings,
    Profiles,
    PsaConnections,
    Tenants,
)
from app.services.psa.port import PsaCompany
from app.services.settings import ApprovalPolicy as Mode
from app.services.settings import Settings
from app.services.sync.db_store import DbSyncStore, UnknownTenant, strictest
from app.services.sync.store import (
    ApprovalRules,
    AuditEntry,
    HeldState,
    JournalState,
    MemorySyncStore,
    SyncStore,
)
from app.services.uow import DatabaseNotOpen

ROOT = Path(__file__).resolve().parents[2]
T1 = "8c1f3a2e-0d4b-4a57-9b7e-1f2a3b4c5d6e"
T2 = "0b6c7d8e-1f20-4a3b-8c9d-aabbccddeeff"
BP = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"
TRIAL = "6fd2c87f-b296-42f0-b197-1e91e994b900"
FLOW_FREE = "f30db892-07e9-47e9-837c-80727f46fd3d"


@pytest.fixture
def path(tmp_path) -> Path:
    return tmp_path / "seatsync.db"


@pytest.fixture
def database(path):
    yield open_database(path)
    close_database()


def company_key(psa_id: str) -> str:
    """How settings name a company: seatsync's id for it."""
    [company] = [c for c in Companies().all() if c.psa_id == psa_id]
    return str(company.id)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _op(key: str, kind: ops.OpKind = ops.OpKind.SET_QUANTITY, quantity: int = 13, *,
        agreement: str = "A7", marker: str = "seatsync:bp", tenant: str = T1) -> ops.Operation:
    return ops.Operation(key=key, kind=kind, row=core.RowKey(tenant_id=tenant, sku_id=BP), agreement_id=agreement,
                          product_id="P1", marker=marker, effective=date(2026, 1, 5), quantity=quantity,
                          before=10, unit_price=Decimal("22.00"), amount=Decimal("66.00"))


def _seed() -> dict[str, object]:
    """Two tenants; T1 bills to two companies (the second for its Leeds office)."""
    connection = PsaConnections().create(kind="connectwise", name="Main").id
    Companies().replace(connection, [PsaCompany(id="19", name="Contoso"), PsaCompany(id="20", name="Contoso Leeds")])
    Catalog().replace_agreements(connection, [core.Agreement(id="A7", company_id="19"),
                                              core.Agreement(id="A8", company_id="20")])
    profile = Profiles().save(connection, core.BillingProfile(
        id="", name="BP retail", product=core.Product(id="P1", identifier="M365-BP", price=Decimal("22.00")),
        price=core.PricePolicy(kind=core.PriceKind.FIXED, fixed=Decimal("21.00"))))
    Tenants().add(TenantRecord(tenant_id=T1, name="Contoso Ltd"))
    Tenants().add(TenantRecord(tenant_id=T2, name="Fabrikam"))
    leeds = core.UserFilter(field=core.FilterField.OFFICE, value="Leeds")
    Tenants().link(T1, Companies().by_psa_id(connection, "19").id)
    Tenants().link(T1, Companies().by_psa_id(connection, "20").id, leeds)
    mappings = (
        Mappings().save(core.Mapping(tenant_id=T1, sku_id=BP, profile=profile, agreement_id="A7",
                                     included_quantity=1, negative_proration=True)),
        Mappings().save(core.Mapping(tenant_id=T1, sku_id=BP, profile=profile, agreement_id="A8",
                                     user_filter=leeds, minimum_quantity=5)),
    )
    Mappings().save(core.Mapping(tenant_id=T2, sku_id=BP, profile=profile, agreement_id="A7"))
    exclusions = (Exclusions().add(core.Exclusion(sku_id=FLOW_FREE, reason="free")),
                  Exclusions().add(core.Exclusion(sku_id=TRIAL, tenant_id=T1, reason="trial")))
    Exclusions().add(core.Exclusion(sku_id=BP, tenant_id=T2, reason="not ours"))
    return {"mappings": mappings, "exclusions": exclusions}


def test_the_database_store_has_every_method_of_the_port():
    for name, member in inspect.getmembers(SyncStore, inspect.isfunction):
        if not name.startswith("_"):
            ours = getattr(DbSyncStore, name)
            assert list(inspect.signature(ours).parameters) == list(inspect.signature(member).parameters), name


def test_setup_reads_the_tenant_its_mappings_exclusions_and_policy(database):
    seeded = _seed()
    settings = Settings()
    settings.set_approval_policy(Mode.HOLD_DECREASES, company_id=company_key("20"))
    settings.set_max_seats_change_per_line(10)
    settings.set_max_operations_per_run(None)
    setup = DbSyncStore().setup(T1)
    assert (setup.tenant_id, setup.name, setup.company_name) == (T1, "Contoso Ltd", "Contoso, Contoso Leeds")
    assert setup.mappings == seeded["mappings"]
    assert setup.mappings[0].profile.price == core.PricePolicy(kind=core.PriceKind.FIXED, fixed=Decimal("21.00"))
    assert setup.exclusions == seeded["exclusions"]  # the global one and its own, not another tenant's
    # The strictest policy of the companies it bills to, the caps from the settings.
    assert setup.policy == ApprovalRules(mode=Mode.HOLD_DECREASES, max_seats_per_line=10,
                                          max_operations_per_run=None)
    settings.set_approval_policy(Mode.HOLD_ALL)  # company 19 has no override: the global policy
    assert DbSyncStore().setup(T1).policy.mode is Mode.HOLD_ALL


def test_an_override_holds_for_its_company_only_when_another_psa_numbers_a_company_alike(database):
    _seed()  # T1 bills to ConnectWise's company "19"
    halo = PsaConnections().create(kind="halopsa", name="Halo").id
    Companies().replace(halo, [PsaCompany(id="19", name="Halo 19")])
    Tenants().link(T2, Companies().by_psa_id(halo, "19").id)
    Settings().set_approval_policy(Mode.HOLD_ALL, company_id=str(Companies().by_psa_id(halo, "19").id))
    assert DbSyncStore().setup(T2).policy.mode is Mode.HOLD_ALL
    assert DbSyncStore().setup(T1).policy.mode is Mode.APPLY_ALL


def test_a_tenant_billed_to_no_company_takes_the_global_policy_and_default_caps(database):
    _seed()
    Settings().set_approval_policy(Mode.HOLD_DECREASES, company_id=company_key("19"))
    setup = DbSyncStore().setup(T2)
    assert (setup.company_name, setup.policy) == (
        "", ApprovalRules(mode=Mode.APPLY_ALL, max_seats_per_line=50, max_operations_per_run=500))
    assert [e.sku_id for e in setup.exclusions] == [FLOW_FREE, BP]


def test_an_unknown_tenant_is_a_clear_typed_error(database):
    with pytest.raises(UnknownTenant, match=r"add it under Customers.*tenant nobody") as raised:
        DbSyncStore().setup("nobody")
    assert isinstance(raised.value, SeatsyncError) and raised.value.context == {"tenant_id": "nobody"}


def test_a_store_without_an_open_database_says_so():
    with pytest.raises(DatabaseNotOpen, match="open it"):
        DbSyncStore().approved(T1)


@pytest.mark.parametrize(("modes", "expected"), [
    ([], Mode.APPLY_ALL),
    ([Mode.APPLY_ALL, Mode.HOLD_DECREASES], Mode.HOLD_DECREASES),
    ([Mode.HOLD_ALL, Mode.APPLY_ALL, Mode.HOLD_DECREASES], Mode.HOLD_ALL),
])
def test_the_strictest_mode_wins(modes, expected):
    assert strictest(modes) is expected


def _held_state(store, key: str) -> HeldState:  # type: ignore[no-untyped-def]
    return store.held[key].state if isinstance(store, MemorySyncStore) else store.held(key).state


def _script(store) -> list[object]:  # type: ignore[no-untyped-def]
    """One run of every store call; what each answers, in order."""
    seen: list[object] = []
    create = _op("create", ops.OpKind.CREATE_LINE, 10)
    seen.append(store.journal_begin(T1, create))
    store.journal_set("create", JournalState.DONE, psa_id="L-1")
    seen.append(store.journal_begin(T1, create))  # done: never again
    seen.append(store.journal_begin(T1, _op("raise", quantity=13)))
    store.journal_set("raise", JournalState.UNKNOWN, error="timed out after sending")
    seen.append([op.key for op in store.unsettled(T1)])
    seen.append(store.last_written(T1))
    store.journal_set("raise", JournalState.DONE, psa_id="L-1")
    prorate = _op("prorate", ops.OpKind.ADD_PRORATE, 3, agreement="A8", marker="seatsync:pr")
    store.journal_begin(T1, prorate)
    store.journal_set("prorate", JournalState.FAILED, error="400")
    seen.append((store.unsettled(T1), store.last_written(T1), store.known_agreements(T1)))
    seen.append(store.journal_begin(T1, prorate))
    store.journal_set("prorate", JournalState.DONE, psa_id="L-2")
    store.journal_begin(T2, _op("theirs", ops.OpKind.CREATE_LINE, 4, agreement="B1", tenant=T2))
    store.journal_set("theirs", JournalState.NOT_APPLIED)
    seen.append((store.last_written(T1), store.known_agreements(T1), store.known_agreements(T2), store.unsettled(T2)))

    for key in ("h1", "h2", "h3"):
        store.hold(T1, _op(key, quantity=8), "the approval policy holds decreases")
    store.hold(T2, _op("h4", quantity=8, tenant=T2), "cap")
    store.decide("h1", True, "ana")
    store.decide("h2", False, "bob")
    seen.append((set(store.approved(T1)), set(store.approved(T2))))
    store.held_done(T1, ["h1"], ["h1", "h3"])
    seen.append([_held_state(store, k) for k in ("h1", "h2", "h3", "h4")])
    store.hold(T1, _op("h1", quantity=8), "planned again")  # applied stays applied
    store.held_done(T1, [], [])
    seen.append([_held_state(store, k) for k in ("h1", "h2", "h3", "h4")])
    store.hold(T1, _op("h3", quantity=7), "held anew")
    seen.append((_held_state(store, "h3"), set(store.approved(T1))))

    seen.append([store.try_lock(T1, "a", 60), store.try_lock(T1, "b", 60), store.try_lock(T1, "a", 60),
                 store.try_lock(T2, "b", 60)])
    store.unlock(T1, "b")
    seen.append(store.try_lock(T1, "b", 60))
    store.unlock(T1, "a")
    seen.append(store.try_lock(T1, "b", 60))
    return seen


def test_the_database_store_answers_as_the_memory_store_does(database):
    expected = [
        True, False, True, ["raise"], {"seatsync:bp": 10},
        ([], {"seatsync:bp": 13}, {"A7"}), True,
        ({"seatsync:bp": 13}, {"A7", "A8"}, set(), []),
        ({"h1"}, set()),
        [HeldState.APPLIED, HeldState.REJECTED, HeldState.HELD, HeldState.HELD],
        [HeldState.APPLIED, HeldState.REJECTED, HeldState.SUPERSEDED, HeldState.HELD],
        (HeldState.HELD, set()),
        [True, False, True, True], False, True,
    ]
    assert _script(MemorySyncStore()) == expected
    assert _script(DbSyncStore()) == expected


def test_a_held_operation_keeps_the_operation_and_who_decided(database):
    store = DbSyncStore()
    store.hold(T1, _op("h1", quantity=8), "the approval policy holds decreases")
    store.decide("h1", True, "ana")
    held = store.held("h1")
    assert (held.tenant_id, held.operation, held.reason, held.state, held.decided_by) == (
        T1, _op("h1", quantity=8), "the approval policy holds decreases", HeldState.APPROVED, "ana")
    assert store.held("nope") is None


def test_each_write_is_audited_with_the_company_of_its_agreement(database):
    _seed()
    store = DbSyncStore()
    at = datetime(2026, 1, 16, 9, 0, tzinfo=UTC)
    record = AuditEntry(at=at, actor="seatsync", tenant_id=T1, company="Contoso, Contoso Leeds", agreement_id="A8",
                         product_id="P1", operation="set_quantity", before_quantity=10, after_quantity=13,
                         before_amount=Decimal("220.00"), after_amount=Decimal("286.00"),
                         reason="assigned 13", psa_record_id="L-1", op_key="k1")
    store.audit(record)
    store.audit(replace(record, agreement_id="Z9", op_key="k2", at=at + timedelta(seconds=1)))
    [leeds, unknown] = AuditLog().query(tenant=T1)
    assert (leeds.company_id, leeds.company_name, leeds.action) == ("20", "Contoso Leeds", "set_quantity")
    assert (unknown.company_id, unknown.company_name) == ("", "Contoso, Contoso Leeds")
    assert store.audits(T1) == [replace(record, company="Contoso Leeds"),
                                replace(record, agreement_id="Z9", op_key="k2", at=at + timedelta(seconds=1))]
    assert store.audits(T2) == []


def test_a_worker_thread_gets_its_own_connection_and_leaves_it_closed(database):
    store, seen, errors = DbSyncStore(), [], []

    def worker(n: int) -> None:
        try:
            op = _op(f"k{n}", ops.OpKind.CREATE_LINE, n, marker=f"seatsync:{n}")
            seen.append(store.journal_begin(T1, op))
            store.journal_set(op.key, JournalState.DONE, psa_id=str(n))
            seen.append(db.is_closed())
        except Exception as error:  # noqa: BLE001 - surfaced below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(seen) == [True] * 16
    assert store.last_written(T1) == {f"seatsync:{n}": n for n in range(8)}
    assert not db.is_closed()  # the main thread's connection is left as it was


def test_a_stale_lock_is_taken_over_after_its_time_to_live(database):
    clock = Clock()
    alice, bob = DbSyncStore(now=clock), DbSyncStore(now=clock)
    assert alice.try_lock(T1, "alice-pc", 60)
    assert not bob.try_lock(T1, "bob-pc", 60)
    clock.now += timedelta(seconds=61)  # alice's process died
    assert bob.try_lock(T1, "bob-pc", 60)
    assert not alice.try_lock(T1, "alice-pc", 60)


# -- across processes ---------------------------------------------------------

_PROCESS = textwrap.dedent("""
    import sys
    from app.models import close_database, open_database
    from app.services.sync.db_store import DbSyncStore

    path, owner = sys.argv[1], sys.argv[2]
    open_database(path)
    store = DbSyncStore()
    try:
        print("ready", flush=True)
        for command in sys.stdin:  # one answer per command, so the caller sets the pace
            if command.strip() == "lock":
                print("locked" if store.try_lock("t1", owner, 300) else "busy", flush=True)
            elif command.strip() == "unlock":
                store.unlock("t1", owner)
                print("unlocked", flush=True)
    finally:
        close_database()
""")


def _process(path: Path, owner: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _PROCESS, str(path), owner], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _ask(processes: list[subprocess.Popen], command: str) -> list[str]:
    """Send ``command`` to every process at once, then collect their answers."""
    for process in processes:
        process.stdin.write(command + "\n")
        process.stdin.flush()
    return [process.stdout.readline().strip() for process in processes]


def _stop(processes: list[subprocess.Popen]) -> list[int]:
    for process in processes:
        process.stdin.close()
        process.stdout.close()
    return [process.wait(timeout=60) for process in processes]


@pytest.fixture
def migrated(path) -> Path:
    open_database(path)
    close_database()
    return path


def test_a_tenant_locked_by_another_process_is_busy_until_it_lets_go(migrated):
    other = [_process(migrated, "other-process")]
    try:
        assert [p.stdout.readline().strip() for p in other] == ["ready"]
        assert _ask(other, "lock") == ["locked"]
        open_database(migrated)
        try:
            store = DbSyncStore()
            assert not store.try_lock("t1", "this-process", 60)
            assert _ask(other, "unlock") == ["unlocked"]
            assert store.try_lock("t1", "this-process", 60)
            assert _ask(other, "lock") == ["busy"]
            store.unlock("t1", "this-process")
        finally:
            close_database()
    finally:
        assert _stop(other) == [0]


def test_processes_racing_for_a_tenant_never_hold_it_together(migrated):
    racers = [_process(migrated, f"racer-{n}") for n in range(3)]
    try:
        assert [racer.stdout.readline().strip() for racer in racers] == ["ready"] * 3
        for _ in range(20):
            # All three ask for the free lock at the same moment: exactly one gets it.
            answers = _ask(racers, "lock")
            assert sorted(answers) == ["busy", "busy", "locked"], answers
            assert _ask(racers, "unlock") == ["unlocked"] * 3  # only the holder's release counts
    finally:
        assert _stop(racers) == [0, 0, 0]


def test_a_lock_held_by_a_process_that_died_here_is_taken_over_at_once(tmp_path):
    import socket
    import subprocess
    import sys

    from app.models import close_database, open_database
    from app.models.repositories import Locks

    open_database(tmp_path / "locks.db")
    try:
        locks = Locks()
        ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                               text=True, check=True)
        dead = f"{socket.gethostname()}:{ended.stdout.strip()}:abc"
        assert locks.acquire("tenant:t1", dead, 900)
        assert locks.acquire("tenant:t1", "me:1:x", 900)  # the dead holder's lock is taken over
        alive = f"{socket.gethostname()}:{os.getpid()}:def"
        assert locks.acquire("tenant:t2", alive, 900)
        assert not locks.acquire("tenant:t2", "me:1:x", 900)  # a live holder keeps it
        assert locks.acquire("tenant:t3", "elsewhere:1:x", 900)
        assert not locks.acquire("tenant:t3", "me:1:x", 900)  # another computer's holder keeps it
    finally:
        close_database()
