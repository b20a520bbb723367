"""HaloPSA answers generated from the vendor's schemas, read by the real client and adapter.

Every case feeds a generated body to ``HaloPsaAdapter`` through a client whose
requests session answers it at once (``schema_fuzz.ServingSession``, no
network): the client's whole HTTP path runs (``HttpApi``: retries,
throttling, 5xx; then ``wire.loads``, paging, errors, the token) and the
adapter maps it (wire.py), as an answer from an instance would be. Every
request but the one a case generates is answered as an instance would
(``Answering``: a token, empty lists, contract 7, recurring invoice 11 and
its line 55). Records follow Halo's own schemas
(tests/specs/halopsa.subset.json) cut to the properties the adapter reads
(``keeping``: the others are optional, so every record drawn is still one
the schema allows; Halo's records have hundreds of fields). Halo's GET
operations declare no response schema: the list envelope (``record_count``
and the collection), the token answer and the error body follow APIS.md §B3.
``tests.schema_fuzz.spiced`` adds text and numbers at the edges, and other
types; ``schema_fuzz.broken`` bodies that are not JSON at all.

Each answer shape runs ``examples`` payloads: two thirds as the schema
allows them, a third at the edges (the "(edges)" case).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from app.billing.types import Line, LineKind, Product
from app.services.http import HttpApi, RetryPolicy
from app.services.psa.halopsa import HaloClient, HaloConfig, HaloPsaAdapter
from app.services.psa.halopsa.wire import MARKER_FIELD
from app.services.psa.port import NewLine
from tests.halopsa.spec import SPEC
from tests.schema_fuzz import (
    Case,
    ServingSession,
    broken,
    json_bytes,
    keeping,
    lists,
    reaching,
    requiring,
    retry_after,
    schema_for,
    spiced,
    strategy,
)

API = "https://halo.example"
TOKEN = {"access_token": "fuzz-token", "token_type": "Bearer", "expires_in": 3600}
NEW_LINE = NewLine(agreement_id="7", product_id="3", kind=LineKind.MAIN, quantity=5, unit_price=Decimal("36.00"),
                   start=date(2025, 3, 1), end=None, description="Microsoft 365 E3", marker="seatsync:0123456789ab")
#: The line the adapter wrote on contract 7's recurring invoice 11, as the sync engine hands it back.
LINE = Line(id="55", agreement_id="7", product_id="3", kind=LineKind.MAIN, quantity=5, unit_price=Decimal("36.00"),
            start=date(2025, 3, 1), end=None, description="Microsoft 365 E3", marker="seatsync:0123456789ab")
PRODUCTS = {"3": Product(id="3", identifier="Microsoft 365 E3", description="", price=Decimal(36), cost=Decimal(30),
                         active=True)}
#: The changes the adapter posts to /RecurringInvoice/updatelines; each answers the line as it now is.
UPDATES: dict[str, Callable[[HaloPsaAdapter], Any]] = {
    "set_quantity": lambda adapter: adapter.set_quantity(LINE, 7, date(2025, 4, 1)),
    "cancel_line": lambda adapter: adapter.cancel_line(LINE, date(2025, 4, 1)),
    "update_description": lambda adapter: adapter.update_description(LINE, "Microsoft 365 E3\n5 seats"),
}
#: What reads contract 7 itself: a new line on a contract without a recurring invoice (whose
#: client, period and start make the invoice), and the lines of a contract without one.
CONTRACT_READS: dict[str, Callable[[HaloPsaAdapter], Any]] = {
    "create_line": lambda adapter: adapter.create_line(NEW_LINE),
    "list_lines": lambda adapter: adapter.list_lines("7"),
}
#: Every request the adapter sends (method, path pattern), and what sends it.
REQUESTS: dict[tuple[str, str], Callable[[HaloPsaAdapter], Any]] = {
    ("POST", r"/auth/token$"): lambda adapter: adapter.list_companies(),
    ("GET", r"/Client$"): lambda adapter: adapter.list_companies(),
    ("GET", r"/ClientContract$"): lambda adapter: adapter.list_agreements(),
    ("GET", r"/Item$"): lambda adapter: adapter.list_products(),
    ("GET", r"/RecurringInvoice$"): lambda adapter: adapter.list_lines("7"),
    ("GET", r"/ClientContract/\d+$"): lambda adapter: adapter.create_line(NEW_LINE),
    ("POST", r"/RecurringInvoice$"): lambda adapter: adapter.create_line(NEW_LINE),
    ("POST", r"/RecurringInvoice/Lines$"): lambda adapter: adapter.create_line(NEW_LINE),
    ("POST", r"/RecurringInvoice/updatelines$"): UPDATES["set_quantity"],
}
#: The lists test_connection reads one record of.
AREAS = (("/Client", "clients"), ("/ClientContract", "contracts"), ("/Item", "items"),
         ("/RecurringInvoice", "invoices"))
#: What an instance answers every request a case does not generate.
CONTRACT_7 = {"id": 7, "client_id": 3, "ref": "M365", "billingperiod": 1, "start_date": "2025-01-01T00:00:00"}
INVOICE_11 = {"id": 11, "client_id": 3, "contract_id": 7, "is_recurring_invoice": True}
LINE_55 = {"id": 55, "ihid": 11, "_itemid": 3, "qty_order": 5, "unit_price": 36.0, "startdate": "2025-03-01T00:00:00",
           "item_shortdescription": "Microsoft 365 E3", "item_longdescription": "",
           MARKER_FIELD: "seatsync:0123456789ab",
           "isinactive": False, "onetimecharge": False}
#: APIS.md §B3: the token endpoint's answer.
TOKEN_ANSWER = {"type": "object", "properties": {
    "access_token": {"type": "string"}, "token_type": {"type": "string"},
    "expires_in": {"type": "integer", "format": "int32"}, "scope": {"type": "string"}}}
ERROR_STATUSES = (400, 401, 403, 404, 409, 500)
#: Of each shape's examples, the share drawn at the edges (its "(edges)" case).
EDGES = 1 / 3

CLIENT = ("id", "name", "ref", "domain", "azure_tenants", "website", "inactive", "client_name", "notes")
CONTRACT = ("id", "client_id", "ref", "contracttype_name", "start_date", "end_date", "billingperiod", "active",
            "expired", "customfields", "periodchargeamount")
ITEM = ("id", "name", "description", "isrecurringitem", "baseprice", "recurringprice", "costprice", "recurringcost",
        "taxcode")
LINES = ("id", "ihid", "_itemid", "qty_order", "unit_price", "baseprice", "startdate", "enddate", "isinactive",
         "onetimecharge", "item_shortdescription", "item_longdescription", "comment_2", "net_amount")
NEW_INVOICE = ("id", "client_id", "contract_id", "startdate", "period", "is_recurring_invoice")


def _schema(component: str, names: tuple[str, ...], **lists_of: dict) -> dict:
    """``component`` with only ``names``; each of ``lists_of`` (a property holding records) with
    the given item schema, at most 3 of them."""
    out = keeping(schema_for(SPEC, component, max_depth=1), *names)
    for name, items in lists_of.items():
        out["properties"][name] = {"anyOf": [{"type": "array", "items": items, "maxItems": 3}, {"type": "null"}]}
    return out


def _either(schema: dict, *paths: str) -> st.SearchStrategy:
    """Records as the schema allows them, or (as often) with a positive id as Halo sends them."""
    ids = ("id", *paths)
    return strategy(schema) | strategy(requiring(schema, *ids, positive=ids))


def _page(key: str, records: st.SearchStrategy) -> st.SearchStrategy:
    """Halo's list envelope: a record_count that may say anything, or the number of records."""
    batch = lists(records)
    return (st.builds(lambda total, rows: {"record_count": total, key: rows}, st.integers(-2, 2**31 - 1), batch)
            | batch.map(lambda rows: {"record_count": len(rows), key: rows}))


class Answering:
    """A HaloPsaAdapter over a ServingSession that answers as an instance would (a token, empty
    lists, contract 7, recurring invoice 11 and its line 55) but for what a case serves."""

    def __init__(self) -> None:
        self.session = ServingSession(default=(200, b"{}"))
        self.session.serve("POST", r"/auth/token$", 200, json_bytes(TOKEN))
        for path, key in AREAS:
            self.session.serve("GET", f"{path}$", 200, json_bytes({"record_count": 0, key: []}))
        self.session.serve("GET", r"/ClientContract/\d+$", 200, json_bytes(CONTRACT_7))
        self.session.serve("POST", r"/RecurringInvoice$", 200, json_bytes([INVOICE_11]))
        self.session.serve("POST", r"/RecurringInvoice/(Lines|updatelines)$", 200, json_bytes([LINE_55]))
        config = HaloConfig(api_url=API, client_id="fuzz", client_secret="fuzz-secret")
        http = HttpApi(name="HaloPSA", base_url=config.api_base, session=self.session,  # type: ignore[arg-type]
                       retry=RetryPolicy(max_attempts=2, max_delay=0.0), sleep=lambda _seconds: None)
        self.client = HaloClient(config, http=http)
        self.adapter = HaloPsaAdapter(self.client, today=lambda: date(2025, 3, 10))

    def serve(self, method: str, path: str, body: bytes, status: int = 200,
              headers: dict[str, str] | None = None) -> Answering:
        self.session.serve(method, path, status, body, headers)
        return self

    def fresh(self) -> HaloPsaAdapter:
        """The adapter with nothing remembered of contract 7 but its line 55 on invoice 11, and the catalog."""
        adapter = self.adapter
        adapter._invoice_of.clear()
        adapter._home = {"55": (11, "7")}
        adapter._products = dict(PRODUCTS)
        return adapter


def _reads(call: Callable[[HaloPsaAdapter], Any], path: str) -> Callable[[Any], Any]:
    """``call`` with the list at ``path`` answering the payload."""
    site = Answering()
    return reaching(site.session, "GET", f"{path}$",
                    lambda payload: call(site.serve("GET", f"{path}$", json_bytes(payload)).fresh()))


def _write() -> Callable[[Any], Any]:
    site = Answering().serve("GET", r"/RecurringInvoice$", json_bytes({"record_count": 1, "invoices": [INVOICE_11]}))
    return reaching(site.session, "POST", r"/RecurringInvoice/Lines$", lambda payload: site.serve(
        "POST", r"/RecurringInvoice/Lines$", json_bytes(payload)).fresh().create_line(NEW_LINE))


def _updated() -> Callable[[Any], Any]:
    site = Answering()
    return reaching(site.session, "POST", r"/RecurringInvoice/updatelines$", lambda payload: UPDATES[payload[0]](
        site.serve("POST", r"/RecurringInvoice/updatelines$", json_bytes(payload[1])).fresh()))


def _contract() -> Callable[[Any], Any]:
    site = Answering()
    return reaching(site.session, "GET", r"/ClientContract/\d+$", lambda payload: CONTRACT_READS[payload[0]](
        site.serve("GET", r"/ClientContract/\d+$", json_bytes(payload[1])).fresh()))


def _new_invoice() -> Callable[[Any], Any]:
    site = Answering()
    return reaching(site.session, "POST", r"/RecurringInvoice$", lambda payload: site.serve(
        "POST", r"/RecurringInvoice$", json_bytes(payload)).fresh().create_line(NEW_LINE))


def _checked(payload: tuple[str, Any]) -> Any:
    site = Answering()
    path, page = payload
    return reaching(site.session, "GET", f"{path}$", lambda _: site.serve(
        "GET", f"{path}$", json_bytes(page)).fresh().test_connection())(payload)


def _token() -> Callable[[Any], Any]:
    site = Answering()

    def sign_in(payload: Any) -> Any:
        site.client._token = None
        site.serve("POST", r"/auth/token$", json_bytes(payload))
        return site.client.list("/Client", "clients")

    return reaching(site.session, "POST", r"/auth/token$", sign_in)


def _error() -> Callable[[Any], Any]:
    site = Answering()
    return reaching(site.session, "GET", r"/Client$", lambda payload: site.serve(
        "GET", r"/Client$", json_bytes(payload[1]), payload[0]).fresh().list_companies())


def _throttled() -> Callable[[Any], Any]:
    site = Answering()
    return reaching(site.session, "GET", r"/Client$", lambda payload: site.serve(
        "GET", r"/Client$", json_bytes(payload[1]), 429, {"Retry-After": payload[0]}).fresh().list_companies())


def _unreadable(payload: tuple[tuple[str, str], bytes]) -> Any:
    (method, path), body = payload
    site = Answering().serve(method, path, body)
    if method == "POST" and path.endswith("Lines$"):
        site.serve("GET", r"/RecurringInvoice$", json_bytes({"record_count": 1, "invoices": [INVOICE_11]}))
    return reaching(site.session, method, path, lambda _: REQUESTS[(method, path)](site.fresh()))(body)


@dataclass(frozen=True)
class Shape:
    """One answer the client decodes: its payloads, how they are read, and (unless None) the
    same payloads at the edges."""

    name: str
    payloads: st.SearchStrategy
    decode: Callable[[Any], Any]
    edges: st.SearchStrategy | None


def _shape(name: str, payloads: st.SearchStrategy, decode: Callable[[Any], Any]) -> Shape:
    return Shape(name, payloads, decode, spiced(payloads, retype=True))


def _keyed(keys: st.SearchStrategy, values: st.SearchStrategy, decode: Callable[[Any], Any], name: str) -> Shape:
    """A shape whose payload is (which request, the answer): only the answer goes to the edges."""
    return Shape(name, st.tuples(keys, values), decode, st.tuples(keys, spiced(values, retype=True)))


def shapes() -> list[Shape]:
    """Every answer shape the client and adapter read."""
    tenant = keeping(schema_for(SPEC, "AreaAzureTenant", max_depth=0), "id", "azure_tenant_id",
                     "azure_tenant_domain", "azure_tenant_name")
    custom = keeping(schema_for(SPEC, "CustomField", max_depth=0), "id", "name", "value", "type")
    line = _schema("InvoiceDetail", LINES)
    header = _schema("InvoiceHeader", ("id", "client_id", "contract_id", "lines"), lines=line)
    ours = requiring(header, "id", "contract_id", positive=("id",))
    ours["properties"]["contract_id"] = {"enum": [7]}
    ours["properties"]["lines"] = {"type": "array", "items": requiring(line, "id", positive=("id",)), "maxItems": 3}
    ours["required"] = [*ours["required"], "lines"]  # asked for with includelines=true
    token = strategy(TOKEN_ANSWER) | st.fixed_dictionaries(
        {"access_token": st.from_regex(r"[A-Za-z0-9\-._~+/]{1,40}=*", fullmatch=True)},
        optional={"expires_in": st.integers(-10, 2**31 - 1), "token_type": st.just("Bearer")})
    error = st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                             st.sampled_from(("title", "detail", "message", "error", "error_description", "status")),
                             inner, max_size=4), max_leaves=8)
    statuses = st.sampled_from(ERROR_STATUSES)
    pages = {
        "/Client": _page("clients", _either(_schema("Area", CLIENT, azure_tenants=tenant))),
        "/ClientContract": _page("contracts", _either(_schema("ContractHeader_List", CONTRACT, customfields=custom))),
        "/Item": _page("items", _either(_schema("Item", ITEM))),
        "/RecurringInvoice": _page("invoices", strategy(header) | strategy(ours)),
    }
    saved_lines = _either(line) | lists(_either(line))
    new_invoices = _either(_schema("InvoiceHeader", NEW_INVOICE))
    return [
        _shape("Client (Area)", pages["/Client"], _reads(lambda adapter: adapter.list_companies(), "/Client")),
        _shape("ClientContract (ContractHeader_List)", pages["/ClientContract"],
               _reads(lambda adapter: adapter.list_agreements(), "/ClientContract")),
        _shape("Item", pages["/Item"], _reads(lambda adapter: adapter.list_products(), "/Item")),
        _shape("RecurringInvoice (InvoiceHeader)", pages["/RecurringInvoice"],
               _reads(lambda adapter: adapter.list_lines("7"), "/RecurringInvoice")),
        _keyed(st.sampled_from(sorted(CONTRACT_READS)), _either(_schema("ContractHeader", CONTRACT)), _contract(),
               "ClientContract/{id} (ContractHeader)"),
        _shape("RecurringInvoice (POST answer, InvoiceHeader)", new_invoices | lists(new_invoices, 2),
               _new_invoice()),
        _shape("InvoiceDetail (write answer)", saved_lines, _write()),
        _keyed(st.sampled_from(sorted(UPDATES)), saved_lines, _updated(), "InvoiceDetail (updatelines answer)"),
        Shape("list pages (test_connection)",
              st.one_of([st.tuples(st.just(path), page) for path, page in pages.items()]), _checked,
              st.one_of([st.tuples(st.just(path), spiced(page, retype=True)) for path, page in pages.items()])),
        _shape("token", token, _token()),
        Shape("error body", st.tuples(statuses, error), _error(), st.tuples(statuses, spiced(error, retype=True))),
        Shape("throttled (429, Retry-After)", st.tuples(retry_after(), error), _throttled(),
              st.tuples(retry_after(), spiced(error, retype=True))),
        Shape("unreadable bodies", st.tuples(st.sampled_from(sorted(REQUESTS)), broken(pages["/Client"])),
              _unreadable, None),
    ]


def cases(examples: int = 300) -> list[Case]:
    """Every answer shape as a case of ``examples`` payloads: as the schema allows them, then
    (a third of them) at the edges."""
    out, edges = [], []
    for shape in shapes():
        at_edges = round(examples * EDGES) if shape.edges is not None else 0
        out.append(Case(shape.name, shape.payloads, shape.decode, examples - at_edges))
        if shape.edges is not None:
            edges.append(Case(f"{shape.name} (edges)", shape.edges, shape.decode, at_edges))
    return out + edges
