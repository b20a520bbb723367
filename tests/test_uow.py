"""The unit of work: one connection and one transaction, committed whole or rolled back whole."""

from __future__ import annotations

import threading

import pytest

from app.bootstrap import open_context
from app.models.database import db
from app.services.uow import DatabaseNotOpen, UnitOfWork, connected


@pytest.fixture
def context(data_dir):
    ctx = open_context(data_dir)
    yield ctx
    ctx.close()


def names(uow: UnitOfWork) -> list[str]:
    return [c.name for c in uow.psa_connections.all()]


def test_a_block_commits_what_it_wrote(context):
    uow = context.uow
    with uow:
        uow.psa_connections.create(kind="connectwise", name="Main", settings={})
        uow.psa_connections.create(kind="autotask", name="Second", settings={})
    assert names(uow) == ["Main", "Second"]


def write_then_fail(uow: UnitOfWork, name: str) -> None:
    with uow:
        uow.psa_connections.create(kind="connectwise", name=name, settings={})
        raise RuntimeError("the keyring failed")


def test_a_block_that_raises_writes_nothing(context):
    with pytest.raises(RuntimeError, match="keyring"):
        write_then_fail(context.uow, "Main")
    assert names(context.uow) == []


def test_a_nested_block_is_a_savepoint_inside_the_outer_transaction(context):
    uow = context.uow
    with uow:
        uow.psa_connections.create(kind="connectwise", name="Kept", settings={})
        with pytest.raises(RuntimeError, match="keyring"):
            write_then_fail(uow, "Undone")
        assert names(uow) == ["Kept"]
    assert names(uow) == ["Kept"]


def test_one_unit_of_work_serves_threads_each_with_its_own_transaction(context):
    uow = context.uow
    inside, release, errors = threading.Event(), threading.Event(), []

    def writer() -> None:
        try:
            with uow:
                uow.psa_connections.create(kind="halopsa", name="From a worker", settings={})
                inside.set()
                release.wait(5)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    worker = threading.Thread(target=writer)
    worker.start()
    assert inside.wait(5)
    with connected():
        assert not db.in_transaction()  # this thread's connection has no transaction of the worker's
    release.set()
    worker.join(5)
    assert errors == []
    assert names(uow) == ["From a worker"]


def test_a_database_that_is_not_open_is_said(context):
    context.close()
    with pytest.raises(DatabaseNotOpen, match="open it"), UnitOfWork():
        pass


class FakeUnitOfWork:
    """The repositories a service reads, in memory: no database at all."""

    def __init__(self, **repositories: object) -> None:
        self.__dict__.update(repositories)

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(self, *_: object) -> None:
        return None


def test_a_service_runs_over_a_fake_unit_of_work():
    from decimal import Decimal
    from types import SimpleNamespace

    from app.billing.types import Agreement, BillingProfile, PriceKind, PricePolicy, Product
    from app.models.database import db
    from app.services.customers.profiles import ProfileService

    assert db.obj is None  # no database is open: everything comes from the fake
    product = Product(id="P1", identifier="M365-BP", price=Decimal("20.00"))
    profile = BillingProfile(id="7", name="BP", product=product,
                             price=PricePolicy(kind=PriceKind.PERCENT, percent=Decimal("10")))
    uow = FakeUnitOfWork(
        psa_connections=SimpleNamespace(all=lambda: [SimpleNamespace(id=1, name="Main")]),
        profiles=SimpleNamespace(all=lambda connection_id: [profile], versions=lambda connection_id: {"7": 3}),
        catalog=SimpleNamespace(agreements=lambda connection_id: [
            Agreement(id="A1", company_id="C1", currency="EUR"), Agreement(id="A2", company_id="C2", currency="EUR"),
            Agreement(id="A3", company_id="C3", currency="USD")]))
    [row] = ProfileService(uow).rows()  # type: ignore[arg-type]
    assert (row.connection_name, row.currency, row.unit_price, row.version) == ("Main", "EUR", Decimal("22.00"), 3)
