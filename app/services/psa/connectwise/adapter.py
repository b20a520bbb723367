"""ConnectWise PSA behind the PSA port: agreements, additions and the catalog.

How the port's operations map (wire.py has the field-level decisions):

- a line is an agreement addition (``/finance/agreements/{id}/additions``);
- ``create_line``: POST an addition from ``effectiveDate`` = start;
- ``set_quantity``: PATCH ``quantity``. ConnectWise has no dated quantity
  change (``capabilities.dated_quantity_change`` is False): the new quantity
  bills from the next invoice and seatsync writes the current period's
  difference as a dated prorate/credit line itself;
- ``add_dated_line``: an addition from the first to the last day, billed in
  full (``prorateCurrentPeriodFlag`` false) for exactly the amount;
- ``cancel_line``: PATCH ``cancelledDate`` = effective - 1 day (the last
  billed day); a line cancelled on or before its first day never billed and
  is deleted instead (ConnectWise refuses a cancelled date before the
  effective date);
- ``update_description``: PATCH ``invoiceDescription``.

A write's answer that cannot be read as the addition written (not JSON, no
id, a field of the wrong type) is ``PsaUnreadableAnswer``: ConnectWise has
the request and may have applied it, so the journal settles it by reading.

Main lines are written as asked: on a prorating agreement ConnectWise
prorates a main line whose effective date falls mid-period, so the plan
should start a new main line at the next period when it writes the current
period's prorate line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from app.billing.types import Agreement, Line, LineKind, Product
from app.services.psa.connectwise import contacts
from app.services.psa.connectwise.client import ConnectWiseClient, ConnectWiseCredentials
from app.services.psa.connectwise.wire import (
    agreement_from,
    check_text,
    company_from,
    dated_body,
    dated_description,
    decoded,
    iso,
    line_from,
    main_body,
    product_from,
)
from app.services.psa.port import (
    Capabilities,
    ContactChange,
    NewContact,
    NewLine,
    PsaCompany,
    PsaContact,
    PsaMalformedResponse,
    PsaNotFound,
    PsaPort,
    PsaUnreadableAnswer,
    PsaValidationError,
    check_contact_fields,
    check_dated_line,
    lines_one_by_one,
)

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(
    concurrent_line_writes=True,  # each addition is a record of its own: POST or PATCH by its id
    dated_quantity_change=False,
    dated_lines=True,
    cancel_from_date=True,
    max_description_length=6000,
    marker_field="serialNumber",
    max_marker_length=50,
)
COMPANY_FIELDS = "id,identifier,name,status,website,deletedFlag,customFields"
AGREEMENT_FIELDS = ("id,name,type,company,startDate,billingCycle,invoicingCycle,prorateFlag,agreementStatus,"
                    "cancelledFlag,currency")
CATALOG_FIELDS = "id,identifier,description,customerDescription,price,cost,inactiveFlag,productClass"


class ConnectWisePsa:
    """The PsaPort for one ConnectWise site."""

    name = "connectwise"
    capabilities = CAPABILITIES

    @property
    def concurrency(self) -> int:
        return self.client.http.max_concurrency

    def __init__(self, client: ConnectWiseClient, *, domains_field: str = "M365 Domains") -> None:
        self.client = client
        self.domains_field = domains_field

    @classmethod
    def connect(cls, credentials: ConnectWiseCredentials, *, verify: bool | str = True,
                domains_field: str = "M365 Domains") -> ConnectWisePsa:
        return cls(ConnectWiseClient(credentials, verify=verify), domains_field=domains_field)

    def close(self) -> None:
        self.client.close()

    # -- reads --------------------------------------------------------------

    def test_connection(self) -> None:
        """Discover the codebase, then check the keys and each module seatsync reads."""
        self.client.count("/company/companies")
        self.client.count("/finance/agreements")
        self.client.count("/procurement/catalog")

    def list_companies(self) -> list[PsaCompany]:
        records = self.client.list("/company/companies", conditions="deletedFlag=false", fields=COMPANY_FIELDS)
        return [decoded("a company", company_from, r, self.domains_field) for r in records]

    def list_agreements(self, company_id: str | None = None) -> list[Agreement]:
        conditions = None
        if company_id is not None:
            if not company_id.isdigit():
                return []
            conditions = f"company/id={int(company_id)}"
        agreements = []
        for record in self.client.list("/finance/agreements", conditions=conditions, fields=AGREEMENT_FIELDS):
            agreement = decoded("an agreement", agreement_from, record)
            if agreement is None:
                log.info("ConnectWise agreement %s bills on the %r cycle, which seatsync does not bill; left out",
                         record.get("id"), record.get("billingCycle"))
                continue
            agreements.append(agreement)
        return agreements

    def list_products(self) -> list[Product]:
        products = (decoded("a catalog item", product_from, r)
                    for r in self.client.list("/procurement/catalog", fields=CATALOG_FIELDS))
        return [p for p in products if p is not None]

    def list_lines(self, agreement_id: str, product_ids: Iterable[str] | None = None) -> list[Line]:
        parent = _agreement_number(agreement_id)
        conditions = None
        if product_ids is not None:
            wanted = sorted({int(p) for p in product_ids if str(p).isdigit()})
            if not wanted:
                return []
            conditions = f"product/id in ({','.join(map(str, wanted))})"
        records = self.client.list(f"/finance/agreements/{parent}/additions", conditions=conditions)
        if not records:
            # An empty list may also mean "no such agreement" on some sites: ask.
            self.client.get(f"/finance/agreements/{parent}", {"fields": "id"})
        return [decoded(f"an addition of agreement {agreement_id}", line_from, r, agreement_id) for r in records]

    def list_lines_of(self, agreement_ids: Sequence[str]) -> dict[str, list[Line]]:
        """One request per agreement: ConnectWise reads additions under their agreement only."""
        return lines_one_by_one(self, agreement_ids)

    # -- writes -------------------------------------------------------------

    def create_line(self, line: NewLine) -> Line:
        if line.kind is not LineKind.MAIN:
            raise ValueError("create_line writes main lines; use add_dated_line for prorate and credit lines")
        if line.quantity < 0:
            raise ValueError(f"a main line cannot have a negative quantity ({line.quantity})")
        return self._post(line, main_body(line))

    def add_dated_line(self, line: NewLine) -> Line:
        check_dated_line(line)
        return self._post(line, dated_body(line))

    def _post(self, line: NewLine, body: dict[str, object]) -> Line:
        parent = _agreement_number(line.agreement_id)
        try:
            record = self.client.post(f"/finance/agreements/{parent}/additions", body)
        except PsaValidationError as error:
            raise PsaValidationError(f"ConnectWise refused the line for product id {line.product_id} on "
                                     f"agreement {line.agreement_id}: {error.detail}") from error
        return _written(record, f"POST {_ADDITIONS} (the line for product id {line.product_id})", line.agreement_id)

    def set_quantity(self, line: Line, quantity: int, effective: date) -> Line:
        if quantity < 0:
            raise ValueError(f"a line's quantity cannot be negative ({quantity})")
        return self._patch(line, [{"op": "replace", "path": "quantity", "value": quantity}])

    def cancel_line(self, line: Line, effective: date) -> Line:
        last = effective - timedelta(days=1)
        if line.start is not None and effective <= line.start:
            self.client.delete(self._path(line))
            return replace(line, end=last)
        return self._patch(line, [{"op": "replace", "path": "cancelledDate", "value": iso(last)}])

    def update_description(self, line: Line, description: str) -> Line:
        if line.kind is not LineKind.MAIN and line.start is not None and line.end is not None:
            description = dated_description(description, line.kind, line.quantity, line.unit_price,
                                            line.start, line.end)
        check_text(description, line.marker)
        return self._patch(line, [{"op": "replace", "path": "invoiceDescription", "value": description}])

    def set_marker(self, line: Line, marker: str) -> Line:
        return self._patch(line, [{"op": "replace", "path": "serialNumber", "value": marker}])

    def _patch(self, line: Line, operations: list[dict[str, object]]) -> Line:
        record = self.client.patch(self._path(line), operations)
        return _written(record, f"PATCH {_ADDITIONS}/{{id}} (addition {line.id})", line.agreement_id)

    # -- contacts (contacts.py) ------------------------------------------------

    def list_contacts(self, company_id: str) -> list[PsaContact]:
        return contacts.list_contacts(self.client, company_id)

    def create_contact(self, contact: NewContact) -> PsaContact:
        check_contact_fields(self.capabilities, contact.given())
        return contacts.create_contact(self.client, contact)

    def update_contact(self, contact: PsaContact, change: ContactChange) -> PsaContact:
        check_contact_fields(self.capabilities, change.given())
        return contacts.update_contact(self.client, contact, change)

    def set_contact_active(self, contact: PsaContact, active: bool) -> PsaContact:
        return contacts.set_contact_active(self.client, contact, active)

    @staticmethod
    def _path(line: Line) -> str:
        if not line.id.isdigit():
            raise PsaNotFound(f"line {line.id!r} is not a ConnectWise addition id")
        return f"/finance/agreements/{_agreement_number(line.agreement_id)}/additions/{int(line.id)}"


def _agreement_number(agreement_id: str) -> int:
    if not str(agreement_id).isdigit():
        raise PsaNotFound(f"agreement {agreement_id!r} is not a ConnectWise agreement id")
    return int(agreement_id)


_ADDITIONS = "/finance/agreements/{id}/additions"


def _written(record: object, request: str, agreement_id: str) -> Line:
    """The addition a write answered with; an answer that does not read as one leaves the
    write's outcome unknown (ConnectWise has the request and may have applied it)."""
    if not isinstance(record, dict):
        raise PsaUnreadableAnswer(f"ConnectWise answered {request} with {str(record)[:60]!r} "
                                  "instead of the addition")
    try:
        return decoded("the addition", line_from, record, agreement_id)
    except PsaMalformedResponse as error:
        raise PsaUnreadableAnswer(f"ConnectWise answered {request} with an addition seatsync cannot read: "
                                  f"{error.detail}") from None


def open_connection(settings: Mapping[str, Any], secret: Callable[[str], str], verify: bool | str) -> PsaPort:
    """The port for a stored connection (its registry fields: app/services/psa/factory.py)."""
    return ConnectWisePsa.connect(ConnectWiseCredentials(
        site=settings["site"], company_id=settings["company_id"], public_key=settings["public_key"],
        private_key=secret("private_key"), client_id=settings["client_id"]), verify=verify,
        domains_field=settings.get("domains_field") or "M365 Domains")
