"""Prorate and credit lines as Autotask contract charges.

Autotask's own construct for a one-off amount on a contract's invoice is a
ContractCharge (vendor entity page "ContractCharges": billable charges appear
in Approve and Post; billableAmount = unitQuantity × unitPrice; the API rounds
unitQuantity, unitCost and unitPrice). A dated line is written as one charge:

- ``unitQuantity`` 1 and ``unitPrice`` = the line's exact amount (negative
  for a credit), so Autotask bills exactly what seatsync computed — a price
  per seat (amount / seats) would not survive Autotask's rounding to four
  decimals for large seat counts;
- ``datePurchased`` = the first day covered, which places the charge on
  that period's invoice;
- ``name`` = the first line of the description (100 characters at most) and
  ``description`` = the whole description;
- ``internalPurchaseOrderNumber`` = the marker (an internal reference field,
  50 characters, not printed on the customer's invoice [U]);
- ``notes`` = a small record of what the charge stands for (kind, seats,
  unit price, the days covered, the service), so the line can be read back
  (a value in it that does not read, or lies beyond limits.py, is taken
  from the charge itself, as a lost one is);
- ``contractServiceID`` = the row's main contract service when it exists, so
  the charge sits beside it in Autotask; ``billingCodeID`` = a Material Cost
  Code (a charge needs a product or a billing code);
- ``isBillableToCompany`` = the billing option is "billable".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from app.billing.money import round_money
from app.billing.types import BillingOption, Line, LineKind
from app.services.psa import limits
from app.services.psa.autotask import wire
from app.services.psa.port import NewLine

CHARGE_PREFIX = "charge-"
NOTES_HEAD = "seatsync dated line (do not edit)"
NAME_LENGTH = 100
_FIELD = re.compile(r"^\s*([a-z ]+):\s*(.*?)\s*$")


def line_id(charge_id: int) -> str:
    return f"{CHARGE_PREFIX}{charge_id}"


def charge_id(line_id_: str) -> int | None:
    """The charge id behind a dated line's id, or None for a contract service's id."""
    if not line_id_.startswith(CHARGE_PREFIX):
        return None
    digits = line_id_[len(CHARGE_PREFIX):]
    return int(digits) if digits.isdigit() else None


def notes(line: NewLine) -> str:
    return "\n".join((NOTES_HEAD, f"kind: {line.kind.value}", f"seats: {line.quantity}",
                      f"unit price: {line.unit_price}", f"from: {line.start.isoformat()}",
                      f"to: {line.end.isoformat() if line.end else ''}", f"service: {line.product_id}"))


def charge_body(line: NewLine, *, contract_id: int, contract_service_id: int | None, billing_code_id: int,
                charge_type: int | None, status: int | None, currency: str) -> dict[str, Any]:
    assert line.amount is not None
    name = (line.description.splitlines() or [""])[0][:NAME_LENGTH] or f"{line.kind.value} {line.start}"
    body: dict[str, Any] = {
        "contractID": contract_id,
        "name": name,
        "description": line.description,
        "datePurchased": wire.at_midnight(line.start),
        "unitQuantity": 1,
        "unitPrice": round_money(line.amount, currency),
        "unitCost": Decimal("0"),
        "isBillableToCompany": line.billing_option is BillingOption.BILLABLE,
        "billingCodeID": billing_code_id,
        "internalPurchaseOrderNumber": line.marker,
        "notes": notes(line),
    }
    if contract_service_id is not None:
        body["contractServiceID"] = contract_service_id
    if charge_type is not None:
        body["chargeType"] = charge_type
    if status is not None:
        body["status"] = status
    return body


@dataclass(frozen=True)
class _Record:
    kind: LineKind | None
    seats: int | None
    unit_price: Decimal | None
    start: date | None
    end: date | None
    service: str | None


def _parse_notes(text: str) -> _Record:
    found: dict[str, str] = {}
    for row in text.splitlines()[1:]:
        match = _FIELD.match(row)
        if match:
            found[match.group(1).strip()] = match.group(2)

    def pick(key: str, cast: Any) -> Any:
        try:
            return cast(found[key]) if found.get(key) else None
        except (ValueError, InvalidOperation):
            return None

    return _Record(kind=pick("kind", LineKind), seats=pick("seats", lambda v: limits.seats(int(v), "seats")),
                   unit_price=pick("unit price", lambda v: limits.amount(Decimal(v), "unit price")),
                   start=pick("from", date.fromisoformat), end=pick("to", date.fromisoformat),
                   service=found.get("service") or None)


def is_dated_line(record: dict[str, Any]) -> bool:
    return str(record.get("notes") or "").startswith(NOTES_HEAD)


def to_line(record: dict[str, Any], service_of_contract_service: dict[int, str], currency: str) -> Line:
    """A dated line from its charge; what the notes lost is taken from the charge itself."""
    parsed = _parse_notes(str(record.get("notes") or ""))
    amount = round_money(wire.money(record.get("billableAmount"), "billableAmount"), currency)
    kind = parsed.kind if parsed.kind in (LineKind.PRORATE, LineKind.CREDIT) else (
        LineKind.CREDIT if amount < 0 else LineKind.PRORATE)
    seats = parsed.seats if parsed.seats is not None else (-1 if kind is LineKind.CREDIT else 1)
    service = parsed.service or service_of_contract_service.get(record.get("contractServiceID") or -1, "")
    contract = limits.record_id(record.get("contractID"), "its contractID")
    return Line(id=line_id(int(record["id"])), agreement_id=str(contract), product_id=service,
                kind=kind, quantity=seats, unit_price=parsed.unit_price or Decimal("0"),
                start=parsed.start or wire.parse_day(record.get("datePurchased"), "datePurchased"),
                end=parsed.end, description=str(record.get("description") or record.get("name") or ""),
                marker=str(record.get("internalPurchaseOrderNumber") or ""), amount=amount)
