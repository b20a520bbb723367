"""Halo's wire format: JSON with exact numbers, its dates and codes, and its records as the port's values.

Halo sends money as JSON numbers (``double`` in its OpenAPI document). They
are read as ``Decimal`` and written back as plain decimal numerals
(app/jsoncodec.py), so no amount ever passes through a binary float.
Dates are ``date-time`` strings without an offset ("2024-03-01T00:00:00");
seatsync uses only their date part.

Records (see README.md beside this file for the reasons):
- companies = Clients; domains from the client's ``domain`` field (split on
  ";", "," or spaces), its Azure tenants' ``azure_tenant_domain`` and the host
  of its ``website``;
- agreements = ClientContracts; the billing cycle from ``billingperiod``, the
  period anchor from ``start_date``, the prorate setting from the contract
  custom field ``CFseatsyncProrate`` (absent: prorates);
- lines = recurring-invoice lines (InvoiceDetail); the ownership marker in
  ``comment_2``; a prorate or credit is a one-time charge line
  (``onetimecharge``) whose ``baseprice`` holds the full-period unit price.

A record that does not read (an id that is not a positive number, a
quantity beyond any tenant's seats, an amount that is not one, a date that
does not parse, a field of the wrong type) is ``HaloMalformedResponse``
naming the record and the field, the value quoted escaped (``decoded``
catches anything a check missed, without the field).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit

from app import jsoncodec
from app.billing.money import minor_unit, round_money
from app.billing.types import Agreement, AgreementStatus, Anchor, Cycle, Line, LineKind, Product
from app.services.psa import limits
from app.services.psa.halopsa.errors import HaloMalformedResponse
from app.services.psa.limits import plain  # noqa: F401 - the clients quote Halo's words through wire
from app.services.psa.port import PsaCompany, PsaError

#: Halo billing-period codes (ClientContract ``billingperiod``, RecurringInvoice
#: ``period``). The public spec gives no enum [U: APIS.md §B3]; these are the
#: defaults an instance ships with and the adapter takes its own table when an
#: instance numbers them differently. Codes not listed (weekly, quarterly,
#: six-monthly, ...) cannot be billed by seatsync.
BILLING_PERIODS: dict[int, Cycle] = {1: Cycle.MONTHLY, 3: Cycle.ANNUAL}
QUARTERLY = 2  # a period seatsync does not bill (used by the sandbox and tests)


def period_code(cycle: Cycle, table: dict[int, Cycle] | None = None) -> int:
    for code, value in (table or BILLING_PERIODS).items():
        if value is cycle:
            return code
    raise ValueError(f"no Halo billing period for {cycle}")


def loads(text: str | bytes) -> Any:
    """Parse Halo JSON with every non-integer number as an exact Decimal.

    NaN and Infinity, which JSON does not have, raise ValueError like any other
    text that is not JSON. A lone surrogate (JSON's "\\ud800", no character, and
    text no database or screen takes) reads as U+FFFD, as undecodable bytes would.
    """
    data = jsoncodec.loads(text)
    if isinstance(text, bytes) and not _ESCAPED_SURROGATE.search(text):
        return data
    return limits.mended(data)


_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def dumps(value: Any) -> str:
    """JSON text in which Decimals are written as plain numbers, exactly as they are, and days as
    Halo's date-times; a float, or an amount that is not finite, is refused."""
    return jsoncodec.dumps(value, decimals="plain", default=_halo_value)


def _halo_value(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return halo_datetime(value)
    raise TypeError(f"cannot send {type(value).__name__} to Halo")


def halo_datetime(value: date | datetime) -> str:
    """Halo's date-time text for a day (midnight, no offset)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0).isoformat()
    return f"{value.isoformat()}T00:00:00"


def parse_date(value: Any) -> date | None:
    """The date part of a Halo date-time, or None when absent.

    Halo writes "no date" as null or as its minimum date ("1900-01-01T00:00:00");
    both read as None. Raises ValueError on anything that is not a date.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    day = date.fromisoformat(value[:10])
    return None if day.year <= 1900 else day


def to_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        return Decimal(value)
    raise ValueError(f"not a number: {value!r}")


# -- records ---------------------------------------------------------------------------------

MARKER_FIELD = "comment_2"
PRORATE_FIELD = "CFseatsyncProrate"
#: Halo's text columns hold 4000 characters (Item.extra_invoice_description is
#: the one the spec states) [U for line descriptions].
MAX_DESCRIPTION = 4000
#: comment_2 has no stated length; 100 characters is far below any Halo text
#: column and far above seatsync's markers (about 30) [U].
MAX_MARKER = 100
_NO = frozenset({"0", "false", "no", "off", "n"})
T = TypeVar("T")


def decoded(what: str, decode: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``decode(*args)``, a record of an unexpected shape named as Halo's malformed answer."""
    try:
        return decode(*args, **kwargs)
    except PsaError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError, ArithmeticError):
        record = args[0] if args and isinstance(args[0], Mapping) else {}
        raise HaloMalformedResponse(f"({what} {record.get('id')!r} has a field of the wrong type)") from None


def _money(value: Any) -> Decimal | None:
    number = to_decimal(value)
    return None if number is None else limits.amount(number, "the amount")


def _seats(value: Any) -> Decimal | None:
    number = to_decimal(value)
    if number is not None:
        limits.seats(number, "the quantity")
    return number


def _field(record: Mapping[str, Any], name: str, what: str, parse: Any) -> Any:
    try:
        return parse(record.get(name))
    except (ValueError, ArithmeticError, TypeError):
        raise HaloMalformedResponse(f"({what} {record.get('id')!r}: field {name!r} holds "
                                    f"{_shown(record.get(name))})") from None


def _shown(value: Any) -> str:
    return str(value) if isinstance(value, Decimal) else repr(value)[:40]


def _text(record: Mapping[str, Any], name: str, what: str) -> str:
    """``record[name]`` as text ("" when absent or null); another type is a malformed record."""
    value = record.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise HaloMalformedResponse(f"({what} {record.get('id')!r}: field {name!r} holds {_shown(value)}, not text)")
    return value


def _flag(record: Mapping[str, Any], name: str, what: str) -> bool | None:
    """``record[name]`` as a boolean (None when absent or null); another type is a malformed record."""
    value = record.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise HaloMalformedResponse(f"({what} {record.get('id')!r}: field {name!r} holds {_shown(value)}, "
                                "not true or false)")


def _code(record: Mapping[str, Any], name: str, what: str) -> int | None:
    """``record[name]`` as a whole number (None when absent or null); another type is a malformed record."""
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise HaloMalformedResponse(f"({what} {record.get('id')!r}: field {name!r} holds {_shown(value)}, "
                                    "not a whole number)")
    return value


def _list(record: Mapping[str, Any], name: str, what: str) -> list[Any]:
    value = record.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise HaloMalformedResponse(f"({what} {record.get('id')!r}: field {name!r} holds {_shown(value)}, "
                                    "not a list)")
    return value


def _record_id(record: Any, what: str) -> str:
    article = "an" if what[0] in "aeiou" else "a"
    if not isinstance(record, Mapping) or isinstance(record.get("id"), bool) or not isinstance(record.get("id"), int):
        raise HaloMalformedResponse(f"({article} {what} without a numeric id)")
    if not 0 < record["id"] <= limits.MAX_ID:
        raise HaloMalformedResponse(f"({article} {what} with the id {record['id']}, which is not a positive number)")
    return str(record["id"])


def domains_of(record: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for part in re.split(r"[;,\s]+", _text(record, "domain", "client")):
        found.append(part)
    for tenant in _list(record, "azure_tenants", "client"):
        if isinstance(tenant, Mapping) and isinstance(tenant.get("azure_tenant_domain"), str):
            found.append(tenant["azure_tenant_domain"])
    website = _text(record, "website", "client").strip()
    if website:
        try:
            host = urlsplit(website if "//" in website else f"//{website}").hostname or ""
        except ValueError:  # not an address (an unclosed "[", a port that is not a number): no domain
            host = ""
        found.append(host.removeprefix("www."))
    seen: dict[str, None] = {}
    for domain in found:
        domain = domain.strip().lower().lstrip("@").rstrip(".")
        if domain and "." in domain:
            seen.setdefault(domain, None)
    return tuple(seen)


def company_from(record: Any) -> PsaCompany:
    company_id = _record_id(record, "client")
    return PsaCompany(id=company_id, name=_text(record, "name", "client") or f"Client {company_id}",
                      identifier=_text(record, "ref", "client"), domains=domains_of(record),
                      active=not _flag(record, "inactive", "client"))


def prorates(record: Mapping[str, Any], field_name: str = PRORATE_FIELD) -> bool:
    for custom in _list(record, "customfields", "contract"):
        if isinstance(custom, Mapping) and str(custom.get("name", "")).lower() == field_name.lower():
            value = custom.get("value")
            if value is None or value == "":
                return True
            if not isinstance(value, (str, int, Decimal)):
                raise HaloMalformedResponse(f"(contract {record.get('id')!r}: custom field {field_name!r} holds "
                                            f"{_shown(value)}, not 1 or 0)")
            return str(value).strip().lower() not in _NO
    return True


def agreement_from(record: Any, *, today: date, currency: str, periods: Mapping[int, Cycle],
                   prorate_field: str = PRORATE_FIELD) -> Agreement:
    agreement_id = _record_id(record, "contract")
    start = _field(record, "start_date", "contract", parse_date)
    end = _field(record, "end_date", "contract", parse_date)
    period = _code(record, "billingperiod", "contract")
    cycle = None if period is None else periods.get(period)
    client_id = _code(record, "client_id", "contract")
    if _flag(record, "active", "contract") is False or cycle is None:
        # A billing period seatsync cannot bill (weekly, quarterly...) reads as
        # inactive: the plan reports it and writes nothing to it.
        status = AgreementStatus.INACTIVE
    elif _flag(record, "expired", "contract") or (end is not None and end < today):
        status = AgreementStatus.EXPIRED
    else:
        status = AgreementStatus.ACTIVE
    return Agreement(id=agreement_id, company_id=str(client_id or ""),
                     name=_text(record, "ref", "contract") or f"Contract {agreement_id}",
                     type_name=_text(record, "contracttype_name", "contract"), cycle=cycle or Cycle.MONTHLY,
                     anchor=Anchor.ANNIVERSARY if start else Anchor.CALENDAR, start=start or date(2000, 1, 1),
                     prorates=prorates(record, prorate_field), status=status, currency=currency)


def product_from(record: Any, *, active: bool) -> Product:
    product_id = _record_id(record, "item")
    recurring = bool(_flag(record, "isrecurringitem", "item"))
    price = _field(record, "recurringprice" if recurring else "baseprice", "item", _money)
    if price is None:
        price = _field(record, "baseprice", "item", _money)
    cost = _field(record, "recurringcost" if recurring else "costprice", "item", _money)
    name = _text(record, "name", "item") or f"Item {product_id}"
    return Product(id=product_id, identifier=name, description=_text(record, "description", "item") or name,
                   price=price or Decimal(0), cost=cost or Decimal(0), active=active)


def split_description(text: str) -> tuple[str, str]:
    """(item_shortdescription, item_longdescription): the first line is the
    invoice line's title, the rest (usernames, "N unassigned") its details."""
    short, _, rest = text.partition("\n")
    return short, rest


def line_from(record: Any, *, agreement_id: str, today: date, currency: str) -> Line:
    line_id = _record_id(record, "recurring invoice line")
    qty = _field(record, "qty_order", "line", _seats) or Decimal(0)
    unit = _field(record, "unit_price", "line", _money) or Decimal(0)
    start = _field(record, "startdate", "line", parse_date)
    end = _field(record, "enddate", "line", parse_date)
    if _flag(record, "isinactive", "line") and (end is None or end >= today):
        # Ticked inactive in Halo: it bills nothing from today on.
        end = today - timedelta(days=1)
    kind, amount, price = LineKind.MAIN, None, unit
    if _flag(record, "onetimecharge", "line"):
        kind = LineKind.PRORATE if qty >= 0 else LineKind.CREDIT
        amount = round_money(qty * unit, currency)
        base = _field(record, "baseprice", "line", _money)
        price = base if base is not None else unit
    short = _text(record, "item_shortdescription", "line")
    details = _text(record, "item_longdescription", "line")
    item = _code(record, "_itemid", "line")
    return Line(id=line_id, agreement_id=agreement_id, product_id="" if item is None else str(item), kind=kind,
                quantity=int(qty.to_integral_value(rounding=ROUND_HALF_UP)), unit_price=price, start=start,
                end=end, description=f"{short}\n{details}" if details else short,
                marker=_text(record, MARKER_FIELD, "line"), amount=amount)


def per_seat_price(amount: Decimal, quantity: int, currency: str) -> Decimal:
    """A unit price u with round(quantity × u) == amount exactly (half-up, minor unit).

    Halo computes a line's total as quantity × unit price rounded to the
    invoice's decimals; carrying enough decimals in u makes that total the
    amount seatsync computed, while the invoice still shows the seat count.
    """
    if quantity == 0:
        raise ValueError("a dated line needs a non-zero quantity")
    digits = minor_unit(currency) + len(str(abs(quantity))) + 1
    unit = (amount / quantity).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    if round_money(unit * quantity, currency) != amount:
        raise ArithmeticError(f"cannot price {quantity} seats at exactly {amount}")
    return unit.normalize() if unit != 0 else Decimal(0)
