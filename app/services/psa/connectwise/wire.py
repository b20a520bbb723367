"""ConnectWise's wire format: its JSON, and its records <-> the port's values
(field names: tests/specs/connectwise.subset.json).

JSON numbers are read as Decimal and written exactly (``encode``), as
``str(Decimal)`` gives them: money never passes through a binary float.

Decisions recorded here:

- Company domains: the host of ``website`` (without "www.") plus the
  words of the custom field captioned "M365 Domains" (configurable),
  separated by commas, semicolons or spaces. ConnectWise has no domain field;
  a custom field is what MSPs add for this.
- Agreement cycle from ``billingCycle.name`` (ConnectWise's default cycle
  names "Monthly" and "Yearly"; "Annual" is read too). Agreements on other
  cycles (quarterly, weekly, ...) are left out: seatsync bills monthly and
  annual periods only. The anchor is the calendar, except a yearly agreement
  whose ``invoicingCycle`` is ContractYear, which runs from its start date.
- Product description: the catalog item's ``customerDescription`` (what
  ConnectWise itself puts on an invoice line), else its ``description``.
  Bundles are left out (they cannot be agreement additions).
- Lines are agreement additions; the marker is ``serialNumber`` (50
  characters), the description ``invoiceDescription`` (6,000 characters).
- Dated (prorate/credit) lines are additions from ``effectiveDate`` = first
  day to ``cancelledDate`` = last day, with ``prorateCurrentPeriodFlag``
  false so ConnectWise bills them in full and does not prorate them again.
  When the amount divides exactly into cents per seat they are written as
  ``quantity = ±seats`` × ``unitPrice = amount / seats``; otherwise as
  ``quantity = ±1`` × ``unitPrice = |amount|`` (a per-seat price would need
  fractions of a cent and the invoice would not add up to the amount).
  Either way ``extPrice`` is exactly the amount, and the invoice description
  ends with a line such as "Prorated: 3 seats at 12.00 from 2025-03-10 to
  2025-03-31" (or "Credited: ..."), which says what the charge is and lets
  seatsync read the seats, seat price and kind back.
- A record seatsync cannot read (an id that is not a positive number, a
  quantity beyond any tenant's seats, a price that is not a number, a date
  that does not parse, a field of the wrong type) is ``PsaMalformedResponse``
  naming the record and the field; nothing else escapes these functions.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app import jsoncodec
from app.billing.money import to_money
from app.billing.types import (
    Agreement,
    AgreementStatus,
    Anchor,
    BillingOption,
    Cycle,
    Line,
    LineKind,
    Product,
)
from app.services.psa import limits
from app.services.psa.port import NewLine, PsaCompany, PsaError, PsaMalformedResponse, PsaValidationError

MAX_DESCRIPTION = 6000
MAX_SERIAL = 50
CENT = Decimal("0.01")
BILL_CUSTOMER = {BillingOption.BILLABLE: "Billable", BillingOption.NON_BILLABLE: "DoNotBill",
                 BillingOption.NO_CHARGE: "NoCharge"}
CYCLES = {"monthly": Cycle.MONTHLY, "yearly": Cycle.ANNUAL, "annual": Cycle.ANNUAL, "annually": Cycle.ANNUAL}
STATUSES = {"active": AgreementStatus.ACTIVE, "inactive": AgreementStatus.INACTIVE,
            "cancelled": AgreementStatus.CANCELLED, "expired": AgreementStatus.EXPIRED}
_DATED = re.compile(r"(?:^|\n)(Prorated|Credited): (\d+) seats? at (\d+(?:\.\d+)?) "
                    r"from (\d{4}-\d{2}-\d{2}) to (\d{4}-\d{2}-\d{2})$")


def encode(payload: Any) -> bytes:
    """A request body: JSON with Decimal written digit for digit; a float is refused."""
    return jsoncodec.dumps(payload, compact=False, ensure_ascii=False).encode("utf-8")


def iso(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def parse_day(value: Any, what: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        if not isinstance(value, str):
            raise TypeError(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date() if "T" in value \
            else date.fromisoformat(value)
    except (TypeError, ValueError):
        raise PsaMalformedResponse(f"ConnectWise sent {what} as {limits.short(value)}, which is not a date") from None


def _ref_id(record: dict[str, Any], name: str, what: str) -> str:
    ref = record.get(name)
    if not isinstance(ref, dict) or ref.get("id") is None:
        raise PsaMalformedResponse(f"ConnectWise sent {what} without its {name}")
    try:
        return str(limits.record_id(ref["id"], f"the {name} of {what}"))
    except ValueError as error:
        raise PsaMalformedResponse(f"in ConnectWise, {error}") from None


def _id(record: dict[str, Any], what: str) -> str:
    if record.get("id") is None:
        raise PsaMalformedResponse(f"ConnectWise sent {what} without an id")
    try:
        return str(limits.record_id(record["id"], what))
    except ValueError as error:
        raise PsaMalformedResponse(f"in ConnectWise, {error}") from None


def _number_id(record: dict[str, Any], field: str, what: str) -> str:
    try:
        return str(limits.record_id(record[field], f"the {field} of {what}"))
    except ValueError as error:
        raise PsaMalformedResponse(f"in ConnectWise, {error}") from None


def _name(record: dict[str, Any], field: str, what: str, key: str = "name") -> str:
    """``record[field][key]`` of a reference such as ``{"id": 1, "name": "Monthly"}`` ("" when absent)."""
    ref = record.get(field)
    if ref is None:
        return ""
    if not isinstance(ref, dict):
        raise PsaMalformedResponse(f"ConnectWise sent the {field} of {what} as {limits.short(ref)}, not a reference")
    return _text(ref, key, f"the {field} of {what}")


def _text(record: dict[str, Any], field: str, what: str) -> str:
    """``record[field]`` as text ("" when absent or null); any other type is a malformed record."""
    value = record.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PsaMalformedResponse(f"ConnectWise sent the {field} of {what} as {limits.short(value)}, not text")
    return value


def _flag(record: dict[str, Any], field: str, what: str) -> bool:
    """``record[field]`` as a boolean (false when absent or null); any other type is a malformed record."""
    value = record.get(field)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise PsaMalformedResponse(f"ConnectWise sent the {field} of {what} as {limits.short(value)}, "
                                   "not true or false")
    return value


def decoded(what: str, decode: Any, *args: Any) -> Any:
    """``decode(*args)``, with any slip on an unexpected shape named as a malformed record."""
    try:
        return decode(*args)
    except PsaError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError, ArithmeticError):
        raise PsaMalformedResponse(f"ConnectWise sent {what} with a field seatsync cannot read") from None


def company_from(record: dict[str, Any], domains_field: str) -> PsaCompany:
    cid = _id(record, "a company")
    what = f"company {cid}"
    domains: list[str] = []
    website = _text(record, "website", what).strip().lower()
    if website:
        host = re.sub(r"^[a-z]+://", "", website).split("/")[0].split(":")[0]
        domains.append(host.removeprefix("www."))
    customs = record.get("customFields") or []
    if not isinstance(customs, list):
        raise PsaMalformedResponse(f"ConnectWise sent the customFields of {what} as {limits.short(customs)}, "
                                   "not a list")
    for custom in customs:
        if isinstance(custom, dict) and str(custom.get("caption", "")).casefold() == domains_field.casefold():
            value = custom.get("value")
            words = value if isinstance(value, str) else ""  # a custom field of another type holds no domains
            domains.extend(d.lower() for d in re.split(r"[,;\s]+", words) if d)
    status = _name(record, "status", what).casefold()
    return PsaCompany(id=cid, name=_text(record, "name", what), identifier=_text(record, "identifier", what),
                      domains=tuple(dict.fromkeys(d for d in domains if "." in d)),
                      active=not _flag(record, "deletedFlag", what) and status != "inactive")


def agreement_from(record: dict[str, Any]) -> Agreement | None:
    """The agreement, or None when it bills on a cycle seatsync does not handle."""
    aid = _id(record, "an agreement")
    cycle = CYCLES.get(_name(record, "billingCycle", f"agreement {aid}").casefold())
    if cycle is None:
        return None
    what = f"agreement {aid}"
    status = STATUSES.get((_text(record, "agreementStatus", what) or "active").casefold(), AgreementStatus.INACTIVE)
    if _flag(record, "cancelledFlag", what):
        status = AgreementStatus.CANCELLED
    anchor = Anchor.ANNIVERSARY if cycle is Cycle.ANNUAL and _text(record, "invoicingCycle", what) == "ContractYear" \
        else Anchor.CALENDAR
    start = parse_day(record.get("startDate"), f"the start date of agreement {aid}")
    return Agreement(id=aid, company_id=_ref_id(record, "company", what),
                     name=_text(record, "name", what), type_name=_name(record, "type", what),
                     cycle=cycle, anchor=anchor, start=start or date(2000, 1, 1),
                     prorates=_flag(record, "prorateFlag", what), status=status,
                     currency=_name(record, "currency", what, "currencyCode") or "USD")


def product_from(record: dict[str, Any]) -> Product | None:
    """The catalog item, or None for a bundle (bundles cannot be additions)."""
    pid = _id(record, "a catalog item")
    what = f"product {pid}"
    if _text(record, "productClass", what) == "Bundle":
        return None
    description = _text(record, "customerDescription", what).strip() or _text(record, "description", what)
    return Product(id=pid, identifier=_text(record, "identifier", what), description=description,
                   price=_money(record.get("price"), f"the price of product {pid}"),
                   cost=_money(record.get("cost"), f"the cost of product {pid}"),
                   active=not _flag(record, "inactiveFlag", what))


def _money(value: Any, what: str) -> Decimal:
    return _number(value, what, limits.amount)


def _quantity(value: Any, what: str) -> int:
    return _number(value, what, limits.seats)


def _number(value: Any, what: str, bound: Any) -> Any:
    """``value`` (absent: 0) as a number within ``bound`` (a ``limits`` check), or a malformed record."""
    try:
        number = Decimal(0) if value is None else to_money(value)
    except (TypeError, ValueError, ArithmeticError):
        raise PsaMalformedResponse(f"ConnectWise sent {what} as {limits.short(value)}, which is not a number") from None
    try:
        return bound(number, what)
    except ValueError as error:
        raise PsaMalformedResponse(f"in ConnectWise, {error}") from None


def main_body(line: NewLine) -> dict[str, Any]:
    check_text(line.description, line.marker)
    body: dict[str, Any] = {
        "product": {"id": _numeric(line.product_id, "product")}, "quantity": line.quantity,
        "unitPrice": to_money(line.unit_price), "billCustomer": BILL_CUSTOMER[line.billing_option],
        "effectiveDate": iso(line.start), "serialNumber": line.marker, "invoiceDescription": line.description,
    }
    if line.end is not None:
        body["cancelledDate"] = iso(line.end)
    return body


def dated_body(line: NewLine) -> dict[str, Any]:
    assert line.amount is not None and line.end is not None  # checked by check_dated_line
    amount = to_money(line.amount)
    per_seat = amount / line.quantity
    exact = per_seat == per_seat.quantize(CENT) and per_seat * line.quantity == amount
    if exact:
        quantity, unit = line.quantity, per_seat.quantize(CENT)
    else:
        quantity, unit = (1 if line.quantity > 0 else -1), abs(amount)
    description = dated_description(line.description, line.kind, line.quantity, to_money(line.unit_price),
                                    line.start, line.end)
    check_text(description, line.marker)
    return {"product": {"id": _numeric(line.product_id, "product")}, "quantity": quantity, "unitPrice": unit,
            "billCustomer": BILL_CUSTOMER[line.billing_option], "effectiveDate": iso(line.start),
            "cancelledDate": iso(line.end), "prorateCurrentPeriodFlag": False, "serialNumber": line.marker,
            "invoiceDescription": description}


def dated_description(text: str, kind: LineKind, quantity: int, unit_price: Decimal, start: date, end: date) -> str:
    seats = abs(quantity)
    label = "Credited" if kind is LineKind.CREDIT else "Prorated"
    tail = f"{label}: {seats} seat{'s' if seats != 1 else ''} at {unit_price} from {start} to {end}"
    room = MAX_DESCRIPTION - len(tail) - 1
    if not text:
        return tail
    return f"{text if len(text) <= room else text[: room - 1] + '…'}\n{tail}"


def check_text(description: str, marker: str) -> None:
    if len(description) > MAX_DESCRIPTION:
        raise PsaValidationError(f"description is {len(description)} characters; ConnectWise keeps at most "
                                 f"{MAX_DESCRIPTION} in invoiceDescription")
    if len(marker) > MAX_SERIAL:
        raise PsaValidationError(f"marker {marker!r} is longer than the {MAX_SERIAL} characters of serialNumber")


def _numeric(value: str, what: str) -> int:
    if not str(value).isdigit():
        raise PsaError(f"{value!r} is not a ConnectWise {what} id")
    return int(value)


def line_from(record: dict[str, Any], agreement_id: str) -> Line:
    lid = _id(record, f"an addition of agreement {agreement_id}")
    what = f"addition {lid}"
    quantity = _quantity(record.get("quantity"), f"the quantity of {what}")
    unit_price = _money(record.get("unitPrice"), f"the unit price of {what}")
    marker = _text(record, "serialNumber", what)
    description = _text(record, "invoiceDescription", what)
    parent = agreement_id if record.get("agreementId") in (None, "", 0) else _number_id(record, "agreementId", what)
    line = Line(id=lid, agreement_id=parent,
                product_id=_ref_id(record, "product", what), quantity=quantity, unit_price=unit_price,
                start=parse_day(record.get("effectiveDate"), f"the effective date of {what}"),
                end=parse_day(record.get("cancelledDate"), f"the cancelled date of {what}"),
                description=description, marker=marker)
    match = _DATED.search(description) if line.owned else None
    if match is None:
        return line
    label, seats, seat_price = match.group(1), int(match.group(2)), Decimal(match.group(3))
    kind = LineKind.CREDIT if label == "Credited" else LineKind.PRORATE
    amount = (_money(record.get("quantity"), what) * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)
    return Line(id=line.id, agreement_id=line.agreement_id, product_id=line.product_id, kind=kind,
                quantity=-seats if kind is LineKind.CREDIT else seats, unit_price=seat_price, start=line.start,
                end=line.end, description=description[: match.start()], marker=marker, amount=amount)
