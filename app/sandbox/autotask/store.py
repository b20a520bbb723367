"""The sandbox's database: companies, contracts, services, contract services
with their units and adjustments, contract charges and billing codes.

Writes check what Autotask's entity docs say they check (APIS.md §B2 and
the vendor's entity pages); a refused write raises ``StoreError`` with the
message and status the API answers (Autotask answers most business-rule
violations with HTTP 500 and an ``errors`` body).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from app.sandbox.autotask import fields as meta
from app.sandbox.autotask.periods import contract_periods, period_of
from app.sandbox.autotask.units import (
    BillingItem,
    Change,
    Row,
    adjustment_charge,
    lowest_units,
    round_cents,
    row_on,
    row_record,
    rows_for,
)
from app.sandbox.autotask.writes import ApiWrites, StoreError, day_of

_FIRST_IDS = {"Companies": 174, "Contacts": 30683001, "Contracts": 29683001, "Services": 21, "ContractServices": 89001,
              "ContractCharges": 51001, "BillingCodes": 29682801, "ContractServiceAdjustments": 70001}


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _midnight(value: date) -> datetime:
    return datetime.combine(value, time())


class Store(ApiWrites):
    def __init__(self, now: Callable[[], datetime] = _utcnow) -> None:
        self.now = now
        self.lock = threading.RLock()
        self.tables: dict[str, dict[int, dict[str, Any]]] = {
            name: {} for name in ("Companies", "Contacts", "Contracts", "Services", "ContractServices",
                                  "ContractCharges", "BillingCodes")}
        self._ids = {name: itertools.count(first) for name, first in _FIRST_IDS.items()}
        self.changes: dict[int, list[Change]] = {}
        self.adjustments: list[dict[str, Any]] = []
        self.posted: dict[int, dict[date, datetime]] = {}
        self.snapshots: dict[tuple[int, date], tuple[int, Decimal]] = {}

    def next_id(self, entity: str) -> int:
        return next(self._ids[entity])

    # -- seeding (Python API for tests, the demo and the benchmark) ----------

    def add_company(self, name: str, *, website: str = "", active: bool = True, number: str = "",
                    udfs: dict[str, str] | None = None, company_type: str = "Customer") -> int:
        with self.lock:
            cid = self.next_id("Companies")
            self.tables["Companies"][cid] = {
                "id": cid, "companyName": name, "companyNumber": number or str(cid),
                "companyType": meta.picklist_value("Companies", "companyType", company_type),
                "isActive": active, "parentCompanyID": None, "phone": "", "city": "", "state": "",
                "webAddress": website, "createDate": self.now(), "lastActivityDate": None,
                "userDefinedFields": [{"name": k, "value": v} for k, v in (udfs or {}).items()],
            }
            return cid

    def add_contact(self, company_id: int, first_name: str, last_name: str, *, email: str = "",
                    other_emails: Iterable[str] = (), title: str = "", phone: str = "", mobile: str = "",
                    active: bool = True) -> int:
        """A contact as a person would add it in Autotask (same rules as POST); up to two further addresses."""
        extra = list(other_emails)
        body: dict[str, Any] = {"firstName": first_name, "lastName": last_name, "emailAddress": email or None,
                                "emailAddress2": extra[0] if extra else None,
                                "emailAddress3": extra[1] if len(extra) > 1 else None, "title": title or None,
                                "phone": phone or None, "mobilePhone": mobile or None, "isActive": int(active)}
        return self.create_contact(company_id, {k: v for k, v in body.items() if v is not None})

    def set_udf(self, entity: str, record_id: int, name: str, value: str | None) -> None:
        with self.lock:
            record = self.tables[entity][record_id]
            udfs = [u for u in record["userDefinedFields"] if u["name"].lower() != name.lower()]
            if value is not None:
                udfs.append({"name": name, "value": value})
            record["userDefinedFields"] = udfs

    def add_billing_code(self, name: str, *, use_type: str = "Material Cost Code", active: bool = True) -> int:
        with self.lock:
            bid = self.next_id("BillingCodes")
            self.tables["BillingCodes"][bid] = {
                "id": bid, "name": name, "description": "", "isActive": active,
                "useType": meta.picklist_value("BillingCodes", "useType", use_type)}
            return bid

    def add_service(self, name: str, price: Decimal | str | int, *, cost: Decimal | str | int = 0,
                    description: str = "", invoice_description: str = "", active: bool = True,
                    period: str = "Monthly", billing_code_id: int | None = None, sku: str = "") -> int:
        with self.lock:
            if billing_code_id is None:
                billing_code_id = self.add_billing_code(f"{name} (recurring)", use_type="Recurring Contract Service")
            sid = self.next_id("Services")
            self.tables["Services"][sid] = {
                "id": sid, "name": name, "description": description, "invoiceDescription": invoice_description,
                "unitPrice": Decimal(str(price)), "unitCost": Decimal(str(cost)),
                "periodType": meta.picklist_value("Services", "periodType", period),
                "billingCodeID": billing_code_id, "isActive": active, "sku": sku, "catalogNumberPartNumber": "",
                "markupRate": None, "createDate": self.now(), "lastModifiedDate": self.now(),
                "userDefinedFields": [],
            }
            return sid

    def add_contract(self, company_id: int, name: str, *, start: date, end: date, period: str = "Monthly",
                     status: str = "Active", contract_type: str = "Recurring Service",
                     udfs: dict[str, str] | None = None) -> int:
        with self.lock:
            if company_id not in self.tables["Companies"]:
                raise StoreError(f"Company {company_id} does not exist.")
            kid = self.next_id("Contracts")
            self.tables["Contracts"][kid] = {
                "id": kid, "companyID": company_id, "contractName": name, "contractNumber": f"C{kid}",
                "contractType": meta.picklist_value("Contracts", "contractType", contract_type),
                "status": meta.picklist_value("Contracts", "status", status),
                "startDate": _midnight(start), "endDate": _midnight(end),
                "contractPeriodType": meta.picklist_value("Contracts", "contractPeriodType", period),
                "description": "", "purchaseOrderNumber": "", "isDefaultContract": False,
                "lastModifiedDateTime": self.now(),
                "userDefinedFields": [{"name": k, "value": v} for k, v in (udfs or {}).items()],
            }
            return kid

    def add_contract_service(self, contract_id: int, service_id: int, *, units: int = 0, start: date | None = None,
                             unit_price: Decimal | str | None = None, invoice_description: str = "",
                             internal_description: str = "") -> int:
        """A contract service added as a person would in the UI (units from ``start``)."""
        body: dict[str, Any] = {"contractID": contract_id, "serviceID": service_id,
                                "invoiceDescription": invoice_description,
                                "internalDescription": internal_description}
        if unit_price is not None:
            body["unitPrice"] = Decimal(str(unit_price))
        with self.lock:
            cs_id = self.create_contract_service(contract_id, body)
            if units:
                contract = self.tables["Contracts"][contract_id]
                self.adjust(cs_id, start or day_of(contract["startDate"]), units)
            return cs_id

    def set_units(self, contract_service_id: int, units: int, effective: date) -> None:
        """A person adjusting the units in the UI: the change that makes ``effective`` hold ``units``."""
        with self.lock:
            row = row_on(self.rows(contract_service_id), effective)
            if row is None:
                raise StoreError(f"{effective} is outside the contract.")
            if units != row.units:
                self.adjust(contract_service_id, effective, units - row.units)

    # -- periods and units ---------------------------------------------------

    def periods(self, contract: dict[str, Any]) -> list[tuple[date, date]]:
        months = meta.MONTHS_PER_PERIOD[contract["contractPeriodType"]]
        return contract_periods(day_of(contract["startDate"]), day_of(contract["endDate"]), months)

    def rows(self, contract_service_id: int) -> list[Row]:
        cs = self.tables["ContractServices"][contract_service_id]
        contract = self.tables["Contracts"][cs["contractID"]]
        return rows_for(self.periods(contract), self.changes[contract_service_id], cs["unitPrice"])

    def unit_records(self, contract_service_ids: Iterable[int]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for cs_id in contract_service_ids:
            cs = self.tables["ContractServices"][cs_id]
            posted = self.posted.get(cs["contractID"], {})
            out.extend(row_record(cs, row, posted.get(row.period[0])) for row in self.rows(cs_id))
        return out

    def adjust(self, contract_service_id: int, effective: date, delta: int, price: Decimal | None = None,
               cost: Decimal | None = None) -> int:
        """Apply one adjustment (validated like the API) and bill it as Autotask would."""
        with self.lock:
            cs = self.tables["ContractServices"][contract_service_id]
            contract = self.tables["Contracts"][cs["contractID"]]
            periods = self.periods(contract)
            start, end = day_of(contract["startDate"]), day_of(contract["endDate"])
            if not start <= effective <= end:
                raise StoreError(f"The effective date {effective} must be within the contract's dates "
                                 f"({start} to {end}).")
            before = self.rows(contract_service_id)
            aid = self.next_id("ContractServiceAdjustments")
            change = Change(aid, effective, delta, price, cost)
            after = rows_for(periods, [*self.changes[contract_service_id], change], cs["unitPrice"])
            if lowest_units(after) < 0:
                raise StoreError("The adjustment would leave the contract service with fewer than zero units.")
            self.changes[contract_service_id].append(change)
            posted = set(self.posted.get(contract["id"], {}))
            period, charge = adjustment_charge(periods, before, effective, delta, price, posted)
            self.adjustments.append({"id": aid, "contractID": contract["id"], "contractServiceID": cs["id"],
                                     "serviceID": cs["serviceID"], "effectiveDate": effective, "unitChange": delta,
                                     "adjustedUnitPrice": price, "period": period, "charge": charge})
            return aid

    # -- billing -------------------------------------------------------------

    def post_through(self, day: date, contract_id: int | None = None) -> None:
        """Approve and post every period that has started by ``day`` (billing in advance)."""
        with self.lock:
            ids = [contract_id] if contract_id is not None else list(self.tables["Contracts"])
            for kid in ids:
                contract = self.tables["Contracts"][kid]
                for first, last in self.periods(contract):
                    if first <= day and first not in self.posted.get(kid, {}):
                        self._post(contract, (first, last))

    def _post(self, contract: dict[str, Any], period: tuple[date, date]) -> None:
        stamp = self.now()
        self.posted.setdefault(contract["id"], {})[period[0]] = stamp
        for cs in self._services_of(contract["id"]):
            row = row_on(self.rows(cs["id"]), period[0])
            if row is not None:
                self.snapshots[(cs["id"], period[0])] = (row.units, row.price)
        for charge in self.tables["ContractCharges"].values():
            if charge["contractID"] == contract["id"] and period[0] <= day_of(charge["datePurchased"]) <= period[1]:
                charge["isBilled"] = True

    def _services_of(self, contract_id: int) -> list[dict[str, Any]]:
        return [cs for cs in self.tables["ContractServices"].values() if cs["contractID"] == contract_id]

    def billing(self, contract_id: int, period_start: date) -> list[BillingItem]:
        """Everything the contract bills for the period starting ``period_start``."""
        with self.lock:
            contract = self.tables["Contracts"][contract_id]
            period = period_of(self.periods(contract), period_start)
            if period is None or period[0] != period_start:
                raise StoreError(f"No billing period of contract {contract_id} starts on {period_start}.")
            items = []
            posted = period[0] in self.posted.get(contract_id, {})
            for cs in self._services_of(contract_id):
                snapshot = self.snapshots.get((cs["id"], period[0]))
                if snapshot is None and posted:
                    continue  # added after the period was invoiced: its adjustments bill it
                if snapshot is None:
                    row = row_on(self.rows(cs["id"]), period[0])
                    snapshot = (row.units, row.price) if row else (0, Decimal("0"))
                units, price = snapshot
                if units:
                    items.append(BillingItem("recurring", cs["id"], round_cents(units * price),
                                             f"{units} × {price}"))
            for adj in self.adjustments:
                if adj["contractID"] == contract_id and adj["period"] == period and adj["charge"] is not None:
                    items.append(BillingItem("adjustment", adj["contractServiceID"], adj["charge"],
                                             f"{adj['unitChange']:+d} from {adj['effectiveDate']}"))
            for charge in self.tables["ContractCharges"].values():
                if (charge["contractID"] == contract_id and charge["isBillableToCompany"]
                        and period[0] <= day_of(charge["datePurchased"]) <= period[1]):
                    items.append(BillingItem("charge", charge["id"], round_cents(charge["billableAmount"]),
                                             charge["name"]))
            return items

    def billed_total(self, contract_id: int, period_start: date) -> Decimal:
        return sum((i.amount for i in self.billing(contract_id, period_start)), Decimal("0.00"))
