"""ConnectWise answers generated from the vendor's schemas, read by the real client and adapter.

Every case feeds a generated body to ``ConnectWisePsa`` through a client
whose requests session answers it at once (``schema_fuzz.ServingSession``,
no network): the client's whole HTTP path runs (``HttpApi``: retries,
throttling, 5xx; then ``_decode``, ``_error``, paging) and the adapter maps
it (wire.py), just as an answer from a site would be. The schemas are the
vendor's (tests/specs/connectwise.subset.json), cut to the properties the
adapter asks for where it sends ``fields=`` (a site answers no others); the
count and codebase answers have no schema there and follow APIS.md §B1.
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

from app.billing.types import Line, LineKind
from app.services.http import RetryPolicy
from app.services.psa.connectwise import ConnectWiseClient, ConnectWiseCredentials, ConnectWisePsa
from app.services.psa.connectwise.adapter import AGREEMENT_FIELDS, CATALOG_FIELDS, COMPANY_FIELDS
from app.services.psa.port import NewLine
from tests.connectwise.spec import SPEC
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

SITE = "https://cw.example"
MEDIA = "application/vnd.connectwise.com+json; version=2025.8"
NEW_LINE = NewLine(agreement_id="7", product_id="3", kind=LineKind.MAIN, quantity=3, unit_price=Decimal("22.00"),
                   start=date(2025, 3, 1), end=None, description="Business Premium",
                   marker="seatsync:0123456789ab")
#: An addition seatsync wrote, as the sync engine hands it back to change it.
LINE = Line(id="41", agreement_id="7", product_id="3", kind=LineKind.MAIN, quantity=3, unit_price=Decimal("22.00"),
            start=date(2025, 3, 1), end=None, description="Business Premium", marker="seatsync:0123456789ab")
#: The PATCH requests the adapter sends an addition; each answers the addition as it now is.
PATCHES: dict[str, Callable[[ConnectWisePsa], Any]] = {
    "set_quantity": lambda psa: psa.set_quantity(LINE, 5, date(2025, 4, 1)),
    "cancel_line": lambda psa: psa.cancel_line(LINE, date(2025, 4, 1)),
    "update_description": lambda psa: psa.update_description(LINE, "Business Premium (5 seats)"),
}
ADDITIONS = r"/finance/agreements/\d+/additions$"
ADDITION = r"/finance/agreements/\d+/additions/\d+$"
COMPANY_INFO_PATH = r"/login/companyinfo/"
#: Every request the adapter sends, by name: its method and path, the status a site answers it
#: with, and what sends it first (a DELETE is ``cancel_line`` on or before the line's first day).
REQUESTS: dict[str, tuple[str, str, int, Callable[[ConnectWisePsa], Any]]] = {
    "GET /company/companies": ("GET", r"/company/companies$", 200, lambda psa: psa.list_companies()),
    "GET /finance/agreements": ("GET", r"/finance/agreements$", 200, lambda psa: psa.list_agreements()),
    "GET /procurement/catalog": ("GET", r"/procurement/catalog$", 200, lambda psa: psa.list_products()),
    "GET /finance/agreements/{id}/additions": ("GET", ADDITIONS, 200, lambda psa: psa.list_lines("7")),
    "GET {collection}/count": ("GET", r"/count$", 200, lambda psa: psa.test_connection()),
    "POST /finance/agreements/{id}/additions": ("POST", ADDITIONS, 201, lambda psa: psa.create_line(NEW_LINE)),
    "PATCH /finance/agreements/{id}/additions/{id}": ("PATCH", ADDITION, 200,
                                                      lambda psa: psa.set_quantity(LINE, 5, date(2025, 4, 1))),
    "DELETE /finance/agreements/{id}/additions/{id}": ("DELETE", ADDITION, 204,
                                                       lambda psa: psa.cancel_line(LINE, date(2025, 3, 1))),
}
CODEBASE_LOOKUP = "GET /login/companyinfo/{companyId}"

#: APIS.md §B1: GET {collection}/count answers {"count": n}.
COUNT = {"type": "object", "properties": {"count": {"type": "integer", "format": "int32"}}}
#: APIS.md §B1: GET /login/companyinfo/{companyId}.
COMPANY_INFO = {"type": "object", "properties": {
    "CompanyName": {"type": "string"}, "Codebase": {"type": "string"}, "VersionCode": {"type": "string"},
    "VersionNumber": {"type": "string"}, "CompanyID": {"type": "string"}, "IsCloud": {"type": "boolean"},
    "SiteUrl": {"type": "string"}}}
ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 415, 500)
#: Of each shape's examples, the share drawn at the edges (its "(edges)" case).
EDGES = 1 / 3


class Answering:
    """A ConnectWisePsa over a ServingSession: every request is answered with what ``answer`` or
    ``raw`` set last, but for the routes ``session.serve`` names."""

    def __init__(self, codebase: str = "v2025_1") -> None:
        credentials = ConnectWiseCredentials(site=SITE, company_id="seatsync", public_key="public",
                                             private_key="private", client_id="fuzz", codebase=codebase)
        self.session = ServingSession(content_type=MEDIA)
        self.client = ConnectWiseClient(credentials, sleep=lambda _seconds: None,
                                        retry=RetryPolicy(max_attempts=2, max_delay=0.0))
        self.client.http.session = self.session  # type: ignore[assignment]
        self.psa = ConnectWisePsa(self.client)

    def answer(self, payload: Any, status: int = 200) -> Answering:
        return self.raw(json_bytes(payload), status)

    def raw(self, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Answering:
        self.session.default = (status, body, headers or {})
        return self


def _reads(call: Callable[[ConnectWisePsa], Any], method: str, path: str, status: int = 200) -> Callable[[Any], Any]:
    """``call``, every request answered with the payload; it must send ``method`` ``path``."""
    site = Answering()
    return reaching(site.session, method, path, lambda payload: call(site.answer(payload, status).psa))


def _patched() -> Callable[[Any], Any]:
    site = Answering()
    return reaching(site.session, "PATCH", ADDITION,
                    lambda payload: PATCHES[payload[0]](site.answer(payload[1]).psa))


def _agreement_check() -> Callable[[Any], Any]:
    """``list_lines`` on an agreement without additions asks for the agreement itself (some sites
    answer an empty list for an agreement that does not exist)."""
    site = Answering()
    site.session.serve("GET", ADDITIONS, 200, b"[]")
    return reaching(site.session, "GET", r"/finance/agreements/\d+$",
                    lambda payload: site.answer(payload).psa.list_lines("7"))


def _error() -> Callable[[Any], Any]:
    site = Answering()
    return reaching(site.session, "GET", r"/company/companies$",
                    lambda payload: site.answer(payload[1], payload[0]).psa.list_companies())


def _throttled() -> Callable[[Any], Any]:
    site = Answering()
    return reaching(site.session, "GET", r"/company/companies$", lambda payload: site.raw(
        json_bytes(payload[1]), 429, {"Retry-After": payload[0]}).psa.list_companies())


def _company_info(payload: Any) -> Any:
    """A client that has not looked its codebase up yet (each looks it up once)."""
    site = Answering(codebase="").answer(payload)
    return reaching(site.session, "GET", COMPANY_INFO_PATH, lambda _: site.client.codebase)(payload)


def _unreadable(payload: tuple[str, bytes]) -> Any:
    request, body = payload
    if request == CODEBASE_LOOKUP:
        site = Answering(codebase="").raw(body)
        return reaching(site.session, "GET", COMPANY_INFO_PATH, lambda _: site.client.codebase)(body)
    method, path, status, call = REQUESTS[request]
    site = Answering().raw(body, status)
    return reaching(site.session, method, path, lambda _: call(site.psa))(body)


def record(component: str, *paths: str, fields: str = "") -> st.SearchStrategy:
    """A record as the schema allows it, or (as often) as a site sends it: with its id and the
    ids of ``paths``, positive. ``fields``: the adapter's partial-response request, so only
    those properties (a site answers no others)."""
    schema = schema_for(SPEC, component)
    if fields:
        schema = keeping(schema, *fields.split(","))
    ids = ("id", *paths)
    return strategy(schema) | strategy(requiring(schema, *ids, positive=ids))


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


def shapes() -> list[Shape]:
    """Every answer shape the client and adapter read."""
    addition = record("Addition", "product/id")
    patches = st.sampled_from(sorted(PATCHES))
    error = strategy(schema_for(SPEC, "ErrorResponseMessage"))
    statuses = st.sampled_from(ERROR_STATUSES)
    return [
        _shape("Company", lists(record("Company", fields=COMPANY_FIELDS)),
               _reads(lambda psa: psa.list_companies(), "GET", r"/company/companies$")),
        _shape("Agreement", lists(record("Agreement", "company/id", fields=AGREEMENT_FIELDS)),
               _reads(lambda psa: psa.list_agreements(), "GET", r"/finance/agreements$")),
        _shape("CatalogItem", lists(record("CatalogItem", fields=CATALOG_FIELDS)),
               _reads(lambda psa: psa.list_products(), "GET", r"/procurement/catalog$")),
        _shape("Addition (read)", lists(addition), _reads(lambda psa: psa.list_lines("7"), "GET", ADDITIONS)),
        _shape("Addition (write answer)", addition,
               _reads(lambda psa: psa.create_line(NEW_LINE), "POST", ADDITIONS, 201)),
        Shape("Addition (PATCH answer)", st.tuples(patches, addition), _patched(),
              st.tuples(patches, spiced(addition, retype=True))),
        _shape("Agreement (GET /finance/agreements/{id})", record("Agreement", fields="id"), _agreement_check()),
        _shape("count", strategy(COUNT), _reads(lambda psa: psa.test_connection(), "GET", r"/count$")),
        _shape("companyinfo", strategy(COMPANY_INFO) | st.fixed_dictionaries(
            {"Codebase": st.sampled_from(("v2025_1/", "v4_6_release/", "v2024_2"))},
            optional={"CompanyName": st.text(), "IsCloud": st.booleans()}), _company_info),
        Shape("ErrorResponseMessage", st.tuples(statuses, error), _error(),
              st.tuples(statuses, spiced(error, retype=True))),
        Shape("throttled (429, Retry-After)", st.tuples(retry_after(), error), _throttled(),
              st.tuples(retry_after(), spiced(error, retype=True))),
        Shape("unreadable bodies", st.tuples(st.sampled_from([*sorted(REQUESTS), CODEBASE_LOOKUP]),
                                             broken(lists(addition))), _unreadable, None),
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
