"""The PSA half of a ``SandboxWorld``: one sandbox PSA, seeded and inspected the same way for each vendor.

A ``PsaSide`` wraps one PSA sandbox (ConnectWise, Autotask or HaloPSA) behind
one small seeding API (companies, one monthly agreement each, the catalog,
an agreement's proration switch, a person's edit of a line) and one
inspection API (``holdings``: what the PSA itself now holds on an agreement,
read from the sandbox's own records, never through seatsync's adapter;
``writes``: how many write requests its server has answered). It also knows
the connection settings and secrets seatsync stores for it (the fields of
app/services/psa/factory.py's ``KINDS``).

Two test hooks act on the sandbox's own records as a fault would, each
returning a function that undoes it exactly: ``hide_line`` (the record is
gone from every answer, as when a read comes back short) and ``set_marker``
(the field seatsync keeps its marker in is changed, as when a person edits
it or a field is cut short).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from app.sandbox.server import SandboxApp, SandboxServer, TlsFiles

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
PSA_KINDS = ("connectwise", "autotask", "halopsa")


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


def _dated(marker: str) -> bool:
    # seatsync's markers: "seatsync:<row>" for a main line, "seatsync:<row>:<kind><day>:<a>><b>" for a dated one.
    return marker.startswith("seatsync:") and marker.count(":") >= 2


def _take(table: dict[Any, Any], key: Any, lock: Any) -> Callable[[], None]:
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


def _swap(record: dict[str, Any], name: str, value: Any, lock: Any) -> Callable[[], None]:
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


def _day(value: Any) -> date | None:
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

    def edit_quantity(self, line_id: str, quantity: int, effective: date) -> None:
        """A person changes a line's seats in the PSA (from ``effective`` where the PSA dates it)."""

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


# -- ConnectWise ------------------------------------------------------------------------------


class ConnectWiseSide:
    kind, label = "connectwise", "Sandbox ConnectWise"
    PUBLIC, PRIVATE, COMPANY, CLIENT = "sandbox-public", "sandbox-private", "seatsync", "seatsync-demo"

    def __init__(self, today: Callable[[], date]) -> None:
        from app.sandbox.connectwise import ConnectWiseSandbox

        self.app = ConnectWiseSandbox(today=today)
        self.server: SandboxServer

    def add_catalog(self, products: tuple[tuple[str, str, str, str], ...] = CATALOG) -> None:
        self.app.scenario([], products=products)

    def add_product(self, identifier: str, *, description: str, price: str, cost: str) -> str:
        return str(self.app.add_product(identifier, description=description, price=price, cost=cost))

    def add_company(self, name: str, *, domains: list[str], active: bool = True) -> str:
        return str(self.app.add_company(name, domains=domains, status="Active" if active else "Inactive"))

    def add_agreement(self, company_id: str, *, start: date) -> str:
        cid = int(company_id)
        return str(self.app.add_agreement(cid, start=start, contact_id=self.app.add_contact(cid)))

    def serve(self, tls: TlsFiles) -> SandboxServer:
        self.server = SandboxServer(self.app, tls=tls).start()
        return self.server

    def settings(self) -> tuple[dict[str, str], dict[str, str]]:
        return ({"site": self.server.url, "company_id": self.COMPANY, "public_key": self.PUBLIC,
                 "client_id": self.CLIENT}, {"private_key": self.PRIVATE})

    def set_prorates(self, agreement_id: str, prorates: bool) -> None:
        self.app.set_agreement(int(agreement_id), prorateFlag=prorates)

    def edit_quantity(self, line_id: str, quantity: int, effective: date) -> None:
        agreement_id, _ = self.app.find_addition(int(line_id))
        self.app.edit_addition(agreement_id, int(line_id), quantity=Decimal(quantity))

    def holdings(self, agreement_id: str) -> list[Holding]:
        with self.app.lock:
            additions = sorted(self.app.additions_of(int(agreement_id)).values(), key=lambda a: a["id"])
            out = []
            for a in additions:
                marker = str(a.get("serialNumber") or "")
                dated = _dated(marker)
                out.append(Holding(
                    id=str(a["id"]), kind="dated" if dated else "main", product=a["product"]["identifier"],
                    quantity=int(a.get("quantity") or 0), unit_price=a.get("unitPrice") or Decimal(0),
                    # What ConnectWise charges for the period the addition starts in (a dated
                    # line is written unprorated, so that is its whole amount).
                    amount=a["extendedProratePrice"] if dated else a["extPrice"],
                    start=_day(a.get("effectiveDate")), end=_day(a.get("cancelledDate")), marker=marker,
                    description=str(a.get("invoiceDescription") or "")))
            return out

    def hide_line(self, line_id: str) -> Callable[[], None]:
        with self.app.lock:
            agreement_id, _ = self.app.find_addition(int(line_id))
            return _take(self.app.additions[agreement_id], int(line_id), self.app.lock)

    def set_marker(self, line_id: str, marker: str) -> Callable[[], None]:
        _, addition = self.app.find_addition(int(line_id))
        return _swap(addition, "serialNumber", marker, self.app.lock)

    @staticmethod
    def is_write(method: str, route: str) -> bool:
        return method != "GET"


# -- Datto Autotask ---------------------------------------------------------------------------


class AutotaskSide:
    kind, label = "autotask", "Sandbox Autotask"
    #: Autotask answers queries to POST: reads all the same.
    READ_ROUTES = ("{entity}/query", "{entity}/query/count")

    def __init__(self, today: Callable[[], date]) -> None:
        from app.sandbox.autotask import AutotaskSandbox, SandboxAccount, seed_account

        self.today = today
        self.app = AutotaskSandbox()
        self.account = seed_account(self.app, SandboxAccount())
        self.server: SandboxServer

    def add_catalog(self, products: tuple[tuple[str, str, str, str], ...] = CATALOG) -> None:
        # One-off prorate and credit charges need a Material Cost Code (adapter: charges.py).
        self.app.store.add_billing_code("Microsoft 365 prorations")
        for identifier, description, price, cost in products:
            self.add_product(identifier, description=description, price=price, cost=cost)

    def add_product(self, identifier: str, *, description: str, price: str, cost: str) -> str:
        return str(self.app.store.add_service(identifier, Decimal(price), cost=Decimal(cost),
                                              description=description))

    def add_company(self, name: str, *, domains: list[str], active: bool = True) -> str:
        from app.sandbox.autotask import add_company

        return str(add_company(self.app, name, domains=tuple(domains), active=active))

    def add_agreement(self, company_id: str, *, start: date) -> str:
        # An Autotask contract has an end date; the world's runs for a few years.
        end = date(self.today().year + 3, 12, 31)
        return str(self.app.store.add_contract(int(company_id), "Microsoft 365", start=start, end=end))

    def serve(self, tls: TlsFiles) -> SandboxServer:
        from app.sandbox.autotask import serve

        self.server = serve(self.app, tls=tls)
        return self.server

    def settings(self) -> tuple[dict[str, str], dict[str, str]]:
        from app.sandbox.autotask import lookup_url

        return ({"username": self.account.username, "integration_code": self.account.integration_code,
                 "lookup_url": lookup_url(self.server)}, {"secret": self.account.secret})

    def set_prorates(self, agreement_id: str, prorates: bool) -> None:
        from app.sandbox.autotask import PRORATION_UDF

        self.app.store.set_udf("Contracts", int(agreement_id), PRORATION_UDF, None if prorates else "Yes")

    def edit_quantity(self, line_id: str, quantity: int, effective: date) -> None:
        self.app.store.set_units(int(line_id), quantity, effective)

    def holdings(self, agreement_id: str) -> list[Holding]:
        store = self.app.store
        with store.lock:
            services = store.tables["Services"]
            out = []
            for cs in sorted(store.tables["ContractServices"].values(), key=lambda r: r["id"]):
                if cs["contractID"] != int(agreement_id):
                    continue
                rows = store.rows(cs["id"])
                held = [r for r in rows if r.units > 0]
                last = rows[-1] if rows else None
                out.append(Holding(
                    id=str(cs["id"]), kind="main", product=services[cs["serviceID"]]["name"],
                    quantity=last.units if last else 0, unit_price=cs["unitPrice"],
                    amount=(last.units * last.price) if last else Decimal(0),
                    start=held[0].start if held else None,
                    end=held[-1].end if held and last is not None and last.units == 0 else None,
                    marker=str(cs.get("internalDescription") or ""),
                    description=str(cs.get("invoiceDescription") or "")))
            for charge in sorted(store.tables["ContractCharges"].values(), key=lambda r: r["id"]):
                if charge["contractID"] != int(agreement_id):
                    continue
                # seatsync's charges carry what they stand for in their notes ("to: <last day>",
                # "service: <id>"); datePurchased is the first day covered.
                notes = str(charge.get("notes") or "")
                found = re.search(r"^to: (\d{4}-\d{2}-\d{2})$", notes, re.M)
                service = store.tables["ContractServices"].get(charge.get("contractServiceID") or -1)
                named = re.search(r"^service: (\d+)$", notes, re.M)
                service_id = service["serviceID"] if service else int(named.group(1)) if named else None
                out.append(Holding(
                    id=f"charge-{charge['id']}", kind="dated",
                    product=services[service_id]["name"] if service_id in services else "",
                    quantity=int(charge["unitQuantity"]), unit_price=charge["unitPrice"],
                    amount=charge["billableAmount"].quantize(Decimal("0.01")),
                    start=_day(charge["datePurchased"]), end=_day(found.group(1)) if found else None,
                    marker=str(charge.get("internalPurchaseOrderNumber") or ""),
                    description=str(charge.get("description") or "")))
            return out

    @staticmethod
    def _charge(line_id: str) -> int | None:
        """The contract charge behind a dated line's id ("charge-<id>"), None for a contract service."""
        return int(line_id.removeprefix("charge-")) if line_id.startswith("charge-") else None

    def hide_line(self, line_id: str) -> Callable[[], None]:
        store = self.app.store
        with store.lock:
            charge = self._charge(line_id)
            if charge is not None:
                return _take(store.tables["ContractCharges"], charge, store.lock)
            # A contract service, and what Autotask keeps of it: its units (the changes they are built
            # from), its adjustments and the units each posted period was invoiced at.
            cs_id = int(line_id)
            restores = [_take(store.tables["ContractServices"], cs_id, store.lock),
                        _take(store.changes, cs_id, store.lock)]
            restores += [_take(store.snapshots, key, store.lock) for key in list(store.snapshots) if key[0] == cs_id]
            adjustments = [(i, a) for i, a in enumerate(store.adjustments) if a["contractServiceID"] == cs_id]
            store.adjustments[:] = [a for a in store.adjustments if a["contractServiceID"] != cs_id]

        def put_back() -> None:
            with store.lock:
                for restore in reversed(restores):  # the last taken first: each finds its table as it left it
                    restore()
                for index, adjustment in adjustments:
                    store.adjustments.insert(index, adjustment)

        return put_back

    def set_marker(self, line_id: str, marker: str) -> Callable[[], None]:
        store = self.app.store
        with store.lock:
            charge = self._charge(line_id)
            if charge is not None:
                return _swap(store.tables["ContractCharges"][charge], "internalPurchaseOrderNumber", marker,
                             store.lock)
            return _swap(store.tables["ContractServices"][int(line_id)], "internalDescription", marker, store.lock)

    def is_write(self, method: str, route: str) -> bool:
        return method != "GET" and route not in self.READ_ROUTES


# -- HaloPSA ----------------------------------------------------------------------------------


class HaloSide:
    kind, label = "halopsa", "Sandbox HaloPSA"
    TENANT, CLIENT_ID, SECRET = "seatsync", "seatsync-demo", "sandbox-halo-secret"

    def __init__(self, today: Callable[[], date]) -> None:
        from app.sandbox.halopsa import HaloSandbox
        from app.services.psa.halopsa.client import SCOPES

        self.app = HaloSandbox(tenant=self.TENANT)
        self.app.add_app(self.CLIENT_ID, self.SECRET, scopes=SCOPES)  # what seatsync asks, and no more
        self.server: SandboxServer

    def add_catalog(self, products: tuple[tuple[str, str, str, str], ...] = CATALOG) -> None:
        for identifier, description, price, cost in products:
            self.add_product(identifier, description=description, price=price, cost=cost)

    def add_product(self, identifier: str, *, description: str, price: str, cost: str) -> str:
        return str(self.app.add_item(identifier, price=Decimal(price), cost=Decimal(cost), description=description))

    def add_company(self, name: str, *, domains: list[str], active: bool = True) -> str:
        return str(self.app.add_client(name, domains=domains, inactive=not active))

    def add_agreement(self, company_id: str, *, start: date) -> str:
        return str(self.app.add_contract(int(company_id), ref="Microsoft 365", start=start, prorates=True))

    def serve(self, tls: TlsFiles) -> SandboxServer:
        self.server = SandboxServer(self.app, tls=tls).start()
        return self.server

    def settings(self) -> tuple[dict[str, str], dict[str, str]]:
        return ({"api_url": self.server.url, "tenant": self.TENANT, "client_id": self.CLIENT_ID},
                {"client_secret": self.SECRET})

    def set_prorates(self, agreement_id: str, prorates: bool) -> None:
        from app.sandbox.halopsa import PRORATE_FIELD

        with self.app.lock:
            for custom in self.app.contracts[int(agreement_id)]["customfields"]:
                if custom["name"] == PRORATE_FIELD:
                    custom.update(value=1 if prorates else 0, display="Yes" if prorates else "No")

    def edit_quantity(self, line_id: str, quantity: int, effective: date) -> None:
        self.app.edit_line(int(line_id), qty_order=quantity)

    def holdings(self, agreement_id: str) -> list[Holding]:
        items = self.app.items
        out = []
        for line in sorted(self.app.lines(int(agreement_id)), key=lambda x: x["id"]):
            one_off = bool(line.get("onetimecharge"))
            end = _day(line.get("enddate"))
            out.append(Holding(
                id=str(line["id"]), kind="dated" if one_off else "main",
                product=items[line["_itemid"]]["name"] if line.get("_itemid") in items else "",
                quantity=int(line["qty_order"]), unit_price=line["unit_price"], amount=line["net_amount"],
                start=_day(line.get("startdate")), end=end, marker=str(line.get("comment_2") or ""),
                description=str(line.get("item_shortdescription") or "")))
        return out

    def hide_line(self, line_id: str) -> Callable[[], None]:
        # A recurring invoice's lines are the store's lines naming its header (ihid): every answer that
        # shows a header's lines, or a line, is built from ``lines_by_id``.
        return _take(self.app.lines_by_id, int(line_id), self.app.lock)

    def set_marker(self, line_id: str, marker: str) -> Callable[[], None]:
        with self.app.lock:
            return _swap(self.app.lines_by_id[int(line_id)], "comment_2", marker, self.app.lock)

    @staticmethod
    def is_write(method: str, route: str) -> bool:
        return method != "GET" and route != "token"


SIDES: dict[str, type] = {"connectwise": ConnectWiseSide, "autotask": AutotaskSide, "halopsa": HaloSide}


def make_side(kind: str, today: Callable[[], date]) -> Any:
    try:
        return SIDES[kind](today)
    except KeyError:
        raise ValueError(f"the sandbox world has no PSA {kind!r}; it has {', '.join(PSA_KINDS)}") from None
