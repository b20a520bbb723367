"""Datto Autotask PSA behind the PSA port.

How the port maps onto Autotask (DESIGN §2 and §4; APIS.md §B2):

- Agreement = a Recurring Service contract; line = a contract service (the
  contract's use of a catalog service), product = a service.
- A line's quantity lives in its ContractServiceUnits (one row per period);
  ``Line.quantity`` is the units of the last row, i.e. what the line holds
  once every scheduled change has happened; ``Line.start`` is the first day
  it holds units and ``Line.end`` the last, when it holds none from then on.
- set_quantity / cancel_line post ContractServiceAdjustments whose
  ``unitChange`` is computed from the rows just read (never from a counter),
  dated on a period's first day only, so Autotask never prorates anything
  itself (units.boundary). cancel_line is a change to 0 units: Autotask
  cannot delete a contract service through the API.
- add_dated_line writes a contract charge for exactly the amount seatsync
  computed (charges.py): seatsync prorates, by DESIGN §2's formula
  seats × unit price × days(D..E) / days(S..E) rounded once half-up, and
  Autotask bills that amount as it stands. Together with the main line's
  change posted from the next period, the invoice shows the period at the
  old count plus one prorate (or credit) charge — the same money as
  ConnectWise's main addition plus prorate addition, and no double
  proration: a mid-period adjustment would make Autotask prorate again by
  its own rounding and day count, which are not documented [U].
- Ownership marker: a contract service's ``internalDescription`` (shown to
  Autotask users, never printed on the customer's invoice, writable only
  when the service is added — so a line is adopted by re-creating it);
  a charge's ``internalPurchaseOrderNumber``. ``invoiceDescription`` (and
  a charge's name/description) carries the line's description.
- Non-billable and no-charge lines are written at a unit price of 0 (a
  contract service has no billable flag); charges use isBillableToCompany.
- "Disable proration" (Sync 365's setting, USERS.md): a "Disable Proration"
  UDF on the contract or its company, or seatsync's own per-company
  setting (``no_proration_companies``), makes ``Agreement.prorates`` False;
  mid-period changes then land on the period boundary: the current period
  if it is not yet billed, else the next.

A write's answer that cannot be read, and a read-back after a write that
fails, leave the write's outcome unknown (``AutotaskUnreadableAnswer``,
maybe applied): the sync journal settles it by reading Autotask. A record
that does not read is ``AutotaskMalformedResponse`` naming it.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from app.billing.periods import agreement_period
from app.billing.types import Agreement, BillingOption, Line, LineKind, Product
from app.services.psa import limits
from app.services.psa.autotask import charges, contacts, records, wire
from app.services.psa.autotask.client import DEFAULT_LOOKUP_URL, AutotaskClient, AutotaskCredentials
from app.services.psa.autotask.errors import (
    AutotaskInactiveService,
    AutotaskMalformedResponse,
    AutotaskNoMaterialCode,
    AutotaskNotFound,
    AutotaskUnavailable,
    AutotaskUnreadableAnswer,
    AutotaskUnsupportedContract,
)
from app.services.psa.autotask.query import begins_with, eq, exist, in_
from app.services.psa.autotask.records import decoded
from app.services.psa.autotask.units import ONE_DAY, UnitRow, adjustments_to, boundary, sorted_rows, span
from app.services.psa.port import (
    Capabilities,
    ContactChange,
    NewContact,
    NewLine,
    PsaCompany,
    PsaContact,
    PsaMalformedResponse,
    PsaPort,
    PsaUnavailable,
    agreement_ids_asked,
    check_contact_fields,
    check_dated_line,
)

AUTOTASK_CAPABILITIES = Capabilities(
    dated_quantity_change=True,  # ContractServiceAdjustments (posted on period boundaries)
    dated_lines=True,  # ContractCharges with the exact amount
    cancel_from_date=True,
    max_description_length=1000,  # ContractServices.invoiceDescription
    marker_field="ContractService.internalDescription / ContractCharge.internalPurchaseOrderNumber",
    max_marker_length=50,
    reads_lines_in_batches=True,  # `in` queries over contracts, their services and charges
    writes_markers=False,  # an existing contract service's internalDescription cannot change (APIS.md §B2)
)


class AutotaskPsa:
    name = "Datto Autotask PSA"
    capabilities = AUTOTASK_CAPABILITIES

    @property
    def concurrency(self) -> int:
        return self.client.gate.threads

    def __init__(self, client: AutotaskClient, *, today: Callable[[], date] = date.today, currency: str = "USD",
                 no_proration_companies: Iterable[str] = (), proration_udf: str = records.PRORATION_UDF,
                 domains_udf: str = records.DOMAINS_UDF, charge_billing_code_id: int | None = None,
                 contact_page_size: int = contacts.PAGE_SIZE) -> None:
        self.client = client
        self.contact_page_size = contact_page_size
        self.today = today
        self.currency = currency
        self.no_proration_companies = frozenset(no_proration_companies)
        self.proration_udf = proration_udf
        self.domains_udf = domains_udf
        self.charge_billing_code_id = charge_billing_code_id
        self._lock = threading.Lock()
        self._contracts: dict[int, dict[str, Any]] = {}
        self._services: dict[int, dict[str, Any]] = {}
        self._company_no_proration: dict[int, bool] = {}

    def close(self) -> None:
        self.client.close()

    # -- reference data ----------------------------------------------------------

    def test_connection(self) -> None:
        self.client.zone_url(refresh=True)
        for entity in ("Companies", "Contracts", "Services", "ContractServices"):
            self.client.count(entity)

    def list_companies(self) -> list[PsaCompany]:
        found = self.client.query("Companies")
        flags = {int(r["id"]): decoded(f"company {r['id']}", self._flag, r) for r in found}
        with self._lock:
            self._company_no_proration.update(flags)
        return [decoded(f"company {r['id']}", records.company, r, self.domains_udf)
                for r in sorted(found, key=lambda r: r["id"])]

    def _flag(self, record: dict[str, Any]) -> bool:
        return records.truthy(wire.udf(record, self.proration_udf))

    def list_agreements(self, company_id: str | None = None) -> list[Agreement]:
        recurring = self._picklist_value("Contracts", "contractType", records.RECURRING_SERVICE)
        filters = [eq("contractType", recurring)]
        if company_id is not None:
            filters.append(eq("companyID", _record_id(company_id, "company")))
            self._company_flag(_record_id(company_id, "company"))
        flagged: dict[int, bool] | None = None
        if company_id is None:
            # One query for the companies that carry the UDF at all; every other company prorates.
            flagged = {int(r["id"]): decoded(f"company {r['id']}", self._flag, r)
                       for r in self.client.query("Companies", [exist(self.proration_udf, udf=True)])}
        contracts = sorted(self.client.query("Contracts", filters), key=lambda r: r["id"])
        with self._lock:
            self._contracts.update({int(r["id"]): r for r in contracts})
            if flagged is not None:
                for record in contracts:
                    company = _company_of(record)
                    self._company_no_proration[company] = flagged.get(company, False)
        return [a for a in (self._agreement(r, strict=False) for r in contracts) if a is not None]

    def list_products(self) -> list[Product]:
        found = sorted(self.client.query("Services"), key=lambda r: r["id"])
        with self._lock:
            self._services.update({int(r["id"]): r for r in found})
        return [decoded(f"service {r['id']}", records.product, r) for r in found]

    # -- lines ---------------------------------------------------------------------

    def list_lines(self, agreement_id: str, product_ids: Iterable[str] | None = None) -> list[Line]:
        contract = self._contract(agreement_id)
        wanted = None if product_ids is None else {str(p) for p in product_ids}
        if wanted is not None and not wanted:
            return []
        filters = [eq("contractID", contract["id"])]
        if wanted is not None:
            numeric = sorted(int(p) for p in wanted if p.isdigit())
            if not numeric:
                return []
            filters.append(in_("serviceID", numeric))
        services = sorted(self.client.query("ContractServices", filters), key=lambda r: r["id"])
        rows = self._rows_by_service([int(cs["id"]) for cs in services], contract["id"])
        lines = [self._main_line(cs, rows.get(int(cs["id"]), [])) for cs in services]
        service_of = {int(cs["id"]): line.product_id for cs, line in zip(services, lines, strict=True)}
        found = self.client.query("ContractCharges", [eq("contractID", contract["id"]),
                                                      begins_with("internalPurchaseOrderNumber", "seatsync:")])
        for record in sorted(found, key=lambda r: r["id"]):
            if charges.is_dated_line(record):
                line = decoded(f"contract charge {record['id']}", charges.to_line, record, service_of, self.currency)
                if wanted is None or line.product_id in wanted:
                    lines.append(line)
        return lines

    def list_lines_of(self, agreement_ids: Sequence[str]) -> dict[str, list[Line]]:
        """``list_lines`` of many contracts in a few requests: the contracts not yet known (one
        ``id in`` query), their contract services (``contractID in``), those services' unit rows
        (``contractServiceID in``) and their dated-line charges (``contractID in``), each split at
        Autotask's 500 values and paged at its 500 records; then each contract's lines are put
        together exactly as ``list_lines`` puts them."""
        asked = agreement_ids_asked(agreement_ids)
        keys = self._contracts_of(asked)
        if not keys:
            return {}
        contract_ids = sorted(set(keys.values()))
        services: dict[int, list[dict[str, Any]]] = {cid: [] for cid in contract_ids}
        for cs in self.client.query_in("ContractServices", "contractID", contract_ids):
            services[_owner(cs, f"contract service {cs.get('id')}", services)].append(cs)
        contract_of = {int(cs["id"]): cid for cid, found in services.items() for cs in found}
        rows = self._rows_of_services(contract_of)
        lines: dict[int, list[Line]] = {}
        service_of: dict[int, dict[int, str]] = {}
        for cid in contract_ids:
            ordered = sorted(services[cid], key=lambda r: r["id"])
            mains = [self._main_line(cs, rows[int(cs["id"])]) for cs in ordered]
            lines[cid] = mains
            service_of[cid] = {int(cs["id"]): line.product_id for cs, line in zip(ordered, mains, strict=True)}
        charged: dict[int, list[dict[str, Any]]] = {cid: [] for cid in contract_ids}
        for record in self.client.query_in("ContractCharges", "contractID", contract_ids,
                                           [begins_with("internalPurchaseOrderNumber", "seatsync:")]):
            charged[_owner(record, f"contract charge {record.get('id')}", charged)].append(record)
        for cid in contract_ids:
            for record in sorted(charged[cid], key=lambda r: r["id"]):
                if charges.is_dated_line(record):
                    lines[cid].append(decoded(f"contract charge {record['id']}", charges.to_line, record,
                                              service_of[cid], self.currency))
        # Each agreement gets lists of its own, as list_lines would give them (an id asked twice
        # under two spellings names one contract).
        return {agreement_id: list(lines[keys[agreement_id]]) for agreement_id in asked}

    def _contracts_of(self, agreement_ids: list[str]) -> dict[str, int]:
        """The contract id of each agreement id, the contracts not yet known read in one query
        (split at 500 ids); the first id, in the order asked, that names no contract raises as
        ``_contract`` does."""
        keys: dict[str, int | None] = {}
        for agreement_id in agreement_ids:
            try:
                keys[agreement_id] = _record_id(agreement_id, "contract")
            except AutotaskNotFound:
                keys[agreement_id] = None  # raised below, in the order asked
        with self._lock:
            unknown = sorted({key for key in keys.values() if key is not None and key not in self._contracts})
        if unknown:
            found = {int(r["id"]): r for r in self.client.query_in("Contracts", "id", unknown)}
            with self._lock:
                self._contracts.update((key, found[key]) for key in unknown if key in found)
        with self._lock:
            known = set(self._contracts)
        out: dict[str, int] = {}
        for agreement_id, key in keys.items():
            if key is None:
                raise AutotaskNotFound(f"contract {agreement_id!r}")  # as _record_id says it
            if key not in known:
                raise AutotaskNotFound(f"contract {agreement_id}")  # as _contract says it
            out[agreement_id] = key
        return out

    def _rows_of_services(self, contract_of: dict[int, int]) -> dict[int, list[UnitRow]]:
        """The unit rows of many contract services (``contractServiceID in``, split at 500): each
        service's rows of its own contract, as ``_rows_by_service`` reads them per contract."""
        if not contract_of:
            return {}
        grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for record in self.client.query_in("ContractServiceUnits", "contractServiceID", sorted(contract_of)):
            cs_id = decoded(f"ContractServiceUnits {record['id']}", _number, record.get("contractServiceID"),
                            "contractServiceID")
            contract = record.get("contractID")
            # Per contract the query also says contractID eq <its contract>: a row of another
            # contract (or of none) is not the service's.
            if cs_id in contract_of and type(contract) is int and contract == contract_of[cs_id]:
                grouped[cs_id].append(record)
        return {cs_id: decoded(f"the units of contract service {cs_id}", sorted_rows, grouped[cs_id])
                for cs_id in contract_of}

    def create_line(self, line: NewLine) -> Line:
        if line.kind is not LineKind.MAIN:
            raise ValueError(f"create_line writes main lines; a {line.kind.value} line goes through add_dated_line")
        if line.quantity < 0:
            raise ValueError(f"a main line cannot hold {line.quantity} seats")
        contract = self._contract(line.agreement_id)
        agreement = self._agreement(contract, strict=True)
        assert agreement is not None
        service = self._service(line.product_id)
        if service.get("isActive") is False:
            raise AutotaskInactiveService(f"service {service.get('name')!r} (id {service['id']})")
        price = line.unit_price if line.billing_option is BillingOption.BILLABLE else Decimal("0")
        cost = decoded(f"service {service['id']}", wire.money, service.get("unitCost"), "unitCost")
        body = {"contractID": contract["id"], "serviceID": service["id"], "unitPrice": price, "unitCost": cost,
                "invoiceDescription": line.description, "internalDescription": line.marker}
        cs_id = self._leftover_service(contract["id"], service["id"], line.marker)
        written = cs_id is None
        if cs_id is None:
            cs_id = self.client.create(f"V1.0/Contracts/{contract['id']}/Services", body,
                                       endpoint="ContractServices")
        cs = {**body, "id": cs_id}
        with _read_back(f"contract service {cs_id} was added", written):
            rows = self._rows(cs_id, contract["id"])
        period = agreement_period(agreement, line.start)
        self._post(contract, cs_id, adjustments_to(rows, line.quantity,
                                                   boundary(line.start, period, rows, agreement.prorates)))
        with _read_back(f"contract service {cs_id} was written"):
            return self._main_line(cs, self._rows(cs_id, contract["id"]))

    def _leftover_service(self, contract_id: int, service_id: int, marker: str) -> int | None:
        """A contract service an interrupted create left with this marker and no units, to finish."""
        found = self.client.query("ContractServices", [eq("contractID", contract_id), eq("serviceID", service_id),
                                                       eq("internalDescription", marker)])
        for cs in sorted(found, key=lambda r: r["id"]):
            if not any(row.units for row in self._rows(int(cs["id"]), contract_id)):
                return int(cs["id"])
        return None

    def set_quantity(self, line: Line, quantity: int, effective: date) -> Line:
        cs, contract = self._contract_service(line)
        agreement = self._agreement(contract, strict=True)
        assert agreement is not None
        rows = self._rows(int(cs["id"]), contract["id"])
        day = boundary(effective, agreement_period(agreement, effective), rows, agreement.prorates)
        self._post(contract, int(cs["id"]), adjustments_to(rows, quantity, day))
        with _read_back(f"the units of contract service {cs['id']} were adjusted"):
            return self._main_line(cs, self._rows(int(cs["id"]), contract["id"]))

    def cancel_line(self, line: Line, effective: date) -> Line:
        charge = charges.charge_id(line.id)
        if charge is not None:
            current = self._charge(line, charge)
            self.client.delete(f"V1.0/Contracts/{current.agreement_id}/Charges/{charge}", endpoint="ContractCharges")
            return replace(current, end=effective - ONE_DAY)
        cancelled = self.set_quantity(line, 0, effective)
        if cancelled.start is None:
            # Never billed: the port reports the day before ``effective`` as its end.
            return replace(cancelled, end=effective - ONE_DAY)
        return cancelled

    def update_description(self, line: Line, description: str) -> Line:
        charge = charges.charge_id(line.id)
        if charge is not None:
            current = self._charge(line, charge)
            name = (description.splitlines() or [""])[0][:charges.NAME_LENGTH] or current.description[:100]
            self.client.update(f"V1.0/Contracts/{current.agreement_id}/Charges",
                               {"id": charge, "name": name, "description": description}, endpoint="ContractCharges")
            with _read_back(f"contract charge {charge} was updated"):
                return self._charge(line, charge)
        cs, contract = self._contract_service(line)
        self.client.update(f"V1.0/Contracts/{contract['id']}/Services",
                           {"id": int(cs["id"]), "invoiceDescription": description}, endpoint="ContractServices")
        with _read_back(f"contract service {cs['id']} was updated"):
            return self._main_line({**cs, "invoiceDescription": description},
                                   self._rows(int(cs["id"]), contract["id"]))

    def set_marker(self, line: Line, marker: str) -> Line:
        raise AutotaskUnsupportedContract(f"(line {line.id}: Autotask does not let an existing contract service's "
                                          "internalDescription change; seatsync keeps the adoption in its journal)")

    def add_dated_line(self, line: NewLine) -> Line:
        check_dated_line(line)
        contract = self._contract(line.agreement_id)
        self._agreement(contract, strict=True)
        service = self._service(line.product_id)
        # A retried write finds the charge it already made (reconcile before re-create).
        for record in self.client.query("ContractCharges", [eq("contractID", contract["id"]),
                                                            eq("internalPurchaseOrderNumber", line.marker)]):
            if charges.is_dated_line(record) and record.get("internalPurchaseOrderNumber") == line.marker:
                return decoded(f"contract charge {record['id']}", charges.to_line, record, {}, self.currency)
        mains = [cs for cs in self.client.query("ContractServices", [eq("contractID", contract["id"]),
                                                                     eq("serviceID", service["id"])])
                 if cs.get("internalDescription") and line.marker.startswith(str(cs["internalDescription"]))]
        body = charges.charge_body(
            line, contract_id=contract["id"], contract_service_id=int(mains[0]["id"]) if len(mains) == 1 else None,
            billing_code_id=self._material_code(),
            charge_type=self.client.picklist_value("ContractCharges", "chargeType", "Operational"),
            status=self.client.picklist_value("ContractCharges", "status", "Delivered/Fully Implemented",
                                              "Fully Implemented", "Delivered"),
            currency=self.currency)
        charge = self.client.create(f"V1.0/Contracts/{contract['id']}/Charges", body, endpoint="ContractCharges")
        with _read_back(f"contract charge {charge} was added"):
            added = self.client.get("ContractCharges", charge)
            if added is None:
                raise AutotaskMalformedResponse(f"contract charge {charge} was created but cannot be read back")
            return decoded(f"contract charge {charge}", charges.to_line, added, {}, self.currency)

    # -- helpers -------------------------------------------------------------------------

    # -- contacts (contacts.py) ----------------------------------------------------

    def list_contacts(self, company_id: str) -> list[PsaContact]:
        try:
            company = _record_id(company_id, "company")
        except AutotaskNotFound:
            return []
        return contacts.list_contacts(self.client, company, page_size=self.contact_page_size)

    def create_contact(self, contact: NewContact) -> PsaContact:
        check_contact_fields(self.capabilities, contact.given())
        contact_id = contacts.create_contact(self.client, _record_id(contact.company_id, "company"), contact)
        with _read_back(f"contact {contact_id} was created"):
            return self._contact(contact_id)

    def update_contact(self, contact: PsaContact, change: ContactChange) -> PsaContact:
        check_contact_fields(self.capabilities, change.given())
        contact_id = _record_id(contact.id, "contact")
        contacts.update_contact(self.client, _record_id(contact.company_id, "company"), contact_id, change)
        with _read_back(f"contact {contact_id} was updated"):
            return self._contact(contact_id)

    def set_contact_active(self, contact: PsaContact, active: bool) -> PsaContact:
        contact_id = _record_id(contact.id, "contact")
        contacts.set_active(self.client, _record_id(contact.company_id, "company"), contact_id, active)
        with _read_back(f"contact {contact_id} was {'reactivated' if active else 'inactivated'}"):
            return self._contact(contact_id)

    def _contact(self, contact_id: int) -> PsaContact:
        found = contacts.read_contact(self.client, contact_id)
        if found is None:
            raise AutotaskNotFound(f"contact {contact_id}")
        return found

    def _main_line(self, cs: dict[str, Any], rows: list[UnitRow]) -> Line:
        return decoded(f"contract service {cs.get('id')}", self._decode_main_line, cs, rows)

    @staticmethod
    def _decode_main_line(cs: dict[str, Any], rows: list[UnitRow]) -> Line:
        s = span(rows)
        contract = limits.record_id(cs.get("contractID"), "its contractID")
        service = limits.record_id(cs.get("serviceID"), "its serviceID")
        return Line(id=str(cs["id"]), agreement_id=str(contract), product_id=str(service),
                    kind=LineKind.MAIN, quantity=s.quantity,
                    unit_price=wire.money(cs.get("unitPrice"), "unitPrice"), start=s.start, end=s.end,
                    description=str(cs.get("invoiceDescription") or ""),
                    marker=str(cs.get("internalDescription") or ""))

    def _rows(self, cs_id: int, contract_id: int) -> list[UnitRow]:
        return self._rows_by_service([cs_id], contract_id).get(cs_id, [])

    def _rows_by_service(self, cs_ids: list[int], contract_id: int) -> dict[int, list[UnitRow]]:
        if not cs_ids:
            return {}
        found = self.client.query_in("ContractServiceUnits", "contractServiceID", cs_ids,
                                     [eq("contractID", contract_id)])
        grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for record in found:
            grouped[decoded(f"ContractServiceUnits {record['id']}", _number, record.get("contractServiceID"),
                            "contractServiceID")].append(record)
        return {cs_id: decoded(f"the units of contract service {cs_id}", sorted_rows, grouped[cs_id])
                for cs_id in cs_ids}

    def _post(self, contract: dict[str, Any], cs_id: int, posts: list[tuple[date, int]]) -> None:
        for day, change in posts:
            self.client.create("V1.0/ContractServiceAdjustments",
                               {"contractID": contract["id"], "contractServiceID": cs_id,
                                "effectiveDate": wire.at_midnight(day), "unitChange": change},
                               endpoint="ContractServiceAdjustments")

    def _contract(self, agreement_id: str) -> dict[str, Any]:
        key = _record_id(agreement_id, "contract")
        with self._lock:
            cached = self._contracts.get(key)
        if cached is not None:
            return cached
        record = self.client.get("Contracts", key)
        if record is None:
            raise AutotaskNotFound(f"contract {agreement_id}")
        with self._lock:
            self._contracts[key] = record
        return record

    def _service(self, product_id: str) -> dict[str, Any]:
        key = _record_id(product_id, "service")
        with self._lock:
            cached = self._services.get(key)
        if cached is not None:
            return cached
        record = self.client.get("Services", key)
        if record is None:
            raise AutotaskNotFound(f"service {product_id}")
        with self._lock:
            self._services[key] = record
        return record

    def _contract_service(self, line: Line) -> tuple[dict[str, Any], dict[str, Any]]:
        if charges.charge_id(line.id) is not None:
            raise AutotaskUnsupportedContract(f"line {line.id} is a one-off charge; its seats cannot change")
        cs = self.client.get("ContractServices", _record_id(line.id, "contract service"))
        if cs is None:
            raise AutotaskNotFound(f"contract service {line.id}")
        return cs, self._contract(str(decoded(f"contract service {cs['id']}", _number, cs.get("contractID"),
                                              "contractID")))

    def _charge(self, line: Line, charge: int) -> Line:
        record = self.client.get("ContractCharges", charge)
        if record is None:
            raise AutotaskNotFound(f"contract charge {charge}")
        return charges.to_line(record, {}, self.currency)

    def _picklist_value(self, entity: str, field_name: str, label: str) -> int:
        value = self.client.picklist_value(entity, field_name, label)
        if value is None:
            raise AutotaskMalformedResponse(f"{entity}.{field_name} has no picklist value {label!r}")
        return value

    def _label(self, entity: str, field_name: str, value: Any) -> str:
        return self.client.picklist(entity, field_name).get(str(value), "")

    def _company_flag(self, company_id: int) -> bool:
        with self._lock:
            if company_id in self._company_no_proration:
                return self._company_no_proration[company_id]
        record = self.client.get("Companies", company_id)
        flag = record is not None and decoded(f"company {company_id}", self._flag, record)
        with self._lock:
            self._company_no_proration[company_id] = flag
        return flag

    def _agreement(self, contract: dict[str, Any], *, strict: bool) -> Agreement | None:
        company = _company_of(contract)
        disabled = (decoded(f"contract {contract.get('id')}", self._flag, contract)
                    or str(company) in self.no_proration_companies or self._company_flag(company))
        agreement = decoded(
            f"contract {contract.get('id')}", records.agreement, contract,
            type_label=self._label("Contracts", "contractType", contract.get("contractType")),
            period_label=self._label("Contracts", "contractPeriodType", contract.get("contractPeriodType")),
            status_label=self._label("Contracts", "status", contract.get("status")), prorates=not disabled,
            today=self.today(), currency=self.currency)
        if agreement is None and strict:
            raise AutotaskUnsupportedContract(f"contract {contract.get('id')} ({contract.get('contractName')!r})")
        return agreement

    def _material_code(self) -> int:
        if self.charge_billing_code_id is not None:
            return self.charge_billing_code_id
        material = self.client.picklist_value("BillingCodes", "useType", "Material Cost Code")
        codes = [] if material is None else self.client.query("BillingCodes", [eq("useType", material),
                                                                                eq("isActive", True)])
        if not codes:
            raise AutotaskNoMaterialCode()
        preferred = [c for c in codes if any(w in str(c.get("name", "")).lower() for w in ("seatsync", "prorat"))]
        self.charge_billing_code_id = int(min(preferred or codes, key=lambda c: c["id"])["id"])
        return self.charge_billing_code_id


def _record_id(value: str, what: str) -> int:
    """An id as Autotask numbers its records (ASCII digits within limits.MAX_ID), else not found."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > limits.MAX_ID:
        raise AutotaskNotFound(f"{what} {value!r}")
    return int(text)


def _owner(record: dict[str, Any], what: str, asked: Mapping[int, object]) -> int:
    """The contract a record of a ``contractID in [...]`` query belongs to: one of those asked."""
    contract = decoded(what, limits.record_id, record.get("contractID"), "its contractID")
    if contract not in asked:
        raise AutotaskMalformedResponse(f"{what} belongs to contract {contract}, which was not asked for")
    return contract


def _number(value: Any, what: str) -> int:
    """A reference to another record (0 when absent): a whole number, never a string or a float."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} is not a record id: {str(value)[:40]!r}")
    return value


def _company_of(contract: dict[str, Any]) -> int:
    return decoded(f"contract {contract.get('id')}", _number, contract.get("companyID"), "companyID")


@contextmanager
def _read_back(what: str, after_write: bool = True) -> Iterator[None]:
    """Reads that follow a write: when they fail, the write may have been applied all the
    same, so its outcome is unknown to the journal (settled by reading Autotask again)."""
    if not after_write:
        yield
        return
    try:
        yield
    except PsaMalformedResponse as error:
        raise AutotaskUnreadableAnswer(f"{what}, then: {error.detail}") from None
    except PsaUnavailable as error:
        if error.maybe_applied:
            raise
        raise AutotaskUnavailable(f"{what}, then: {error.detail}", maybe_applied=True) from None


def open_connection(settings: Mapping[str, Any], secret: Callable[[str], str], verify: bool | str) -> PsaPort:
    """The port for a stored connection (its registry fields: app/services/psa/factory.py)."""
    credentials = AutotaskCredentials(username=settings["username"], secret=secret("secret"),
                                      integration_code=settings["integration_code"],
                                      lookup_url=settings.get("lookup_url") or DEFAULT_LOOKUP_URL)
    code = settings.get("charge_billing_code_id")
    return AutotaskPsa(AutotaskClient(credentials, verify=verify), charge_billing_code_id=int(code) if code else None)
