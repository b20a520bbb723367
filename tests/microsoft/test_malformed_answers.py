"""Answers that cannot be read, over real HTTPS, for each Microsoft API: a typed error in plain words.

A server writes the bytes (raw_server.py): JSON cut short, an HTML page with status 200, fields of the wrong
type, an empty body, a chunked body that stops before its last chunk, a body shorter than its Content-Length.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.errors import SeatsyncError
from app.sandbox.server import TlsFiles
from app.services.http import BrokenAnswer, RetryPolicy
from app.services.microsoft import MalformedResponse, MicrosoftClients, MicrosoftSettings
from app.services.microsoft.config import GRAPH_SCOPE
from app.services.microsoft.skus import SkuCatalogue
from app.services.microsoft.wire import customer_from_partner_center, licenses_from_graph, user_from_graph
from tests.microsoft.conftest import FakeClock
from tests.microsoft.fuzz import TOKEN, plain
from tests.microsoft.raw_server import RawServer, chunked_cut_short, http

TENANT = "0a1b2c3d-0000-4000-8000-000000000001"
PARTNER = "0a1b2c3d-0000-4000-8000-000000000002"
SKU = {"skuId": "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "skuPartNumber": "SPB", "consumedUnits": 3,
       "prepaidUnits": {"enabled": 5, "warning": 0, "suspended": 0, "lockedOut": 0}, "subscriptionIds": []}
GOOD = {
    "/v1.0/subscribedSkus": {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscribedSkus",
                             "value": [SKU]},
    "/v1.0/users": {"value": [{"id": "u1", "userPrincipalName": "ada@contoso.com", "assignedLicenses": []}]},
    "/v1/customers": {"totalCount": 1, "items": [{"id": TENANT, "companyProfile": {
        "tenantId": TENANT, "domain": "contoso.onmicrosoft.com", "companyName": "Contoso"}}],
        "links": {"self": {"uri": "/customers?size=500", "method": "GET", "headers": []}},
        "attributes": {"objectType": "Collection"}},
    f"/v1/customers/{TENANT}/subscriptions": {"totalCount": 0, "items": [], "attributes": {"objectType": "Collection"}},
}
#: Each family's request and the fields a wrong-typed answer gets wrong.
WRONG_TYPES = {
    "/v1.0/subscribedSkus": {"value": [{**SKU, "consumedUnits": "3", "prepaidUnits": [5]}]},
    "/v1.0/users": {"value": {"id": "u1"}},
    "/v1/customers": {"items": [{"id": TENANT, "companyProfile": "Contoso"}]},
    f"/v1/customers/{TENANT}/subscriptions": {"items": [{"id": 7, "quantity": 1.5}]},
    "/oauth2/v2.0/token": {"token_type": "Bearer", "expires_in": "soon", "access_token": ["a", "b"]},
}
KINDS: dict[str, Callable[[bytes], bytes]] = {
    "JSON cut short": lambda body: http(200, body[: len(body) // 2]),
    "an HTML page with status 200": lambda _body: http(200, b"<html><head><title>Sign in to continue</title>"
                                                          b"</head><body>...</body></html>", "text/html"),
    "fields of the wrong type": lambda body: http(200, body),
    "an empty body": lambda _body: http(200, b""),
    "a chunked body cut short": chunked_cut_short,
    "a body shorter than its Content-Length": lambda body: http(200, body[:10], length=len(body)),
}


def read_graph(clients: MicrosoftClients, catalogue: SkuCatalogue, path: str) -> Any:
    if path.endswith("subscribedSkus"):
        return licenses_from_graph(clients.graph.subscribed_skus(TENANT), None, None, catalogue)
    return [user_from_graph(u) for u in clients.graph.users(TENANT)]


READS: dict[str, Callable[[MicrosoftClients, SkuCatalogue], Any]] = {
    "/v1.0/subscribedSkus": lambda c, cat: read_graph(c, cat, "subscribedSkus"),
    "/v1.0/users": lambda c, cat: read_graph(c, cat, "users"),
    "/v1/customers": lambda c, _cat: [customer_from_partner_center(i) for i in c.partner_center.customers()],
    f"/v1/customers/{TENANT}/subscriptions": lambda c, cat: licenses_from_graph(
        [], None, c.partner_center.subscriptions(TENANT), cat),
    "/oauth2/v2.0/token": lambda c, _cat: c.tokens.token(TENANT, GRAPH_SCOPE),
}


class Microsoft:
    """Answers like Entra ID, Graph and Partner Center, but ``broken`` for ``path``."""

    def __init__(self, path: str, broken: Callable[[bytes], bytes]) -> None:
        self.path = path
        self.broken = broken
        self.host = ""

    def __call__(self, method: str, path: str) -> bytes:
        if path.endswith("/openid-configuration"):
            tenant = path.split("/")[1]
            base = f"https://{self.host}/{tenant}"
            return http(200, json.dumps({"token_endpoint": f"{base}/oauth2/v2.0/token", "issuer": f"{base}/v2.0",
                                         "authorization_endpoint": f"{base}/oauth2/v2.0/authorize"}).encode())
        wanted = "/oauth2/v2.0/token" if path.endswith("/oauth2/v2.0/token") else path
        if wanted == self.path:
            good = WRONG_TYPES[wanted] if self.broken is KINDS["fields of the wrong type"] else GOOD.get(wanted, {
                "token_type": "Bearer", "expires_in": 3599, "access_token": TOKEN})
            return self.broken(json.dumps(good).encode())
        if wanted == "/oauth2/v2.0/token":
            return http(200, json.dumps({"token_type": "Bearer", "expires_in": 3599, "access_token": TOKEN}).encode())
        return http(200, json.dumps(GOOD[wanted]).encode())


@pytest.fixture
def raw(tls: TlsFiles, request: pytest.FixtureRequest) -> Iterator[tuple[RawServer, Microsoft]]:
    path, kind = request.param
    microsoft = Microsoft(path, KINDS[kind])
    with RawServer(tls, microsoft) as server:
        microsoft.host = server.host
        yield server, microsoft


def clients_for(server: RawServer, tls: TlsFiles, clock: FakeClock) -> MicrosoftClients:
    settings = MicrosoftSettings(client_id="11111111-2222-4333-8444-555555555555", client_secret="s3cret",
                                 partner_tenant_id=PARTNER, authority_host=server.host,
                                 graph_url=f"https://{server.host}/v1.0",
                                 partner_center_url=f"https://{server.host}/v1",
                                 ca_file=tls.ca, timeout=(5.0, 5.0))
    return MicrosoftClients.create(settings, sleep=clock.sleep, now=clock.now, monotonic=clock.now,
                                   rng=random.Random(1), retry=RetryPolicy(max_attempts=2))


CASES = [(path, kind) for path in READS for kind in KINDS]
#: What each message names: the read that failed, or the field.
NAMED = {"/v1.0/subscribedSkus": "subscribedSkus", "/v1.0/users": "users", "/v1/customers": "customers",
         f"/v1/customers/{TENANT}/subscriptions": "subscriptions", "/oauth2/v2.0/token": "token"}
#: What each kind of answer is called in the error.
SAID = {"JSON cut short": "JSON cut short", "an HTML page with status 200": 'an HTML page ("Sign in to continue")',
        "an empty body": "an empty body", "a chunked body cut short": "while the answer was being read",
        "a body shorter than its Content-Length": "while the answer was being read"}


@pytest.mark.parametrize("raw", CASES, indirect=True, ids=[f"{p} {k}" for p, k in CASES])
def test_an_unreadable_answer_is_a_typed_error_in_plain_words(raw, tls, clock, catalogue):
    server, microsoft = raw
    with clients_for(server, tls, clock) as clients, pytest.raises(SeatsyncError) as caught:
        READS[microsoft.path](clients, catalogue)
    error, kind = caught.value, next(k for k, v in KINDS.items() if v is microsoft.broken)
    message = str(error)
    assert plain(message) and "Traceback" not in message and "Error(" not in message
    if kind in ("a chunked body cut short", "a body shorter than its Content-Length"):
        assert isinstance(error, BrokenAnswer)  # a read: tried again, then given up
        assert sum(1 for m, p in server.requests if microsoft.path in p.split("?")[0]) == 2
    else:
        assert isinstance(error, MalformedResponse)
    if kind in SAID:
        assert SAID[kind] in message
    assert NAMED[microsoft.path] in message
