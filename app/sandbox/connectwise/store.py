"""The ConnectWise sandbox's records and its Python seeding API (scenarios: scenario.py).

Records are kept in ConnectWise's own JSON shape (field names of
tests/specs/connectwise.subset.json), with Decimal numbers and ISO-8601 UTC
date-times, so the HTTP layer only filters, pages and serialises them.
Seeding is plain Python (not HTTP): tests, the demo and the benchmarks call
``add_company``, ``add_agreement``, ``add_product``, ``add_addition``,
``scenario`` ... directly.

API members: each has a public/private key pair and a permission table of
(module, level) pairs it lacks, so a test can make any call answer 403 as a
security role without that permission would.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from app.billing.money import to_money
from app.sandbox.connectwise.additions import AdditionRules, iso_day
from app.sandbox.connectwise.contacts import ContactRules
from app.sandbox.connectwise.errors import ApiError, not_found
from app.sandbox.connectwise.scenario import DEFAULT_PRODUCTS, Scenario, seed

#: The CW security modules behind each collection (System > Security Roles).
MODULES = {
    "companies": "Companies > Company Maintenance",
    "contacts": "Companies > Contacts",
    "agreements": "Finance > Agreements",
    "additions": "Finance > Agreements",
    "agreementTypes": "Finance > Agreements",
    "billingCycles": "Finance > Agreements",
    "catalog": "Procurement > Product Catalog",
}
LEVELS = ("inquire", "add", "edit", "delete")

# The default billing cycles of a new ConnectWise site (Setup Tables > Billing Cycle).
BILLING_CYCLES: list[dict[str, Any]] = [
    {"id": 1, "identifier": "MTH", "name": "Monthly", "billingOptions": "Monthly"},
    {"id": 2, "identifier": "QTR", "name": "Quarterly", "billingOptions": "Quarterly"},
    {"id": 3, "identifier": "YR", "name": "Yearly", "billingOptions": "Yearly"},
]


@dataclass
class Member:
    """An API member: its keys and the (module, level) permissions its role lacks."""

    public_key: str
    private_key: str = field(repr=False)
    denied: set[tuple[str, str]] = field(default_factory=set)

    def may(self, module: str, level: str) -> bool:
        return (module, level) not in self.denied


class CwStore:
    """All records of one sandbox ConnectWise site, guarded by ``self.lock``."""

    def __init__(self, *, today: Callable[[], date] = date.today,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.lock: threading.RLock = getattr(self, "lock", None) or threading.RLock()
        self.today = today
        self.now = now
        self._ids = {name: itertools.count(start) for name, start in
                     (("company", 250), ("contact", 40), ("type", 5), ("agreement", 600),
                      ("catalog", 900), ("addition", 7000), ("field", 1),
                      ("communication", 300))}
        self.companies: dict[int, dict[str, Any]] = {}
        self.contacts: dict[int, dict[str, Any]] = {}
        self.agreement_types: dict[int, dict[str, Any]] = {}
        self.billing_cycles: dict[int, dict[str, Any]] = {c["id"]: dict(c) for c in BILLING_CYCLES}
        self.agreements: dict[int, dict[str, Any]] = {}
        self.catalog: dict[int, dict[str, Any]] = {}
        self.additions: dict[int, dict[int, dict[str, Any]]] = {}
        self.members: dict[str, Member] = {}
        self.rules = AdditionRules(self)
        self.contact_rules = ContactRules(self)

    def _next(self, kind: str) -> int:
        return next(self._ids[kind])

    def info(self) -> dict[str, str]:
        return {"lastUpdated": self.now().strftime("%Y-%m-%dT%H:%M:%SZ"), "updatedBy": "sandbox"}

    # -- members ----------------------------------------------------------

    def add_member(self, public_key: str, private_key: str, *, denied: Iterable[tuple[str, str]] = ()) -> Member:
        with self.lock:
            member = Member(public_key, private_key, set(denied))
            self.members[public_key] = member
            return member

    def deny(self, public_key: str, module: str, level: str) -> None:
        """Take ``level`` (inquire/add/edit/delete) on ``module`` (see MODULES) from a member's role."""
        if level not in LEVELS or module not in set(MODULES.values()):
            raise ValueError(f"unknown permission {module!r}/{level!r}")
        with self.lock:
            self.members[public_key].denied.add((module, level))

    # -- seeding ------------------------------------------------------------

    def add_company(self, name: str, *, domains: Iterable[str] = (), identifier: str | None = None,
                    website: str | None = None, deleted: bool = False, status: str = "Active") -> int:
        """A company; ``domains`` go in the "M365 Domains" custom field, the first also as website."""
        domains = [d.strip().lower() for d in domains if d.strip()]
        with self.lock:
            cid = self._next("company")
            record: dict[str, Any] = {
                "id": cid, "identifier": (identifier or "".join(ch for ch in name if ch.isalnum()))[:30],
                "name": name[:50], "status": {"id": 1 if status == "Active" else 2, "name": status},
                "types": [{"id": 1, "name": "Client"}], "deletedFlag": deleted,
                "customFields": [{"id": 1, "caption": "M365 Domains", "type": "Text", "entryMethod": "EntryField",
                                  "numberOfDecimals": 0, "value": ", ".join(domains) or None}],
                "_info": self.info(),
            }
            if website or domains:
                record["website"] = website or f"https://www.{domains[0]}"
            self.companies[cid] = record
            return cid

    def add_contact(self, company_id: int, first_name: str = "Billing", last_name: str = "Contact", *,
                    emails: Iterable[str] = (), title: str | None = None, phone: str | None = None,
                    mobile: str | None = None, inactive: bool = False) -> int:
        """A contact as a person would add it (same rules as POST): the first of ``emails`` is the default."""
        items = [{"type": {"name": "Email"}, "value": e, "defaultFlag": n == 0} for n, e in enumerate(emails)]
        items += [{"type": {"name": name}, "value": value, "defaultFlag": False}
                  for name, value in (("Direct", phone), ("Cell", mobile)) if value]
        body: dict[str, Any] = {"firstName": first_name, "lastName": last_name, "company": {"id": company_id},
                                "inactiveFlag": inactive, "communicationItems": items}
        if title is not None:
            body["title"] = title
        with self.lock:
            self.company(company_id)
            return int(self.contact_rules.create(body)["id"])

    def add_agreement_type(self, name: str, *, prorate: bool = True) -> int:
        with self.lock:
            for existing in self.agreement_types.values():
                if existing["name"].casefold() == name.casefold():
                    return int(existing["id"])
            tid = self._next("type")
            self.agreement_types[tid] = {
                "id": tid, "name": name, "prorateFlag": prorate, "invoiceProratedAdditionsFlag": False,
                "employeeCompRate": "Actual", "employeeCompNotExceed": "Billing", "invoicingCycle": "CalendarYear",
                "billTime": "Billable", "billExpenses": "Billable", "billProducts": "Billable",
                "inactiveFlag": False, "_info": self.info()}
            return tid

    def add_agreement(self, company_id: int, *, name: str = "Microsoft 365", type_name: str = "Managed Services",
                      billing_cycle: str = "Monthly", start: date = date(2024, 1, 1), end: date | None = None,
                      prorate: bool | None = None, status: str = "Active", invoicing_cycle: str = "CalendarYear",
                      currency: str = "USD", contact_id: int | None = None) -> int:
        with self.lock:
            company = self.company(company_id)
            type_id = self.add_agreement_type(type_name)
            agreement_type = self.agreement_types[type_id]
            if contact_id is None:
                contact_id = next((k for k, c in self.contacts.items() if c["company"]["id"] == company_id), None)
                if contact_id is None:
                    contact_id = self.add_contact(company_id)
            contact = self.contacts[contact_id]
            cycle = next((c for c in self.billing_cycles.values() if c["name"].casefold() == billing_cycle.casefold()),
                         None)
            if cycle is None:
                raise ValueError(f"no billing cycle named {billing_cycle!r}")
            aid = self._next("agreement")
            record: dict[str, Any] = {
                "id": aid, "name": name[:100], "type": {"id": type_id, "name": agreement_type["name"]},
                "company": self.company_ref(company),
                "contact": {"id": contact_id, "name": f"{contact['firstName']} {contact['lastName']}"},
                "startDate": iso_day(start), "noEndingDateFlag": end is None,
                "cancelledFlag": status == "Cancelled",
                "billingCycle": {"id": cycle["id"], "name": cycle["name"]},
                "invoicingCycle": invoicing_cycle, "employeeCompRate": "Actual", "employeeCompNotExceed": "Billing",
                "billTime": "Billable", "billExpenses": "Billable", "billProducts": "Billable",
                "prorateFlag": agreement_type["prorateFlag"] if prorate is None else prorate,
                "invoiceProratedAdditionsFlag": False, "agreementStatus": status,
                "currency": {"id": 1, "currencyCode": currency, "symbol": "$" if currency == "USD" else currency,
                             "name": currency},
                "_info": self.info(),
            }
            if end is not None:
                record["endDate"] = iso_day(end)
            self.agreements[aid] = record
            self.additions[aid] = {}
            return aid

    def add_product(self, identifier: str, *, description: str | None = None, price: Decimal | str | int = "0",
                    cost: Decimal | str | int = "0", inactive: bool = False, product_class: str = "NonInventory",
                    customer_description: str | None = None) -> int:
        with self.lock:
            pid = self._next("catalog")
            self.catalog[pid] = {
                "id": pid, "identifier": identifier[:75], "description": (description or identifier)[:60],
                "customerDescription": customer_description or description or identifier,
                "inactiveFlag": inactive, "subcategory": {"id": 3, "name": "Licensing"},
                "type": {"id": 2, "name": "Software"}, "productClass": product_class,
                "price": to_money(price), "cost": to_money(cost), "unitOfMeasure": {"id": 1, "name": "Each"},
                "recurringFlag": True, "_info": self.info(),
            }
            return pid

    def add_addition(self, agreement_id: int, product_id: int, quantity: int | Decimal, *,
                     unit_price: Decimal | str | None = None, serial_number: str | None = None,
                     invoice_description: str | None = None, effective: date | None = None,
                     cancelled: date | None = None, bill_customer: str = "Billable",
                     prorate_current_period: bool | None = None) -> int:
        """An addition as a person would add it in the ConnectWise UI (same rules as POST)."""
        body: dict[str, Any] = {"product": {"id": product_id}, "quantity": Decimal(quantity),
                                "billCustomer": bill_customer}
        optional = {"unitPrice": None if unit_price is None else to_money(unit_price),
                    "serialNumber": serial_number, "invoiceDescription": invoice_description,
                    "effectiveDate": effective and iso_day(effective),
                    "cancelledDate": cancelled and iso_day(cancelled),
                    "prorateCurrentPeriodFlag": prorate_current_period}
        body.update({k: v for k, v in optional.items() if v is not None})
        return int(self.rules.create(agreement_id, body)["id"])

    def edit_addition(self, agreement_id: int, addition_id: int, **changes: Any) -> dict[str, Any]:
        """Change an addition behind the API's back (CW field names), as a person in the UI would."""
        ops = [{"op": "replace", "path": name, "value": value} for name, value in changes.items()]
        return self.rules.patch(agreement_id, addition_id, ops)

    def set_agreement(self, agreement_id: int, **changes: Any) -> None:
        with self.lock:
            self.agreement(agreement_id).update(changes)

    def scenario(self, companies: Iterable[tuple[str, Iterable[str]]] = (), *,
                 products: Iterable[tuple[str, str, str, str]] = DEFAULT_PRODUCTS,
                 start: date = date(2024, 1, 1), prorate: bool = True) -> Scenario:
        """Products, then per company: a contact and one monthly "Microsoft 365" agreement (scenario.py)."""
        return seed(self, companies, products=products, start=start, prorate=prorate)

    # -- lookups ----------------------------------------------------------

    def company(self, company_id: int) -> dict[str, Any]:
        try:
            return self.companies[company_id]
        except KeyError:
            raise not_found("Company", company_id) from None

    def agreement(self, agreement_id: int) -> dict[str, Any]:
        try:
            return self.agreements[agreement_id]
        except KeyError:
            raise not_found("Agreement", agreement_id) from None

    def product(self, product_id: int) -> dict[str, Any]:
        try:
            return self.catalog[product_id]
        except KeyError:
            raise not_found("CatalogItem", product_id) from None

    def addition(self, agreement_id: int, addition_id: int) -> dict[str, Any]:
        with self.lock:
            try:
                return self.additions_of(agreement_id)[addition_id]
            except KeyError:
                raise not_found("Addition", addition_id) from None

    def find_addition(self, addition_id: int) -> tuple[int, dict[str, Any]]:
        """(agreement id, addition) for an addition id, whatever its agreement."""
        with self.lock:
            for agreement_id, additions in self.additions.items():
                if addition_id in additions:
                    return agreement_id, additions[addition_id]
        raise not_found("Addition", addition_id)

    def additions_of(self, agreement_id: int) -> dict[int, dict[str, Any]]:
        self.agreement(agreement_id)
        return self.additions[agreement_id]

    @staticmethod
    def company_ref(company: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": company["id"], "identifier": company["identifier"], "name": company["name"]}

    def check_auth(self, public_key: str, private_key: str) -> Member | None:
        member = self.members.get(public_key)
        return member if member is not None and member.private_key == private_key else None

    def require(self, member: Member, collection: str, level: str) -> None:
        module = MODULES[collection]
        if not member.may(module, level):
            raise ApiError(403, "Forbidden",
                           f"You do not have {level.capitalize()} Level access to {module}. "
                           "Ask your administrator to update your security role.")
