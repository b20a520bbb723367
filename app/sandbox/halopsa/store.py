"""The HaloPSA sandbox's data: clients, contracts, items, recurring invoices
and their lines, with Halo's upsert rules and a Python seeding API.

Seeding (tests, the demo, the benchmark)::

    halo.add_app("id", "secret")
    client = halo.add_client("Contoso", domains=["contoso.com"])
    contract = halo.add_contract(client, ref="M365", start=date(2024, 1, 1))
    item = halo.add_item("Microsoft 365 E3", price=Decimal("36.00"))
    line = halo.add_line(contract, item, 10)      # a line someone typed in Halo
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from app.billing.types import Cycle
from app.sandbox.halopsa.records import (
    CLIENT_FIELDS,
    CONTRACT_FIELDS,
    INVOICE_FIELDS,
    ITEM_FIELDS,
    LINE_FIELDS,
    USER_FIELDS,
    Rejected,
    clean,
    money,
)
from app.services.psa.halopsa import wire

#: The contract custom field the seatsync adapter reads its prorate setting from.
PRORATE_FIELD = "CFseatsyncProrate"


class HaloStore:
    """State of one sandbox Halo instance. Every method holds ``self.lock``."""

    def __init__(self) -> None:
        self.lock = getattr(self, "lock", None) or threading.RLock()
        self.clients: dict[int, dict[str, Any]] = {}
        self.contracts: dict[int, dict[str, Any]] = {}
        self.items: dict[int, dict[str, Any]] = {}
        self.inactive_items: set[int] = set()
        self.invoices: dict[int, dict[str, Any]] = {}
        self.lines_by_id: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self._ids = {name: itertools.count(start) for name, start in
                     (("client", 101), ("contract", 501), ("item", 2001), ("invoice", 7001),
                      ("line", 90001), ("field", 1), ("user", 3001))}

    def _next(self, kind: str) -> int:
        return next(self._ids[kind])

    # -- seeding ---------------------------------------------------------------

    def add_client(self, name: str, *, domains: Iterable[str] = (), azure_tenants: Iterable[tuple[str, str]] = (),
                   ref: str = "", inactive: bool = False, website: str = "") -> int:
        """A client; ``domains`` go to its ``domain`` field (";"-separated), each
        (tenant id, domain) pair becomes one of its Azure tenants."""
        with self.lock:
            cid = self._next("client")
            tenants = [{"id": self._next("field"), "client_id": cid, "client_name": name,
                        "azure_tenant_id": tenant, "azure_tenant_domain": domain, "azure_tenant_name": name}
                       for tenant, domain in azure_tenants]
            self.clients[cid] = {"id": cid, "name": name, "inactive": inactive, "ref": ref,
                                 "domain": ";".join(domains), "website": website, "azure_tenants": tenants}
            return cid

    def add_contract(self, client_id: int, *, ref: str, start: date, end: date | None = None,
                     cycle: Cycle | int = Cycle.MONTHLY, prorates: bool | None = True, active: bool = True,
                     type_name: str = "Microsoft 365") -> int:
        """A client contract. ``prorates`` None leaves the custom field unset."""
        with self.lock:
            if client_id not in self.clients:
                raise KeyError(f"no client {client_id}")
            code = cycle if isinstance(cycle, int) else wire.period_code(cycle)
            fields = [] if prorates is None else [{
                "id": self._next("field"), "name": PRORATE_FIELD, "label": "seatsync: prorate changes",
                "type": 4, "value": 1 if prorates else 0, "display": "Yes" if prorates else "No"}]
            kid = self._next("contract")
            self.contracts[kid] = {
                "id": kid, "client_id": client_id, "client_name": self.clients[client_id]["name"], "ref": ref,
                "start_date": wire.halo_datetime(start), "end_date": wire.halo_datetime(end) if end else None,
                "billingperiod": code, "active": active, "expired": False, "status": 1 if active else 0,
                "contract_status": "Active" if active else "Inactive", "contracttype": 1,
                "contracttype_name": type_name, "customfields": fields,
            }
            return kid

    def add_item(self, name: str, *, price: Decimal | str, cost: Decimal | str = "0", recurring: bool = True,
                 inactive: bool = False, description: str = "") -> int:
        with self.lock:
            iid = self._next("item")
            price, cost = Decimal(price), Decimal(cost)
            self.items[iid] = {"id": iid, "name": name, "description": description or name, "baseprice": price,
                               "costprice": cost, "isrecurringitem": recurring,
                               "recurringprice": price if recurring else Decimal(0),
                               "recurringcost": cost if recurring else Decimal(0)}
            if inactive:
                self.inactive_items.add(iid)
            return iid

    def add_recurring_invoice(self, contract_id: int) -> int:
        with self.lock:
            contract = self.contracts[contract_id]
            return self.save_invoice({"client_id": contract["client_id"], "contract_id": contract_id})["id"]

    def add_line(self, contract_id: int, item_id: int, quantity: int | Decimal, *,
                 unit_price: Decimal | str | None = None, description: str | None = None, marker: str = "",
                 start: date | None = None, end: date | None = None, one_time: bool = False,
                 inactive: bool = False) -> int:
        """A recurring-invoice line as a person would add it in Halo."""
        with self.lock:
            invoice = self.invoice_for(contract_id) or self.invoices[self.add_recurring_invoice(contract_id)]
            line: dict[str, Any] = {"ihid": invoice["id"], "_itemid": item_id, "qty_order": Decimal(quantity),
                                    "isinactive": inactive, "onetimecharge": one_time}
            if unit_price is not None:
                line["unit_price"] = Decimal(unit_price)
            if description is not None:
                line["item_shortdescription"] = description
            if marker:
                line["comment_2"] = marker
            if start:
                line["startdate"] = wire.halo_datetime(start)
            if end:
                line["enddate"] = wire.halo_datetime(end)
            return self.save_line(line)["id"]

    def edit_line(self, line_id: int, **fields: Any) -> dict[str, Any]:
        """Change a line as a person would in Halo (e.g. ``qty_order=7``)."""
        with self.lock:
            values = {k: Decimal(v) if k in ("qty_order", "unit_price") else v for k, v in fields.items()}
            return dict(self.save_line({"id": line_id, **values}))

    def add_user(self, client_id: int, firstname: str, surname: str, *, email: str = "",
                 other_emails: Iterable[str] = (), title: str = "", phone: str = "", mobile: str = "",
                 inactive: bool = False) -> int:
        """An end user as a person would add it in Halo (same rules as POST); up to two further addresses."""
        extra = list(other_emails)
        values = {"client_id": client_id, "firstname": firstname, "surname": surname,
                  "emailaddress": email, "email2": extra[0] if extra else "", "email3": extra[1] if extra[1:] else "",
                  "title": title, "phonenumber": phone, "mobilenumber": mobile, "inactive": inactive}
        return int(self.save_user({k: v for k, v in values.items() if v != ""})["id"])

    def set_item_inactive(self, item_id: int, inactive: bool = True) -> None:
        with self.lock:
            (self.inactive_items.add if inactive else self.inactive_items.discard)(item_id)

    # -- inspection ------------------------------------------------------------

    def line(self, line_id: int) -> dict[str, Any]:
        with self.lock:
            return dict(self.lines_by_id[line_id])

    def lines(self, contract_id: int | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(x) for x in self.lines_by_id.values()
                    if contract_id is None or x.get("contract_id") == contract_id]

    def invoice_for(self, contract_id: int) -> dict[str, Any] | None:
        with self.lock:
            return next((inv for inv in self.invoices.values() if inv.get("contract_id") == contract_id), None)

    # -- writes (Halo's upsert rules) ------------------------------------------

    def _existing(self, table: dict[int, dict[str, Any]], record_id: Any, what: str) -> dict[str, Any] | None:
        """The record an upsert names, None to create (no id, or id 0 or below)."""
        if record_id is None or (isinstance(record_id, int) and record_id <= 0):
            return None
        if record_id not in table:
            raise Rejected(404, f"{what} {record_id} does not exist.")
        return table[record_id]

    def save_client(self, obj: Any) -> dict[str, Any]:
        with self.lock:
            values = clean(obj, CLIENT_FIELDS, "client")
            record = self._existing(self.clients, values.pop("id", None), "Client")
            if record is None:
                if not values.get("name"):
                    raise Rejected(400, "Please enter a name for the client.")
                cid = self._next("client")
                record = self.clients[cid] = {"id": cid, "name": "", "inactive": False, "azure_tenants": []}
            record.update(values)
            return record

    def save_contract(self, obj: Any) -> dict[str, Any]:
        with self.lock:
            values = clean(obj, CONTRACT_FIELDS, "contract")
            record = self._existing(self.contracts, values.pop("id", None), "Contract")
            client_id = values.get("client_id", record["client_id"] if record else None)
            if client_id not in self.clients:
                raise Rejected(400, "Please select a valid client for the contract.")
            if record is None:
                kid = self._next("contract")
                record = self.contracts[kid] = {"id": kid, "active": True, "expired": False, "customfields": []}
            record.update(values)
            record["client_name"] = self.clients[client_id]["name"]
            return record

    def save_item(self, obj: Any) -> dict[str, Any]:
        with self.lock:
            values = clean(obj, ITEM_FIELDS, "item")
            record = self._existing(self.items, values.pop("id", None), "Item")
            if record is None:
                if not values.get("name"):
                    raise Rejected(400, "Please enter a name for the item.")
                iid = self._next("item")
                record = self.items[iid] = {"id": iid, "baseprice": Decimal(0), "isrecurringitem": False}
            record.update(values)
            return record

    def save_invoice(self, obj: Any) -> dict[str, Any]:
        """A recurring invoice header; ``lines``/``add_lines`` are saved with it."""
        with self.lock:
            values = clean(obj, INVOICE_FIELDS, "recurring invoice")
            lines = [*(obj.get("lines") or []), *(obj.get("add_lines") or [])]
            record = self._existing(self.invoices, values.pop("id", None), "Recurring invoice")
            client_id = values.get("client_id", record["client_id"] if record else None)
            if client_id not in self.clients:
                raise Rejected(400, "Please select a valid client for the invoice.")
            contract_id = values.get("contract_id", record.get("contract_id") if record else None)
            if contract_id is not None and contract_id > 0:
                contract = self.contracts.get(contract_id)
                if contract is None or contract["client_id"] != client_id:
                    raise Rejected(400, f"Contract {contract_id} does not belong to client {client_id}.")
            if record is None:
                hid = self._next("invoice")
                record = self.invoices[hid] = {"id": hid, "is_recurring_invoice": True, "disabled": False}
                if contract_id:
                    values.setdefault("period", self.contracts[contract_id].get("billingperiod"))
                    values.setdefault("startdate", self.contracts[contract_id].get("start_date"))
            record.update(values)
            record["client_name"] = self.clients[client_id]["name"]
            if contract_id:
                record["contract_ref"] = self.contracts[contract_id].get("ref")
            for line in lines:
                if not isinstance(line, dict):
                    raise Rejected(400, "Each invoice line must be a JSON object.")
                self.save_line({**line, "ihid": record["id"]})
            return record

    def save_line(self, obj: Any) -> dict[str, Any]:
        """Upsert one recurring-invoice line (/updatelines and /Lines alike)."""
        with self.lock:
            values = clean(obj, LINE_FIELDS, "invoice line")
            values.pop("net_amount", None)  # computed by Halo
            line_id = values.pop("id", None)
            record = self._existing(self.lines_by_id, line_id, "Invoice line")
            ihid = values.get("ihid", record["ihid"] if record else None)
            if ihid not in self.invoices:
                raise Rejected(400, "Please select a valid recurring invoice (ihid) for the line.")
            if record is not None and ihid != record["ihid"]:
                raise Rejected(400, "A line cannot move to another invoice.")
            item_id = values.get("_itemid", record.get("_itemid") if record else None)
            item = self.items.get(item_id) if item_id else None
            if item_id and item is None:
                raise Rejected(400, f"Item {item_id} does not exist.")
            if record is None:
                if values.get("qty_order") is None:
                    values["qty_order"] = Decimal(1)
                record = {"id": self._next("line"), "ihid": ihid, "isinactive": False, "onetimecharge": False,
                          "sequenceid": 1 + sum(1 for x in self.lines_by_id.values() if x["ihid"] == ihid)}
                if item is not None:
                    price = item.get("recurringprice") if item.get("isrecurringitem") else item.get("baseprice")
                    record.update(unit_price=price or Decimal(0), item_code=item["name"],
                                  item_shortdescription=item["name"], baseprice=item.get("baseprice"))
                self.lines_by_id[record["id"]] = record
            record.update(values)
            if record.get("unit_price") is None:
                record["unit_price"] = Decimal(0)
            record["contract_id"] = self.invoices[ihid].get("contract_id")
            record["net_amount"] = money(record["qty_order"] * record["unit_price"])
            return record

    def save_user(self, obj: Any) -> dict[str, Any]:
        """Upsert one end user. A new one needs a name (``name``, else first name and surname) and a
        client (``client_id``, placing it on the client's main site, or that site's ``site_id``)."""
        with self.lock:
            values = clean(obj, USER_FIELDS, "user")
            record = self._existing(self.users, values.pop("id", None), "User")
            for name in ("emailaddress", "email2", "email3"):
                address = values.get(name)
                if address and ("@" not in address or " " in address.strip()):
                    raise Rejected(400, f"'{address}' is not a valid email address.")
            if record is None:
                client_id = values.get("client_id")
                if client_id is None and values.get("site_id") is not None:
                    client_id = next((c for c in self.clients if main_site(c) == values["site_id"]), None)
                if client_id not in self.clients:
                    raise Rejected(400, "Please select a valid site for the user.")
                if not (values.get("name") or values.get("firstname") or values.get("surname")):
                    raise Rejected(400, "Please enter a name for the user.")
                uid = self._next("user")
                record = self.users[uid] = {"id": uid, "inactive": False, "client_id": client_id,
                                            "site_id": main_site(client_id), "site_name": "Main"}
            elif values.get("client_id") not in (None, record["client_id"]):
                raise Rejected(400, "A user cannot move to another client's site here.")
            values.pop("client_id", None)
            values.pop("site_id", None)
            record.update(values)
            if not values.get("name") and ("firstname" in values or "surname" in values or not record.get("name")):
                record["name"] = f"{record.get('firstname') or ''} {record.get('surname') or ''}".strip()
            record["client_name"] = self.clients[record["client_id"]]["name"]
            return record

    def delete(self, table: str, record_id: int) -> None:
        with self.lock:
            records: dict[int, dict[str, Any]] = getattr(self, table)
            if record_id not in records:
                raise Rejected(404, f"Record {record_id} does not exist.")
            del records[record_id]
            if table == "invoices":
                for line_id in [k for k, v in self.lines_by_id.items() if v["ihid"] == record_id]:
                    del self.lines_by_id[line_id]
            if table == "contracts":
                for inv in [k for k, v in self.invoices.items() if v.get("contract_id") == record_id]:
                    self.delete("invoices", inv)


def main_site(client_id: int) -> int:
    """The id of a client's main site (the sandbox models no other sites)."""
    return 10_000 + client_id
