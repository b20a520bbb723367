"""HaloPSA answers generated from the vendor's schemas, read by the real client and adapter.

Every case feeds a generated body to ``HaloPsaAdapter`` through a client whose
HTTP layer answers it at once (no network): the client decodes it
(``wire.loads``, paging, errors, the token) and the adapter maps it
(mapping.py), as an answer from an instance would be. Records follow Halo's
own schemas (tests/specs/halopsa.subset.json) cut to the properties the
adapter reads (``keeping``: the others are optional, so every record drawn
is still one the schema allows; Halo's records have hundreds of fields).
Halo's GET operations declare no response schema: the list envelope
(``record_count`` and the collection), the token answer and the error body
follow APIS.md §B3. ``tests.schema_fuzz.spiced`` adds text and numbers at
the edges, and other types.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import requests
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict

from app.billing.types import LineKind, Product
from app.services.psa.halopsa import HaloClient, HaloConfig, HaloPsaAdapter
from app.services.psa.port import NewLine
from tests.halopsa.spec import SPEC
from tests.schema_fuzz import Case, json_bytes, keeping, requiring, schema_for, spiced, strategy

API = "https://halo.example"
TOKEN = {"access_token": "fuzz-token", "token_type": "Bearer", "expires_in": 3600}
NEW_LINE = NewLine(agreement_id="7", product_id="3", kind=LineKind.MAIN, quantity=5, unit_price=Decimal("36.00"),
                   start=date(2025, 3, 1), end=None, description="Microsoft 365 E3", marker="seatsync:0123456789ab")
#: APIS.md §B3: the token endpoint's answer.
TOKEN_ANSWER = {"type": "object", "properties": {
    "access_token": {"type": "string"}, "token_type": {"type": "string"},
    "expires_in": {"type": "integer", "format": "int32"}, "scope": {"type": "string"}}}
ERROR_STATUSES = (400, 401, 403, 404, 409, 500)

CLIENT = ("id", "name", "ref", "domain", "azure_tenants", "website", "inactive", "client_name", "notes")
CONTRACT = ("id", "client_id", "ref", "contracttype_name", "start_date", "end_date", "billingperiod", "active",
            "expired", "customfields", "periodchargeamount")
ITEM = ("id", "name", "description", "isrecurringitem", "baseprice", "recurringprice", "costprice", "recurringcost",
        "taxcode")
LINE = ("id", "ihid", "_itemid", "qty_order", "unit_price", "baseprice", "startdate", "enddate", "isinactive",
        "onetimecharge", "item_shortdescription", "item_longdescription", "comment_2", "net_amount")


def _schema(component: str, names: tuple[str, ...], **lists: dict) -> dict:
    """``component`` with only ``names``; each of ``lists`` (a property holding records) with
    the given item schema, at most 3 of them."""
    out = keeping(schema_for(SPEC, component, max_depth=1), *names)
    for name, items in lists.items():
        out["properties"][name] = {"anyOf": [{"type": "array", "items": items, "maxItems": 3}, {"type": "null"}]}
    return out


def _either(schema: dict, *paths: str) -> st.SearchStrategy:
    """Records as the schema allows them, or (as often) with a positive id as Halo sends them."""
    ids = ("id", *paths)
    return strategy(schema) | strategy(requiring(schema, *ids, positive=ids))


def _page(key: str, records: st.SearchStrategy) -> st.SearchStrategy:
    """Halo's list envelope: a record_count that may say anything, or the number of records."""
    batch = st.lists(records, max_size=2)
    return (st.builds(lambda total, rows: {"record_count": total, key: rows}, st.integers(-2, 2**31 - 1), batch)
            | batch.map(lambda rows: {"record_count": len(rows), key: rows}))


def response(method: str, url: str, status: int, body: bytes) -> requests.Response:
    """A ``requests.Response`` as the HTTP layer hands it to the client."""
    answer = requests.Response()
    answer.status_code = status
    answer._content = body
    answer.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
    answer.url = url if "://" in url else f"{API}/api{url}"
    answer.request = requests.Request(method, answer.url).prepare()
    answer.encoding = "utf-8"
    return answer


class Answering:
    """A HaloPsaAdapter whose API answers ``status`` and ``body`` and whose token endpoint ``token``."""

    def __init__(self) -> None:
        self.client = HaloClient(HaloConfig(api_url=API, client_id="fuzz", client_secret="fuzz-secret"))
        self.client.http.request = self._answer  # type: ignore[method-assign]
        self.adapter = HaloPsaAdapter(self.client, today=lambda: date(2025, 3, 10))
        self.status, self.body, self.token = 200, b"{}", (200, json_bytes(TOKEN))

    def _answer(self, method: str, url: str, **_: Any) -> requests.Response:
        if url.endswith("/auth/token"):
            return response(method, url, *self.token)
        return response(method, url, self.status, self.body)

    def answer(self, payload: Any, status: int = 200) -> Answering:
        self.status, self.body = status, json_bytes(payload)
        return self


def _reads(call: Callable[[HaloPsaAdapter], Any], status: int = 200) -> Callable[[Any], Any]:
    site = Answering()
    return lambda payload: call(site.answer(payload, status).adapter)


def _write(payload: Any) -> Any:
    site = Answering().answer(payload)
    site.adapter._products = {"3": Product(id="3", identifier="Microsoft 365 E3", description="", price=Decimal(36),
                                           cost=Decimal(30), active=True)}
    site.adapter._invoice_of = {"7": 11}
    return site.adapter.create_line(NEW_LINE)


def _token() -> Callable[[Any], Any]:
    site = Answering().answer({"record_count": 0, "clients": []})

    def sign_in(payload: Any) -> Any:
        site.client._token = None
        site.token = (200, json_bytes(payload))
        return site.client.list("/Client", "clients")

    return sign_in


def _error() -> Callable[[Any], Any]:
    site = Answering()
    return lambda payload: site.answer(payload[1], payload[0]).client.list("/Client", "clients")


def cases(examples: int = 100) -> list[Case]:
    """Every answer shape the adapter reads: each entity as the schema allows it, then at the edges."""
    tenant = keeping(schema_for(SPEC, "AreaAzureTenant", max_depth=0), "id", "azure_tenant_id",
                     "azure_tenant_domain", "azure_tenant_name")
    custom = keeping(schema_for(SPEC, "CustomField", max_depth=0), "id", "name", "value", "type")
    line = _schema("InvoiceDetail", LINE)
    header = _schema("InvoiceHeader", ("id", "client_id", "contract_id", "lines"), lines=line)
    ours = requiring(header, "id", "contract_id", positive=("id",))
    ours["properties"]["contract_id"] = {"enum": [7]}
    ours["properties"]["lines"] = {"type": "array", "items": requiring(line, "id", positive=("id",)), "maxItems": 3}
    token = strategy(TOKEN_ANSWER) | st.fixed_dictionaries(
        {"access_token": st.from_regex(r"[A-Za-z0-9\-._~+/]{1,40}=*", fullmatch=True)},
        optional={"expires_in": st.integers(-10, 2**31 - 1), "token_type": st.just("Bearer")})
    error = st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                             st.sampled_from(("title", "detail", "message", "error", "error_description", "status")),
                             inner, max_size=4), max_leaves=8)
    shapes: list[tuple[str, st.SearchStrategy, Callable[[Any], Any]]] = [
        ("Client (Area)", _page("clients", _either(_schema("Area", CLIENT, azure_tenants=tenant))),
         _reads(lambda adapter: adapter.list_companies())),
        ("ClientContract (ContractHeader_List)",
         _page("contracts", _either(_schema("ContractHeader_List", CONTRACT, customfields=custom))),
         _reads(lambda adapter: adapter.list_agreements())),
        ("Item", _page("items", _either(_schema("Item", ITEM))), _reads(lambda adapter: adapter.list_products())),
        ("RecurringInvoice (InvoiceHeader)", _page("invoices", strategy(header) | strategy(ours)),
         _reads(lambda adapter: adapter.list_lines("7"))),
        ("InvoiceDetail (write answer)", _either(line) | st.lists(_either(line), max_size=2), _write),
        ("token", token, _token()),
    ]
    out = [Case(name, payloads, decode, examples) for name, payloads, decode in shapes]
    out.append(Case("error body", st.tuples(st.sampled_from(ERROR_STATUSES), error), _error(), examples))
    out += [Case(f"{name} (edges)", spiced(payloads, retype=True), decode, examples // 2)
            for name, payloads, decode in shapes]
    out.append(Case("error body (edges)", st.tuples(st.sampled_from(ERROR_STATUSES), spiced(error, retype=True)),
                    _error(), examples // 2))
    return out
