"""The unit of work: one connection and one transaction over seatsync's repositories.

``with uow:`` opens this thread's connection (if it has none) and a
transaction (a savepoint when nested), commits when the block ends and
rolls back when it raises. The repositories are its attributes; a read
outside ``with uow:`` works on a connection of its own, as peewee gives one
to each thread. One ``UnitOfWork`` serves every thread: what a block opened
is kept per thread.

A failure of the database is ``DatabaseFailed`` (app.models.database),
saying what happened in plain words.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import TracebackType

from app.errors import SeatsyncError
from app.models.database import database_errors, db
from app.models.repositories import (
    Approvals,
    AuditLog,
    Catalog,
    Companies,
    ContactSync,
    CustomLicenses,
    Exclusions,
    ForeignDecisions,
    IgnoredAccounts,
    Inventory,
    Journal,
    Locks,
    Mappings,
    MicrosoftConnections,
    Profiles,
    PsaConnections,
    Rules,
    Runners,
    SyncOutcomes,
    SyncRuns,
    TenantFindings,
    Tenants,
)


class DatabaseNotOpen(SeatsyncError):
    """seatsync's database is not open: open it (app.models.open_database) before using it."""


@contextmanager
def connected() -> Iterator[None]:
    """This thread's connection for the length of the block (opened and closed here if need be)."""
    if db.obj is None:
        raise DatabaseNotOpen()
    with database_errors():
        opened = db.is_closed()
        if opened:
            db.connect()
        try:
            yield
        finally:
            if opened:
                db.close()


class UnitOfWork:
    def __init__(self) -> None:
        self.psa_connections = PsaConnections()
        self.microsoft_connections = MicrosoftConnections()
        self.companies = Companies()
        self.tenants = Tenants()
        self.catalog = Catalog()
        self.profiles = Profiles()
        self.mappings = Mappings()
        self.exclusions = Exclusions()
        self.ignored_accounts = IgnoredAccounts()
        self.foreign_decisions = ForeignDecisions()
        self.inventory = Inventory()
        self.journal = Journal()
        self.approvals = Approvals()
        self.locks = Locks()
        self.audit = AuditLog()
        self.runs = SyncRuns()
        self.sync_outcomes = SyncOutcomes()
        self.findings = TenantFindings()
        self.runners = Runners()
        self.rules = Rules()
        self.custom_licenses = CustomLicenses()
        self.contact_sync = ContactSync()
        self._open = threading.local()

    def __enter__(self) -> UnitOfWork:
        stack = ExitStack()
        try:
            stack.enter_context(connected())
            stack.enter_context(db.atomic())
        except BaseException:
            stack.close()
            raise
        self._stacks().append(stack)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stacks().pop().__exit__(kind, error, traceback)

    def _stacks(self) -> list[ExitStack]:
        stacks = getattr(self._open, "stacks", None)
        if stacks is None:
            stacks = self._open.stacks = []
        return stacks
