"""The ConnectWise sandbox as the sandbox world's PSA (app/sandbox/world_psas.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from app.sandbox.connectwise.app import ConnectWiseSandbox
from app.sandbox.server import SandboxServer, TlsFiles
from app.sandbox.world_psas import CATALOG, Holding, as_day, is_dated, swap, take


class ConnectWiseSide:
    kind, label = "connectwise", "Sandbox ConnectWise"
    PUBLIC, PRIVATE, COMPANY, CLIENT = "sandbox-public", "sandbox-private", "seatsync", "seatsync-demo"

    def __init__(self, today: Callable[[], date]) -> None:
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

    def set_active(self, agreement_id: str, active: bool) -> None:
        self.app.set_agreement(int(agreement_id), agreementStatus="Active" if active else "Inactive")

    def add_foreign_line(self, agreement_id: str, product: str, quantity: int, *, reference: str,
                         start: date) -> str:
        with self.app.lock:
            product_id = next(p["id"] for p in self.app.catalog.values() if p["identifier"] == product)
        return str(self.app.add_addition(int(agreement_id), product_id, quantity, serial_number=reference or None,
                                         effective=start))

    def edit_quantity(self, line_id: str, quantity: int, effective: date) -> None:
        agreement_id, _ = self.app.find_addition(int(line_id))
        self.app.edit_addition(agreement_id, int(line_id), quantity=Decimal(quantity))

    def edit_price(self, line_id: str, price: str) -> None:
        agreement_id, _ = self.app.find_addition(int(line_id))
        self.app.edit_addition(agreement_id, int(line_id), unitPrice=Decimal(price))

    def set_product_price(self, identifier: str, *, price: str, cost: str) -> None:
        with self.app.lock:
            product = next(p for p in self.app.catalog.values() if p["identifier"] == identifier)
            product.update(price=Decimal(price), cost=Decimal(cost))

    def holdings(self, agreement_id: str) -> list[Holding]:
        with self.app.lock:
            additions = sorted(self.app.additions_of(int(agreement_id)).values(), key=lambda a: a["id"])
            out = []
            for a in additions:
                marker = str(a.get("serialNumber") or "")
                dated = is_dated(marker)
                out.append(Holding(
                    id=str(a["id"]), kind="dated" if dated else "main", product=a["product"]["identifier"],
                    quantity=int(a.get("quantity") or 0), unit_price=a.get("unitPrice") or Decimal(0),
                    # What ConnectWise charges for the period the addition starts in (a dated
                    # line is written unprorated, so that is its whole amount).
                    amount=a["extendedProratePrice"] if dated else a["extPrice"],
                    start=as_day(a.get("effectiveDate")), end=as_day(a.get("cancelledDate")), marker=marker,
                    description=str(a.get("invoiceDescription") or "")))
            return out

    def hide_line(self, line_id: str) -> Callable[[], None]:
        with self.app.lock:
            agreement_id, _ = self.app.find_addition(int(line_id))
            return take(self.app.additions[agreement_id], int(line_id), self.app.lock)

    def set_marker(self, line_id: str, marker: str) -> Callable[[], None]:
        _, addition = self.app.find_addition(int(line_id))
        return swap(addition, "serialNumber", marker, self.app.lock)

    def add_contact(self, company_id: str, *, first_name: str, last_name: str, email: str,
                    other_emails: tuple[str, ...] = (), active: bool = True) -> str:
        """A contact as a person would add it in ConnectWise."""
        return str(self.app.add_contact(int(company_id), first_name, last_name, emails=(email, *other_emails),
                                        inactive=not active))

    def contacts(self, company_id: str) -> list[dict[str, object]]:
        """The company's contacts as ConnectWise holds them: id, names, default e-mail and active."""
        with self.app.lock:
            out: list[dict[str, object]] = []
            for c in sorted(self.app.contacts.values(), key=lambda c: c["id"]):
                if str(c["company"]["id"]) != company_id:
                    continue
                emails = [i["value"] for i in c.get("communicationItems", ()) if i["communicationType"] == "Email"
                          and i["defaultFlag"]]
                out.append({"id": str(c["id"]), "first_name": c.get("firstName") or "",
                            "last_name": c.get("lastName") or "", "email": emails[0] if emails else "",
                            "active": not c.get("inactiveFlag")})
            return out

    @staticmethod
    def is_write(method: str, route: str) -> bool:
        return method != "GET"
