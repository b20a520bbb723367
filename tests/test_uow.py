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
