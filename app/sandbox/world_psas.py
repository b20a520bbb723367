"""The PSA half of a ``SandboxWorld``: one sandbox PSA, seeded and inspected the same way for each vendor.

A ``PsaSide`` wraps one PSA sandbox behind one small seeding API
(companies, one monthly agreement each, the catalog, an agreement's
proration switch, a person's edit of a line) and one inspection API
(``holdings``: what the PSA itself now holds on an agreement, read from the
sandbox's own records, never through seatsync's adapter; ``writes``: how
many write requests its server has answered). It also knows the connection
settings and secrets seatsync stores for it (the fields of
app/services/psa/factory.py's ``KINDS``). Each PSA's side lives in its
sandbox's folder (app/sandbox/<kind>/side.py), named by its registry entry
(``PsaKind.sandbox``); ``PSA_KINDS`` are the kinds that have one.

Two test hooks act on the sandbox's own records as a fault would, each
returning a function that undoes it exactly: ``hide_line`` (the record is
gone from every answer, as when a read comes back short) and ``set_marker``
(the field seatsync keeps its marker in is changed, as when a person edits
it or a field is cut short).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from app.sandbox.server import SandboxApp, SandboxServer, TlsFiles
from app.services.psa.factory import KINDS

#: The catalog every world's PSA holds: (identifier, description, price, cost).
CATALOG = (
    ("M365-BP", "Microsoft 365 Business Premium", "22.00", "18.70"),
    ("M365-BS", "Microsoft 365 Business Standard", "12.50", "10.63"),
    ("M365-E3", "Microsoft 365 E3", "36.00", "30.60"),
    ("EXO-P1", "Exchange Online (Plan 1)", "4.00", "3.40"),
)
#: The demo's catalog: a product for every common Microsoft 365 license (list price, cost 15 % below).
DEMO_CATALOG = (
    *CATALOG,
    ("M365-BB", "Microsoft 365 Business Basic", "6.00", "5.10"),
    ("M365-APPS-B", "Microsoft 365 Apps for business", "8.25", "7.01"),
    ("M365-E5", "Microsoft 365 E5", "57.00", "48.45"),
    ("M365-F3", "Microsoft 365 F3", "8.00", "6.80"),
    ("O365-E1", "Office 365 E1", "10.00", "8.50"),
    ("O365-E3", "Office 365 E3", "23.00", "19.55"),
    ("EXO-P2", "Exchange Online (Plan 2)", "8.00", "6.80"),
    ("EXO-KIOSK", "Exchange Online Kiosk", "2.00", "1.70"),
    ("TEAMS-ESS", "Microsoft Teams Essentials", "4.00", "3.40"),
    ("TEAMS-PHONE", "Microsoft Teams Phone Standard", "10.00", "8.50"),
    ("VISIO-P2", "Visio Plan 2", "15.00", "12.75"),
    ("PROJECT-P3", "Project Plan 3", "30.00", "25.50"),
    ("PBI-PRO", "Power BI Pro", "14.00", "11.90"),
    ("MDB", "Microsoft Defender for Business", "3.00", "2.55"),
    ("MDO-P1", "Microsoft Defender for Office 365 (Plan 1)", "2.00", "1.70"),
    ("INTUNE-P1", "Microsoft Intune Plan 1", "8.00", "6.80"),
    ("ENTRA-P1", "Microsoft Entra ID P1", "6.00", "5.10"),
)
#: The PSAs the sandbox world can stand up, in the registry's order.
PSA_KINDS = tuple(kind for kind, spec in KINDS.items() if spec.sandbox)


@dataclass(frozen=True, kw_only=True)
class Holding:
    """One record on an agreement, as the PSA itself holds it.

    ``kind`` is "main" (a recurring line) or "dated" (a one-off prorate or
    credit charge). ``quantity`` is what a main line bills from its next
    invoice on (Autotask: the units of its last scheduled period); ``amount``
    is what a dated record bills once, and a main line's price per period.
    """

    id: str
    kind: str
    product: str  # the catalog identifier
    quantity: int
    unit_price: Decimal
    amount: Decimal
    start: date | None
    end: date | None
    marker: str
    description: str = ""


def is_dated(marker: str) -> bool:
    # seatsync's markers: "seatsync:<row>" for a main line, "seatsync:<row>:<kind><day>:<a>><b>" for a dated one.
    return marker.startswith("seatsync:") and marker.count(":") >= 2


def take(table: dict[Any, Any], key: Any, lock: Any) -> Callable[[], None]:
    """Remove ``table[key]``; the returned function puts it back where it was (same dict, same order)."""
    with lock:
        order = list(table)
        value = table.pop(key)

    def put_back() -> None:
        with lock:
            table[key] = value
            rank = {k: i for i, k in enumerate(order)}
            items = sorted(table.items(), key=lambda kv: rank.get(kv[0], len(order)))  # stable: newer keys last
            table.clear()
            table.update(items)

    return put_back


def swap(record: dict[str, Any], name: str, value: Any, lock: Any) -> Callable[[], None]:
    """Set ``record[name]``; the returned function restores it (or removes it if it was not there)."""
    with lock:
        had, old = name in record, record.get(name)
        record[name] = value

    def restore() -> None:
        with lock:
            if had:
                record[name] = old
            else:
                record.pop(name, None)

    return restore


def as_day(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


class PsaSide(Protocol):
    kind: str
    label: str
    app: SandboxApp
    server: SandboxServer

    def add_catalog(self, products: tuple[tuple[str, str, str, str], ...] = CATALOG) -> None:
        """The products of ``CATALOG`` (or ``products``), and what the PSA needs beside them."""

    def add_product(self, identifier: str, *, description: str, price: str, cost: str) -> str: ...

    def add_company(self, name: str, *, domains: list[str], active: bool = True) -> str: ...

    def add_agreement(self, company_id: str, *, start: date) -> str: ...

    def serve(self, tls: TlsFiles) -> SandboxServer: ...

    def settings(self) -> tuple[dict[str, str], dict[str, str]]:
        """(connection settings, secrets by field name) for this sandbox."""

    def set_prorates(self, agreement_id: str, prorates: bool) -> None: ...

    def set_active(self, agreement_id: str, active: bool) -> None:
        """A person makes the agreement inactive in the PSA (or active again)."""

    def add_foreign_line(self, agreement_id: str, product: str, quantity: int, *, reference: str,
                         start: date) -> str:
        """A line another tool (or a person) added: ``quantity`` of ``product`` (its identifier) from ``start``,
        ``reference`` in the field seatsync keeps its markers in; the line's id (a ``Holding.id``)."""

    def edit_quantity(self, line_id: str, quantity: int, effective: date) -> None:
        """A person changes a line's seats in the PSA (from ``effective`` where the PSA dates it)."""

    def edit_price(self, line_id: str, price: str) -> None:
        """A person changes a main line's unit price in the PSA."""

    def set_product_price(self, identifier: str, *, price: str, cost: str) -> None:
        """A person changes a product's price and cost in the PSA's catalog."""

    def holdings(self, agreement_id: str) -> list[Holding]: ...

    def hide_line(self, line_id: str) -> Callable[[], None]:
        """A test hook: the record behind ``line_id`` (a ``Holding.id``) leaves the sandbox's answers.

        Every read (lists, queries, counts, gets) comes back without it, as
        when a page of the answer was lost; it is taken from the sandbox's
        own store, with what belongs to it (Autotask: a contract service's
        units and adjustments). Call the returned function to put it back
        exactly as it was.
        """

    def set_marker(self, line_id: str, marker: str) -> Callable[[], None]:
        """A test hook: the field seatsync keeps a line's marker in now holds ``marker``.

        ConnectWise: the addition's ``serialNumber``; Autotask: a contract
        service's ``internalDescription`` or a charge's
        ``internalPurchaseOrderNumber``; HaloPSA: the line's ``comment_2``.
        Call the returned function to restore the field.
        """

    def is_write(self, method: str, route: str) -> bool: ...


def write_requests(side: PsaSide) -> int:
    """Write requests the side's server has answered so far (faulted ones included)."""
    server = side.server
    with server._counter_lock:
        return sum(n for (method, route), n in server.requests.items() if side.is_write(method, route))


def make_side(kind: str, today: Callable[[], date]) -> Any:
    spec = KINDS.get(kind)
    if spec is None or not spec.sandbox:
        raise ValueError(f"the sandbox world has no PSA {kind!r}; it has {', '.join(PSA_KINDS)}")
    module, _, name = spec.sandbox.partition(":")
    return getattr(importlib.import_module(module), name)(today)
