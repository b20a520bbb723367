"""ConnectWise answers generated from the vendor's schemas, read by the real client and adapter.

Every case feeds a generated body to ``ConnectWisePsa`` through a client
whose HTTP layer answers it at once (no network): the client decodes it
(``_decode``, ``_error``, paging) and the adapter maps it (mapping.py), just
as an answer from a site would be. The schemas are the vendor's
(tests/specs/connectwise.subset.json), cut to the properties the adapter
asks for where it sends ``fields=`` (a site answers no others); the count
and codebase answers have no schema there and follow APIS.md §B1. ``tests.schema_fuzz.spiced`` adds text
and numbers at the edges, and other types.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import requests
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict

from app.billing.types import LineKind
from app.services.psa.connectwise import ConnectWiseClient, ConnectWiseCredentials, ConnectWisePsa
from app.services.psa.connectwise.adapter import AGREEMENT_FIELDS, CATALOG_FIELDS, COMPANY_FIELDS
from app.services.psa.port import NewLine
from tests.connectwise.spec import SPEC
from tests.schema_fuzz import Case, json_bytes, keeping, requiring, schema_for, spiced, strategy

SITE = "https://cw.example"
MEDIA = "application/vnd.connectwise.com+json; version=2025.8"
NEW_LINE = NewLine(agreement_id="7", product_id="3", kind=LineKind.MAIN, quantity=3, unit_price=Decimal("22.00"),
                   start=date(2025, 3, 1), end=None, description="Business Premium",
                   marker="seatsync:0123456789ab")

#: APIS.md §B1: GET {collection}/count answers {"count": n}.
COUNT = {"type": "object", "properties": {"count": {"type": "integer", "format": "int32"}}}
#: APIS.md §B1: GET /login/companyinfo/{companyId}.
COMPANY_INFO = {"type": "object", "properties": {
    "CompanyName": {"type": "string"}, "Codebase": {"type": "string"}, "VersionCode": {"type": "string"},
    "VersionNumber": {"type": "string"}, "CompanyID": {"type": "string"}, "IsCloud": {"type": "boolean"},
    "SiteUrl": {"type": "string"}}}
ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 415, 500)


def response(method: str, url: str, status: int, body: bytes, headers: dict[str, str] | None = None
             ) -> requests.Response:
    """A ``requests.Response`` as the HTTP layer hands it to the client."""
    answer = requests.Response()
    answer.status_code = status
    answer._content = body
    answer.headers = CaseInsensitiveDict({"Content-Type": MEDIA, **(headers or {})})
    answer.url = url
    answer.request = requests.Request(method, url).prepare()
    answer.encoding = "utf-8"
    return answer


class Answering:
    """A ConnectWisePsa whose every request is answered with ``status`` and ``body``."""

    def __init__(self, codebase: str = "v2025_1") -> None:
        credentials = ConnectWiseCredentials(site=SITE, company_id="seatsync", public_key="public",
                                             private_key="private", client_id="fuzz", codebase=codebase)
        self.client = ConnectWiseClient(credentials)
        self.client.http.request = self._answer  # type: ignore[method-assign]
        self.psa = ConnectWisePsa(self.client)
        self.status, self.body = 200, b"[]"

    def _answer(self, method: str, url: str, **_: Any) -> requests.Response:
        return response(method, url, self.status, self.body)

    def answer(self, payload: Any, status: int = 200) -> Answering:
        self.status, self.body = status, json_bytes(payload)
        return self


def _reads(call: Callable[[ConnectWisePsa], Any], status: int = 200) -> Callable[[Any], Any]:
    site = Answering()
    return lambda payload: call(site.answer(payload, status).psa)


def _error() -> Callable[[Any], Any]:
    site = Answering()
    return lambda payload: site.answer(payload[1], payload[0]).psa.list_companies()


def _company_info(payload: Any) -> Any:
    site = Answering(codebase="").answer(payload)
    return site.client.codebase


def record(component: str, *paths: str, fields: str = "") -> st.SearchStrategy:
    """A record as the schema allows it, or (as often) as a site sends it: with its id and the
    ids of ``paths``, positive. ``fields``: the adapter's partial-response request, so only
    those properties (a site answers no others)."""
    schema = schema_for(SPEC, component)
    if fields:
        schema = keeping(schema, *fields.split(","))
    ids = ("id", *paths)
    return strategy(schema) | strategy(requiring(schema, *ids, positive=ids))


def cases(examples: int = 100) -> list[Case]:
    """Every answer shape the adapter reads: each entity as the schema allows it, then at the edges."""
    shapes: list[tuple[str, st.SearchStrategy, Callable[[Any], Any]]] = [
        ("Company", st.lists(record("Company", fields=COMPANY_FIELDS), max_size=2),
         _reads(lambda psa: psa.list_companies())),
        ("Agreement", st.lists(record("Agreement", "company/id", fields=AGREEMENT_FIELDS), max_size=2),
         _reads(lambda psa: psa.list_agreements())),
        ("CatalogItem", st.lists(record("CatalogItem", fields=CATALOG_FIELDS), max_size=2),
         _reads(lambda psa: psa.list_products())),
        ("Addition (read)", st.lists(record("Addition", "product/id"), max_size=2),
         _reads(lambda psa: psa.list_lines("7"))),
        ("Addition (write answer)", record("Addition", "product/id"),
         _reads(lambda psa: psa.create_line(NEW_LINE), 201)),
        ("count", strategy(COUNT), _reads(lambda psa: psa.test_connection())),
        ("companyinfo", strategy(COMPANY_INFO) | st.fixed_dictionaries(
            {"Codebase": st.sampled_from(("v2025_1/", "v4_6_release/", "v2024_2"))},
            optional={"CompanyName": st.text(), "IsCloud": st.booleans()}), _company_info),
    ]
    error = strategy(schema_for(SPEC, "ErrorResponseMessage"))
    out = [Case(name, payloads, decode, examples) for name, payloads, decode in shapes]
    out.append(Case("ErrorResponseMessage", st.tuples(st.sampled_from(ERROR_STATUSES), error), _error(), examples))
    out += [Case(f"{name} (edges)", spiced(payloads, retype=True), decode, examples // 2)
            for name, payloads, decode in shapes]
    out.append(Case("ErrorResponseMessage (edges)", st.tuples(st.sampled_from(ERROR_STATUSES),
                                                              spiced(error, retype=True)), _error(), examples // 2))
    return out
