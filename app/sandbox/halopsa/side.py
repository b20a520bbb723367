"""The HaloPSA sandbox as the sandbox world's PSA (app/sandbox/world_psas.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from app.sandbox.halopsa.app import HaloSandbox
from app.sandbox.halopsa.store import PRORATE_FIELD
from app.sandbox.server import SandboxServer, TlsFiles
from app.sandbox.world_psas import CATALOG, Holding, as_day, swap, take
from app.services.psa.halopsa.client import SCOPES


class HaloSide:
    kind, label = "halopsa", "Sandbox HaloPSA"
    TENANT, CLIENT_ID, SECRET = "seatsync", "seatsync-demo", "sandbox-halo-secret"

    def __init__(self, today: Callable[[], date]) -> None:
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
        with self.app.lock:
            for custom in self.app.contracts[int(agreement_id)]["customfields"]:
                if custom["name"] == PRORATE_FIELD:
                    custom.update(value=1 if prorates else 0, display="Yes" if prorates else "No")

    def set_active(self, agreement_id: str, active: bool) -> None:
        with self.app.lock:
            self.app.contracts[int(agreement_id)].update(active=active, status=1 if active else 0)

    def add_foreign_line(self, agreement_id: str, product: str, quantity: int, *, reference: str,
                         start: date) -> str:
        with self.app.lock:
            item_id = next(i["id"] for i in self.app.items.values() if i["name"] == product)
        return str(self.app.add_line(int(agreement_id), item_id, quantity, marker=reference, start=start))

    def edit_quantity(self, line_id: str, quantity: int, effective: date) -> None:
        self.app.edit_line(int(line_id), qty_order=quantity)

    def edit_price(self, line_id: str, price: str) -> None:
        self.app.edit_line(int(line_id), unit_price=price)

    def set_product_price(self, identifier: str, *, price: str, cost: str) -> None:
        with self.app.lock:
            item = next(i for i in self.app.items.values() if i["name"] == identifier)
            item.update(baseprice=Decimal(price), costprice=Decimal(cost), recurringprice=Decimal(price),
                        recurringcost=Decimal(cost))

    def holdings(self, agreement_id: str) -> list[Holding]:
        items = self.app.items
        out = []
        for line in sorted(self.app.lines(int(agreement_id)), key=lambda x: x["id"]):
            one_off = bool(line.get("onetimecharge"))
            end = as_day(line.get("enddate"))
            out.append(Holding(
                id=str(line["id"]), kind="dated" if one_off else "main",
                product=items[line["_itemid"]]["name"] if line.get("_itemid") in items else "",
                quantity=int(line["qty_order"]), unit_price=line["unit_price"], amount=line["net_amount"],
                start=as_day(line.get("startdate")), end=end, marker=str(line.get("comment_2") or ""),
                description=str(line.get("item_shortdescription") or "")))
        return out

    def hide_line(self, line_id: str) -> Callable[[], None]:
        # A recurring invoice's lines are the store's lines naming its header (ihid): every answer that
        # shows a header's lines, or a line, is built from ``lines_by_id``.
        return take(self.app.lines_by_id, int(line_id), self.app.lock)

    def set_marker(self, line_id: str, marker: str) -> Callable[[], None]:
        with self.app.lock:
            return swap(self.app.lines_by_id[int(line_id)], "comment_2", marker, self.app.lock)

    def add_contact(self, company_id: str, *, first_name: str, last_name: str, email: str,
                    other_emails: tuple[str, ...] = (), active: bool = True) -> str:
        """An end user as a person would add it in Halo."""
        return str(self.app.add_user(int(company_id), first_name, last_name, email=email, other_emails=other_emails,
                                     inactive=not active))

    def contacts(self, company_id: str) -> list[dict[str, object]]:
        """The client's end users as Halo holds them: id, names, main e-mail and active."""
        with self.app.lock:
            return [{"id": str(u["id"]), "first_name": u.get("firstname") or "", "last_name": u.get("surname") or "",
                     "email": u.get("emailaddress") or "", "active": not u.get("inactive")}
                    for u in sorted(self.app.users.values(), key=lambda u: u["id"])
                    if str(u["client_id"]) == company_id]

    @staticmethod
    def is_write(method: str, route: str) -> bool:
        return method != "GET" and route != "token"
