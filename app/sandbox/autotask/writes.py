"""The API's writes to the sandbox's database: contract services, adjustments
and contract charges, checked as Autotask's entity pages say they are checked.

Autotask answers most business-rule violations with HTTP 500 and an
``errors`` body (APIS.md §B2, ERRORS); ``StoreError`` carries that message
and status to the route.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.sandbox.autotask import fields as meta
from app.sandbox.autotask.jsonio import parse_date, parse_datetime

FOUR_PLACES = Decimal("0.0001")


class StoreError(Exception):
    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def day_of(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_date(str(value))


def money(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise StoreError(f"The value for {name} must be a number.")
    return Decimal(value)


class ApiWrites:
    """Mixed into ``Store``: everything a POST/PATCH/PUT/DELETE route does."""

    tables: dict[str, dict[int, dict[str, Any]]]
    changes: dict[int, list[Any]]
    lock: Any
    now: Callable[[], datetime]

    # Provided by Store.
    def next_id(self, entity: str) -> int: raise NotImplementedError
    def adjust(self, contract_service_id: int, effective: date, delta: int, price: Decimal | None = None,
               cost: Decimal | None = None) -> int: raise NotImplementedError
    def _services_of(self, contract_id: int) -> list[dict[str, Any]]: raise NotImplementedError

    def contract(self, contract_id: Any) -> dict[str, Any]:
        record = self.tables["Contracts"].get(contract_id) if isinstance(contract_id, int) else None
        if record is None:
            raise StoreError(f"Contract {contract_id} was not found.", 404)
        return record

    def create_contract_service(self, parent_id: int, body: dict[str, Any]) -> int:
        with self.lock:
            contract = self.contract(parent_id)
            if body.get("contractID") not in (None, parent_id):
                raise StoreError("contractID does not match the parent contract.")
            if contract["contractType"] != meta.picklist_value("Contracts", "contractType", "Recurring Service"):
                raise StoreError("Services can only be added to a Recurring Service contract (contractType 7).")
            service = self.tables["Services"].get(body.get("serviceID"))  # type: ignore[arg-type]
            if service is None:
                raise StoreError(f"Service {body.get('serviceID')} was not found.")
            if not service["isActive"]:
                raise StoreError(f"Service {service['id']} ({service['name']}) is inactive and cannot be added "
                                 "to a contract.")
            self._check_lengths("ContractServices", body)
            cs_id = self.next_id("ContractServices")
            price = money(body["unitPrice"], "unitPrice") if body.get("unitPrice") is not None \
                else service["unitPrice"]
            cost = money(body["unitCost"], "unitCost") if body.get("unitCost") is not None else service["unitCost"]
            self.tables["ContractServices"][cs_id] = {
                "id": cs_id, "contractID": parent_id, "serviceID": service["id"], "unitPrice": price,
                "unitCost": cost, "internalCurrencyUnitPrice": price, "internalCurrencyAdjustedPrice": None,
                "invoiceDescription": body.get("invoiceDescription") or "",
                "internalDescription": body.get("internalDescription") or "", "quoteItemID": body.get("quoteItemID"),
            }
            self.changes[cs_id] = []
            return cs_id

    #: "On update only adjustedPrice and invoiceDescription are writable" (APIS.md §B2).
    CS_WRITABLE = frozenset({"invoiceDescription", "internalCurrencyAdjustedPrice"})

    def update_contract_service(self, parent_id: int, body: dict[str, Any], *, replace: bool) -> int:
        with self.lock:
            self.contract(parent_id)
            cs = self.tables["ContractServices"].get(body.get("id"))  # type: ignore[arg-type]
            if cs is None or cs["contractID"] != parent_id:
                raise StoreError(f"Contract service {body.get('id')} was not found on contract {parent_id}.", 404)
            for key, value in body.items():
                f = meta.field("ContractServices", key)
                if f is None or f.name in ("id", "contractID", "serviceID") or f.name in self.CS_WRITABLE:
                    continue
                if value != cs.get(f.name):
                    raise StoreError(f"{f.name} cannot be changed on an existing contract service.")
            self._check_lengths("ContractServices", body)
            for name in self.CS_WRITABLE:
                if name in body or replace:
                    cs[name] = body.get(name) if name != "invoiceDescription" else (body.get(name) or "")
            return cs["id"]

    def create_adjustment(self, body: dict[str, Any], parent_id: int | None = None) -> int:
        with self.lock:
            contract_id = body.get("contractID", parent_id)
            if parent_id is not None and contract_id != parent_id:
                raise StoreError("contractID does not match the parent contract.")
            contract = self.contract(contract_id)
            change = body.get("unitChange")
            if isinstance(change, bool) or not isinstance(change, int):
                raise StoreError("unitChange is required and must be a whole number.")
            if not isinstance(body.get("effectiveDate"), str):
                raise StoreError("effectiveDate is required.")
            try:
                effective = parse_date(body["effectiveDate"])
            except ValueError:
                raise StoreError("effectiveDate is not a valid date-time.") from None
            price = money(body["adjustedUnitPrice"], "adjustedUnitPrice").quantize(FOUR_PLACES) \
                if body.get("adjustedUnitPrice") is not None else None
            cs_id = body.get("contractServiceID")
            if cs_id is not None:
                cs = self.tables["ContractServices"].get(cs_id)
                if cs is None or cs["contractID"] != contract["id"]:
                    raise StoreError(f"Contract service {cs_id} was not found on contract {contract['id']}.")
            elif body.get("serviceID") is not None:
                # "If no matching ContractService exists, the API creates one" (APIS.md §B2).
                matching = [cs for cs in self._services_of(contract["id"]) if cs["serviceID"] == body["serviceID"]]
                if matching and not body.get("allowRepeatService"):
                    cs_id = min(cs["id"] for cs in matching)
                else:
                    seed = {"serviceID": body["serviceID"]}
                    if price is not None:
                        seed["unitPrice"] = price
                    cs_id = self.create_contract_service(contract["id"], seed)
            else:
                raise StoreError("Either contractServiceID or serviceID is required.")
            return self.adjust(cs_id, effective, change, price)

    def create_charge(self, parent_id: int, body: dict[str, Any]) -> int:
        with self.lock:
            contract = self.contract(parent_id)
            if body.get("contractID") not in (None, parent_id):
                raise StoreError("contractID does not match the parent contract.")
            for name in ("name", "datePurchased", "unitQuantity", "isBillableToCompany"):
                if body.get(name) in (None, ""):
                    raise StoreError(f"{name} is required.")
            if body.get("productID") is None and body.get("billingCodeID") is None:
                raise StoreError("ContractCharge must have either a productID or billingCodeID.")
            code = self.tables["BillingCodes"].get(body.get("billingCodeID"))  # type: ignore[arg-type]
            if body.get("billingCodeID") is not None and (
                    code is None or code["useType"] != meta.picklist_value("BillingCodes", "useType",
                                                                           "Material Cost Code")):
                raise StoreError(f"billingCodeID {body.get('billingCodeID')} is not a Material Cost Code.")
            cs_id = body.get("contractServiceID")
            if cs_id is not None:
                cs = self.tables["ContractServices"].get(cs_id)
                if cs is None or cs["contractID"] != contract["id"]:
                    raise StoreError(f"Contract service {cs_id} was not found on contract {contract['id']}.")
            self._check_lengths("ContractCharges", body)
            self._check_picklists("ContractCharges", body)
            # "The API will round the unitQuantity, unitCost, and unitPrice" (vendor entity page).
            quantity = money(body["unitQuantity"], "unitQuantity").quantize(FOUR_PLACES, ROUND_HALF_UP)
            price = money(body.get("unitPrice") or 0, "unitPrice").quantize(FOUR_PLACES, ROUND_HALF_UP)
            cost = money(body.get("unitCost") or 0, "unitCost").quantize(FOUR_PLACES, ROUND_HALF_UP)
            try:
                purchased = parse_datetime(str(body["datePurchased"]))
            except ValueError:
                raise StoreError("datePurchased is not a valid date-time.") from None
            kid = self.next_id("ContractCharges")
            record = {name: body.get(name) for name in
                      ("contractServiceID", "contractServiceBundleID", "billingCodeID", "productID", "name",
                       "description", "notes", "internalPurchaseOrderNumber", "purchaseOrderNumber")}
            record.update({
                "id": kid, "contractID": contract["id"], "datePurchased": purchased, "unitQuantity": quantity,
                "unitPrice": price, "unitCost": cost, "billableAmount": quantity * price,
                "extendedCost": quantity * cost, "isBillableToCompany": bool(body["isBillableToCompany"]),
                "isBilled": False, "createDate": self.now(),
                "chargeType": body.get("chargeType") or meta.picklist_value("ContractCharges", "chargeType",
                                                                            "Operational"),
                "status": body.get("status") or 4, "userDefinedFields": [],
            })
            self.tables["ContractCharges"][kid] = record
            return kid

    def update_charge(self, parent_id: int, body: dict[str, Any]) -> int:
        with self.lock:
            charge = self.tables["ContractCharges"].get(body.get("id"))  # type: ignore[arg-type]
            if charge is None or charge["contractID"] != parent_id:
                raise StoreError(f"Contract charge {body.get('id')} was not found on contract {parent_id}.", 404)
            if charge["isBilled"]:
                raise StoreError("A contract charge that has been billed cannot be updated.")
            self._check_lengths("ContractCharges", body)
            for name in ("name", "description", "notes", "internalPurchaseOrderNumber", "purchaseOrderNumber"):
                if name in body:
                    charge[name] = body[name]
            return charge["id"]

    def delete_charge(self, parent_id: int, charge_id: int) -> int:
        with self.lock:
            charge = self.tables["ContractCharges"].get(charge_id)
            if charge is None or charge["contractID"] != parent_id:
                raise StoreError("No matching records found.", 500)
            if charge["isBilled"]:
                raise StoreError("A contract charge that has been billed cannot be deleted.")
            del self.tables["ContractCharges"][charge_id]
            return charge_id

    #: A contact's fields the API writes: every field of ContactModel but the read-only ones and the parent.
    CONTACT_WRITABLE = frozenset(f.name for f in meta.fields_of("Contacts")
                                 if not f.read_only and f.name not in ("id", "companyID"))

    def create_contact(self, parent_id: int, body: dict[str, Any]) -> int:
        """POST Companies/{parentId}/Contacts: firstName, lastName and isActive required (the entity's
        required fields), isActive 0 or 1, e-mail addresses with an @."""
        with self.lock:
            self._company(parent_id)
            if body.get("companyID") not in (None, parent_id):
                raise StoreError("companyID does not match the parent company.")
            record: dict[str, Any] = {"id": self.next_id("Contacts"), "companyID": parent_id,
                                      "createDate": self.now(), "lastModifiedDate": self.now(),
                                      "userDefinedFields": []}
            self._write_contact(record, body, creating=True)
            self.tables["Contacts"][record["id"]] = record
            return int(record["id"])

    def update_contact(self, parent_id: int, body: dict[str, Any], *, replace: bool) -> int:
        """PATCH (the fields sent) or PUT (the whole contact) Companies/{parentId}/Contacts."""
        with self.lock:
            self._company(parent_id)
            contact = self.tables["Contacts"].get(body.get("id"))  # type: ignore[arg-type]
            if contact is None or contact["companyID"] != parent_id:
                raise StoreError(f"Contact {body.get('id')} was not found on company {parent_id}.", 404)
            if body.get("companyID") not in (None, parent_id):
                raise StoreError("companyID does not match the parent company.")
            updated = dict(contact)
            if replace:
                for name in self.CONTACT_WRITABLE:
                    updated.pop(name, None)
            self._write_contact(updated, body, creating=replace)
            updated["lastModifiedDate"] = self.now()
            self.tables["Contacts"][contact["id"]] = updated
            return int(contact["id"])

    def _write_contact(self, record: dict[str, Any], body: dict[str, Any], *, creating: bool) -> None:
        self._check_lengths("Contacts", body)
        for key, value in body.items():
            f = meta.field("Contacts", key)
            if f is None:
                raise StoreError(f"{key} is not a field of Contact.")
            if f.name in self.CONTACT_WRITABLE:
                if f.type == meta.STRING and value is not None and not isinstance(value, str):
                    raise StoreError(f"The value for {f.name} must be text.")
                record[f.name] = value
        for name in ("firstName", "lastName", "isActive"):
            if (creating or name in body) and record.get(name) in (None, ""):
                raise StoreError(f"{name} is required.")
        if record["isActive"] not in (0, 1) or isinstance(record["isActive"], bool):
            raise StoreError(f"{record['isActive']} is not a valid value for isActive: use 1 or 0.")
        for name in ("emailAddress", "emailAddress2", "emailAddress3"):
            value = record.get(name)
            if value and ("@" not in value or " " in value.strip()):
                raise StoreError(f"{value} is not a valid e-mail address for {name}.")

    def _company(self, company_id: Any) -> dict[str, Any]:
        record = self.tables["Companies"].get(company_id) if isinstance(company_id, int) else None
        if record is None:
            raise StoreError(f"Company {company_id} was not found.", 404)
        return record

    def _check_lengths(self, entity: str, body: dict[str, Any]) -> None:
        for key, value in body.items():
            f = meta.field(entity, key)
            if f is not None and f.type == meta.STRING and f.length and isinstance(value, str) \
                    and len(value) > f.length:
                raise StoreError(f"The value for {f.name} exceeds its maximum length of {f.length} characters.")

    def _check_picklists(self, entity: str, body: dict[str, Any]) -> None:
        for key, value in body.items():
            f = meta.field(entity, key)
            if f is not None and f.picklist and value is not None and value not in dict(f.picklist):
                raise StoreError(f"{value} is not a valid value for {f.name}.")
