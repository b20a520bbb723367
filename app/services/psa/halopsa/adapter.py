"""HaloPSA behind the PSA port.

Agreements are ClientContracts; their lines are the lines of the client's
recurring invoice for that contract (one is created when the contract has
none). Halo has no dated quantity change: ``set_quantity`` sets ``qty_order``
(billed from the next invoice Halo creates) and the partial period is billed
by the dated one-time line seatsync writes with ``add_dated_line``. Every
write sends ``_updateprorata: false`` so Halo never adds a pro-rata of its own
on top of seatsync's (README.md beside this file).

A write's answer that cannot be read as the line written leaves the write's
outcome unknown (``HaloUnreadableAnswer``, maybe applied): the sync journal
settles it by reading Halo.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from app.billing.types import Agreement, BillingOption, Cycle, Line, LineKind, Product
from app.services.psa.halopsa import contacts, wire
from app.services.psa.halopsa.client import SCOPES, HaloClient, HaloConfig
from app.services.psa.halopsa.errors import (
    HaloInactiveItem,
    HaloMalformedResponse,
    HaloNotFound,
    HaloUnreadableAnswer,
)
from app.services.psa.halopsa.wire import (
    MARKER_FIELD,
    MAX_DESCRIPTION,
    MAX_MARKER,
    PRORATE_FIELD,
    agreement_from,
    company_from,
    decoded,
    line_from,
    per_seat_price,
    product_from,
    split_description,
)
from app.services.psa.port import (
    Capabilities,
    ContactChange,
    NewContact,
    NewLine,
    PsaCompany,
    PsaContact,
    PsaMalformedResponse,
    PsaPort,
    check_contact_fields,
    check_dated_line,
    lines_one_by_one,
)

CLIENTS, CONTRACTS, ITEMS, INVOICES = "/Client", "/ClientContract", "/Item", "/RecurringInvoice"


class HaloPsaAdapter:
    """The PSA port on a ``HaloClient``."""

    name = "halopsa"
    capabilities = Capabilities(
        dated_quantity_change=False,  # qty_order has no date: emulated with a dated one-time line
        dated_lines=True,  # one-time charge lines with startdate/enddate
        cancel_from_date=True,  # enddate
        max_description_length=MAX_DESCRIPTION,
        marker_field=MARKER_FIELD,
        max_marker_length=MAX_MARKER,
    )

    @property
    def concurrency(self) -> int:
        return self.client.http.max_concurrency

    def __init__(self, client: HaloClient, *, today: Callable[[], date] = date.today, currency: str = "USD",
                 billing_periods: dict[int, Cycle] | None = None, prorate_field: str = PRORATE_FIELD) -> None:
        self.client = client
        self.today = today
        self.currency = currency
        self.periods = dict(billing_periods or wire.BILLING_PERIODS)
        self.prorate_field = prorate_field
        self._lock = threading.Lock()
        self._invoice_of: dict[str, int] = {}  # contract id -> recurring invoice id
        self._home: dict[str, tuple[int, str]] = {}  # line id -> (invoice id, contract id)
        self._products: dict[str, Product] = {}  # from the last list_products

    def close(self) -> None:
        self.client.close()

    # -- reads -------------------------------------------------------------------

    def test_connection(self) -> None:
        """Signs in, then reads one record of each area seatsync uses."""
        for path, key in ((CLIENTS, "clients"), (CONTRACTS, "contracts"), (ITEMS, "items"),
                          (INVOICES, "invoices")):
            data = self.client.request("GET", path, params={"pageinate": "true", "page_size": 1, "page_no": 1})
            if not isinstance(data, dict) or key not in data:
                raise HaloMalformedResponse(f"(GET {path} answered without its {key!r} list)")

    def list_companies(self) -> list[PsaCompany]:
        records = self.client.list(CLIENTS, "clients", {"includeinactive": "true", "includeazuretenants": "true"})
        return [decoded("client", company_from, r) for r in records]

    def list_agreements(self, company_id: str | None = None) -> list[Agreement]:
        params: dict[str, Any] = {"includeinactive": "true"}
        if company_id is not None:
            params["client_id"] = _int_id(company_id, "client")
        today = self.today()
        return [decoded("contract", agreement_from, r, today=today, currency=self.currency, periods=self.periods,
                        prorate_field=self.prorate_field)
                for r in self.client.list(CONTRACTS, "contracts", params)]

    def list_products(self) -> list[Product]:
        # Item records carry no documented active flag; Halo's own filter
        # (includeinactive) tells them apart.
        active = {str(r.get("id")) for r in self.client.list(ITEMS, "items")}
        products = [decoded("item", product_from, r, active=str(r.get("id")) in active)
                    for r in self.client.list(ITEMS, "items", {"includeinactive": "true"})]
        with self._lock:
            self._products = {p.id: p for p in products}
        return products

    def list_lines(self, agreement_id: str, product_ids: Iterable[str] | None = None) -> list[Line]:
        contract = _int_id(agreement_id, "contract")
        headers = self._headers(contract, lines=True)
        if not headers:
            self.client.get(CONTRACTS, contract)  # HaloNotFound when the contract is gone
        wanted = None if product_ids is None else {str(p) for p in product_ids}
        today = self.today()
        lines: list[Line] = []
        with self._lock:
            if headers:
                self._invoice_of[str(contract)] = min(h["id"] for h in headers)
            else:  # deleted in Halo since it was cached: create_line makes a new one
                self._invoice_of.pop(str(contract), None)
            for header in headers:
                raw = header.get("lines") or []
                if not isinstance(raw, list):
                    raise HaloMalformedResponse(f"(recurring invoice {header.get('id')}: lines is not a list)")
                for record in raw:
                    line = decoded("line", line_from, record, agreement_id=str(contract), today=today,
                                   currency=self.currency)
                    self._home[line.id] = (header["id"], str(contract))
                    if wanted is None or line.product_id in wanted:
                        lines.append(line)
        return lines

    def list_lines_of(self, agreement_ids: Sequence[str]) -> dict[str, list[Line]]:
        """One contract at a time: /RecurringInvoice filters by one contract_id (client_ids would
        read every invoice of the contracts' clients, and an unknown contract still needs its own GET)."""
        return lines_one_by_one(self, agreement_ids)

    # -- writes ------------------------------------------------------------------

    def create_line(self, line: NewLine) -> Line:
        if line.kind is not LineKind.MAIN:
            raise ValueError("create_line writes main lines; prorate and credit lines go through add_dated_line")
        if line.quantity < 0:
            raise ValueError(f"a main line cannot have a negative quantity ({line.quantity})")
        self._check_item(line.product_id)
        unit = line.unit_price if line.billing_option is BillingOption.BILLABLE else Decimal(0)
        body = self._new_line_body(line, quantity=line.quantity, unit_price=unit)
        if line.end is not None:
            body["enddate"] = line.end
        return self._add(line.agreement_id, body)

    def add_dated_line(self, line: NewLine) -> Line:
        check_dated_line(line)
        assert line.amount is not None and line.end is not None
        self._check_item(line.product_id)
        billable = line.billing_option is BillingOption.BILLABLE
        amount = line.amount if billable else Decimal(0)
        body = self._new_line_body(line, quantity=line.quantity,
                                   unit_price=per_seat_price(amount, line.quantity, self.currency))
        # A one-time charge bills once, on the next invoice, for exactly
        # quantity × unit_price; baseprice keeps the full-period seat price.
        body.update(onetimecharge=True, baseprice=line.unit_price, enddate=line.end)
        return self._add(line.agreement_id, body)

    def set_quantity(self, line: Line, quantity: int, effective: date) -> Line:
        # Halo's qty_order has no effective date: the next invoice Halo creates
        # bills the new quantity; seatsync's dated line bills [effective, period end].
        if quantity < 0:
            raise ValueError(f"a line's quantity cannot be negative ({quantity})")
        return self._update(line, {"qty_order": quantity})

    def cancel_line(self, line: Line, effective: date) -> Line:
        last = effective - timedelta(days=1)
        changes: dict[str, Any] = {"enddate": last}
        # Halo stops billing after enddate; isinactive also takes the line off
        # the recurring invoice once that day has passed (a future end keeps it
        # active until then). A one-time line cannot bill in part: it goes whole.
        if last < self.today() or line.kind is not LineKind.MAIN:
            changes["isinactive"] = True
        return self._update(line, changes)

    def update_description(self, line: Line, description: str) -> Line:
        short, details = split_description(description)
        return self._update(line, {"item_shortdescription": short, "item_longdescription": details})

    def set_marker(self, line: Line, marker: str) -> Line:
        return self._update(line, {MARKER_FIELD: marker})

    # -- contacts (contacts.py) ------------------------------------------------------

    def list_contacts(self, company_id: str) -> list[PsaContact]:
        try:
            client = _int_id(company_id, "client")
        except HaloNotFound:
            return []
        return contacts.list_contacts(self.client, client)

    def create_contact(self, contact: NewContact) -> PsaContact:
        check_contact_fields(self.capabilities, contact.given())
        return contacts.create_contact(self.client, _int_id(contact.company_id, "client"), contact)

    def update_contact(self, contact: PsaContact, change: ContactChange) -> PsaContact:
        check_contact_fields(self.capabilities, change.given())
        return contacts.update_contact(self.client, _int_id(contact.id, "user"), contact, change)

    def set_contact_active(self, contact: PsaContact, active: bool) -> PsaContact:
        return contacts.set_active(self.client, _int_id(contact.id, "user"), active)

    # -- helpers -----------------------------------------------------------------

    def _check_item(self, product_id: str) -> None:
        """Refuse an inactive item by name before writing (Halo's API is not
        documented to refuse it, and its UI never offers one)."""
        with self._lock:
            known = self._products.get(product_id)
        if known is None or not known.active:
            self.list_products()  # the catalog may have changed since it was read
            with self._lock:
                known = self._products.get(product_id)
        if known is None:
            raise HaloNotFound(f"(item {product_id} is not in Halo's item list)")
        if not known.active:
            raise HaloInactiveItem(f"(item {known.identifier!r}, id {known.id})")

    def _new_line_body(self, line: NewLine, *, quantity: int, unit_price: Decimal) -> dict[str, Any]:
        short, details = split_description(line.description)
        body: dict[str, Any] = {
            "_itemid": _int_id(line.product_id, "item"), "qty_order": quantity, "unit_price": unit_price,
            "item_shortdescription": short, "item_longdescription": details, "startdate": line.start,
            MARKER_FIELD: line.marker, "isinactive": False, "onetimecharge": False, "_updateprorata": False,
        }
        if line.billing_option is BillingOption.NON_BILLABLE:
            body["hide_on_pdf"] = True
        return body

    def _add(self, agreement_id: str, body: dict[str, Any]) -> Line:
        ihid = self._invoice_for(agreement_id)
        saved = self.client.post(f"{INVOICES}/Lines", [{"ihid": ihid, **body}])[0]
        return self._remember(saved, ihid, str(_int_id(agreement_id, "contract")), f"POST {INVOICES}/Lines")

    def _update(self, line: Line, changes: dict[str, Any]) -> Line:
        ihid, contract = self._home_of(line)
        body = {"id": _int_id(line.id, "recurring invoice line"), "ihid": ihid, **changes, "_updateprorata": False}
        saved = self.client.post(f"{INVOICES}/updatelines", [body])[0]
        return self._remember(saved, ihid, contract, f"POST {INVOICES}/updatelines")

    def _remember(self, saved: dict[str, Any], ihid: int, contract: str, request: str) -> Line:
        """The line a write answered with; one that does not read leaves the write's outcome unknown."""
        try:
            line = decoded("line", line_from, saved, agreement_id=contract, today=self.today(),
                           currency=self.currency)
        except PsaMalformedResponse as error:
            raise HaloUnreadableAnswer(f"({request} answered with a line seatsync cannot read: "
                                       f"{error.detail.strip('()')})") from None
        with self._lock:
            self._home[line.id] = (ihid, contract)
        return line

    def _home_of(self, line: Line) -> tuple[int, str]:
        with self._lock:
            home = self._home.get(line.id)
        if home is None:
            self.list_lines(line.agreement_id)
            with self._lock:
                home = self._home.get(line.id)
        if home is None:
            raise HaloNotFound(f"(line {line.id} is not on contract {line.agreement_id}'s recurring invoice)")
        return home

    def _headers(self, contract: int, *, lines: bool) -> list[dict[str, Any]]:
        """The contract's recurring invoices (Halo filters by contract_id; checked again)."""
        params: dict[str, Any] = {"contract_id": contract}
        if lines:
            params["includelines"] = "true"
        headers = [h for h in self.client.list(INVOICES, "invoices", params) if h.get("contract_id") == contract]
        for header in headers:
            if isinstance(header.get("id"), bool) or not isinstance(header.get("id"), int):
                raise HaloMalformedResponse(f"(a recurring invoice of contract {contract} has no numeric id)")
        return headers

    def _invoice_for(self, agreement_id: str) -> int:
        """The contract's recurring invoice, created when it has none."""
        key = str(_int_id(agreement_id, "contract"))
        with self._lock:
            known = self._invoice_of.get(key)
        if known is not None:
            return known
        contract = int(key)
        headers = self._headers(contract, lines=False)
        if headers:
            ihid = min(h["id"] for h in headers)
        else:
            record = self.client.get(CONTRACTS, contract)
            header: dict[str, Any] = {"client_id": record.get("client_id"), "contract_id": contract,
                                      "is_recurring_invoice": True}
            if record.get("billingperiod") is not None:
                header["period"] = record["billingperiod"]
            if record.get("start_date"):
                header["startdate"] = record["start_date"]
            saved = self.client.post(INVOICES, [header])[0]
            if isinstance(saved.get("id"), bool) or not isinstance(saved.get("id"), int) or saved["id"] <= 0:
                raise HaloUnreadableAnswer(f"(POST {INVOICES}: the new recurring invoice came back without an id)")
            ihid = saved["id"]
        with self._lock:
            self._invoice_of[key] = ihid
        return ihid


def _int_id(value: str, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise HaloNotFound(f"({what} id {value!r} is not a Halo id)") from None


def open_connection(settings: Mapping[str, Any], secret: Callable[[str], str], verify: bool | str) -> PsaPort:
    """The port for a stored connection (its registry fields: app/services/psa/factory.py)."""
    config = HaloConfig(api_url=settings["api_url"], client_id=settings["client_id"],
                        client_secret=secret("client_secret"), tenant=settings.get("tenant") or None,
                        auth_url=settings.get("auth_url") or "", scope=settings.get("scope") or SCOPES)
    return HaloPsaAdapter(HaloClient(config, verify=verify))
