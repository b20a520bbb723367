"""The Autotask sandbox as the sandbox world's PSA (app/sandbox/world_psas.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from app.sandbox.autotask import fields as meta
from app.sandbox.autotask.app import AutotaskSandbox
from app.sandbox.autotask.scenario import PRORATION_UDF, SandboxAccount, add_company, lookup_url, seed_account, serve
from app.sandbox.server import SandboxServer, TlsFiles
from app.sandbox.world_psas import CATALOG, Holding, as_day, swap, take


class AutotaskSide:
    kind, label = "autotask", "Sandbox Autotask"
    #: Autotask answers queries to POST: reads all the same.
    READ_ROUTES = ("{entity}/query", "{entity}/query/count")

    def __init__(self, today: Callable[[], date]) -> None:
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
        return str(add_company(self.app, name, domains=tuple(domains), active=active))

    def add_agreement(self, company_id: str, *, start: date) -> str:
        # An Autotask contract has an end date; the world's runs for a few years.
        end = date(self.today().year + 3, 12, 31)
        return str(self.app.store.add_contract(int(company_id), "Microsoft 365", start=start, end=end))

    def serve(self, tls: TlsFiles) -> SandboxServer:
        self.server = serve(self.app, tls=tls)
        return self.server

    def settings(self) -> tuple[dict[str, str], dict[str, str]]:
        return ({"username": self.account.username, "integration_code": self.account.integration_code,
                 "lookup_url": lookup_url(self.server)}, {"secret": self.account.secret})

    def set_prorates(self, agreement_id: str, prorates: bool) -> None:
        self.app.store.set_udf("Contracts", int(agreement_id), PRORATION_UDF, None if prorates else "Yes")

    def set_active(self, agreement_id: str, active: bool) -> None:
        store = self.app.store
        with store.lock:
            store.tables["Contracts"][int(agreement_id)]["status"] = meta.picklist_value(
                "Contracts", "status", "Active" if active else "Inactive")

    def add_foreign_line(self, agreement_id: str, product: str, quantity: int, *, reference: str,
                         start: date) -> str:
        store = self.app.store
        with store.lock:
            service_id = next(s["id"] for s in store.tables["Services"].values() if s["name"] == product)
            return str(store.add_contract_service(int(agreement_id), service_id, units=quantity, start=start,
                                                  internal_description=reference))

    def edit_quantity(self, line_id: str, quantity: int, effective: date) -> None:
        self.app.store.set_units(int(line_id), quantity, effective)

    def edit_price(self, line_id: str, price: str) -> None:
        store = self.app.store
        with store.lock:
            store.tables["ContractServices"][int(line_id)]["unitPrice"] = Decimal(price)

    def set_product_price(self, identifier: str, *, price: str, cost: str) -> None:
        store = self.app.store
        with store.lock:
            service = next(s for s in store.tables["Services"].values() if s["name"] == identifier)
            service.update(unitPrice=Decimal(price), unitCost=Decimal(cost))

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
                    start=as_day(charge["datePurchased"]), end=as_day(found.group(1)) if found else None,
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
                return take(store.tables["ContractCharges"], charge, store.lock)
            # A contract service, and what Autotask keeps of it: its units (the changes they are built
            # from), its adjustments and the units each posted period was invoiced at.
            cs_id = int(line_id)
            restores = [take(store.tables["ContractServices"], cs_id, store.lock),
                        take(store.changes, cs_id, store.lock)]
            restores += [take(store.snapshots, key, store.lock) for key in list(store.snapshots) if key[0] == cs_id]
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
                return swap(store.tables["ContractCharges"][charge], "internalPurchaseOrderNumber", marker,
                             store.lock)
            return swap(store.tables["ContractServices"][int(line_id)], "internalDescription", marker, store.lock)

    def add_contact(self, company_id: str, *, first_name: str, last_name: str, email: str,
                    other_emails: tuple[str, ...] = (), active: bool = True) -> str:
        """A contact as a person would add it in Autotask."""
        return str(self.app.store.add_contact(int(company_id), first_name, last_name, email=email,
                                              other_emails=other_emails, active=active))

    def contacts(self, company_id: str) -> list[dict[str, object]]:
        """The company's contacts as Autotask holds them: id, names, main e-mail and active."""
        store = self.app.store
        with store.lock:
            return [{"id": str(c["id"]), "first_name": c.get("firstName") or "", "last_name": c.get("lastName") or "",
                     "email": c.get("emailAddress") or "", "active": c.get("isActive") == 1}
                    for c in sorted(store.tables["Contacts"].values(), key=lambda c: c["id"])
                    if str(c["companyID"]) == company_id]

    def is_write(self, method: str, route: str) -> bool:
        return method != "GET" and route not in self.READ_ROUTES
