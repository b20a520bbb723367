"""The HaloPSA sandbox's records: fields, views and validation of posted values.

Records are kept in Halo's own field names (tests/specs/halopsa.subset.json:
Area, ContractHeader, Item, InvoiceHeader, InvoiceDetail). Posted fields the
sandbox does not model are ignored, as Halo's model binding ignores fields it
does not know; write-only switches (``_updateprorata``) are never stored.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.services.psa.halopsa import wire

CLIENT_FIELDS = frozenset({
    "id", "name", "inactive", "ref", "domain", "website", "notes", "azure_tenants", "customfields",
    "toplevel_id", "toplevel_name",
})
CONTRACT_FIELDS = frozenset({
    "id", "client_id", "client_name", "ref", "refextra", "start_date", "end_date", "started", "expired",
    "billingperiod", "status", "contract_status", "contracttype", "contracttype_name", "active",
    "customfields", "site_id", "note", "periodchargeamount", "next_invoice_date", "invoicedescription",
    "dontinvoice", "billing_period_string",
})
#: What GET /ClientContract lists (Halo's ContractHeader_List view).
CONTRACT_LIST_FIELDS = frozenset({
    "id", "client_id", "client_name", "ref", "refextra", "start_date", "end_date", "started", "expired",
    "billingperiod", "status", "site_id", "note", "contract_status", "contracttype", "contracttype_name",
    "active", "customfields", "next_invoice_date", "periodchargeamount",
})
ITEM_FIELDS = frozenset({
    "id", "name", "description", "baseprice", "costprice", "recurringprice", "recurringcost",
    "isrecurringitem", "internalreference", "externalreference", "supplier_part_code", "taxcode",
})
INVOICE_FIELDS = frozenset({
    "id", "client_id", "client_name", "contract_id", "contract_ref", "is_recurring_invoice", "period",
    "startdate", "enddate", "nextcreationdate", "disabled", "reference", "invoice_date",
})
LINE_FIELDS = frozenset({
    "id", "ihid", "_itemid", "item_code", "item_shortdescription", "item_longdescription", "qty_order",
    "unit_price", "unit_cost", "baseprice", "net_amount", "contract_id", "startdate", "enddate",
    "isinactive", "onetimecharge", "comment_1", "comment_2", "hide_on_pdf", "sequenceid", "billingperiod",
    "tax_code", "nominal_code",
})
#: A user (end user, the port's contact): the fields of schema Users the sandbox models.
USER_FIELDS = frozenset({
    "id", "name", "firstname", "surname", "emailaddress", "email2", "email3", "title", "phonenumber",
    "mobilenumber", "inactive", "client_id", "client_name", "site_id", "site_name",
})

_NUMBERS = {"qty_order", "unit_price", "unit_cost", "baseprice", "recurringprice", "recurringcost",
            "costprice", "periodchargeamount"}
_INTS = {"id", "ihid", "_itemid", "client_id", "contract_id", "billingperiod", "status", "contracttype",
         "period", "site_id", "sequenceid", "toplevel_id", "taxcode"}
_BOOLS = {"inactive", "active", "expired", "started", "isinactive", "onetimecharge", "hide_on_pdf",
          "isrecurringitem", "is_recurring_invoice", "disabled", "dontinvoice"}
_DATES = {"start_date", "end_date", "startdate", "enddate", "next_invoice_date", "nextcreationdate",
          "invoice_date"}


class Rejected(Exception):
    """A request the sandbox refuses, with Halo's HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def clean(obj: Any, fields: frozenset[str], what: str) -> dict[str, Any]:
    """The modelled fields of one posted object, type-checked like Halo's binder."""
    if not isinstance(obj, dict):
        raise Rejected(400, f"Each {what} must be a JSON object.")
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key not in fields:
            continue
        if value is None:
            out[key] = None
        elif key in _NUMBERS:
            if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
                raise Rejected(400, f"The value of {key} is not a number.")
            out[key] = Decimal(value)
        elif key in _INTS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise Rejected(400, f"The value of {key} is not a whole number.")
            out[key] = value
        elif key in _BOOLS:
            if not isinstance(value, bool):
                raise Rejected(400, f"The value of {key} is not true or false.")
            out[key] = value
        elif key in _DATES:
            try:
                day = wire.parse_date(value)
            except ValueError:
                raise Rejected(400, f"The value of {key} is not a date.") from None
            out[key] = None if day is None else wire.halo_datetime(day)
        else:
            out[key] = value
    return out


def money(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def number(value: Decimal | int | None) -> Decimal | int | None:
    """A stored number as Halo writes it: integral values without decimals."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def line_view(line: dict[str, Any]) -> dict[str, Any]:
    return {k: number(v) if k in _NUMBERS or k == "net_amount" else v for k, v in line.items()}


def item_view(item: dict[str, Any]) -> dict[str, Any]:
    return {k: number(v) if k in _NUMBERS else v for k, v in item.items()}


def contract_view(contract: dict[str, Any], *, listed: bool) -> dict[str, Any]:
    view = {k: number(v) if k in _NUMBERS else v for k, v in contract.items()}
    if listed:
        view = {k: v for k, v in view.items() if k in CONTRACT_LIST_FIELDS}
    return view


def client_view(client: dict[str, Any], *, with_tenants: bool) -> dict[str, Any]:
    return {k: v for k, v in client.items() if with_tenants or k != "azure_tenants"}


def problem(status: int, detail: str) -> dict[str, Any]:
    """The sandbox's error body: an RFC 7807 problem, as ASP.NET Core APIs answer.

    Halo's own error body is not documented (APIS.md §B3, open questions);
    the client reads a plain string body as well.
    """
    titles = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
              429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
    return {"type": f"https://httpstatuses.io/{status}", "title": titles.get(status, "Error"),
            "status": status, "detail": detail}
