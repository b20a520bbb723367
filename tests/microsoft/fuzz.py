"""Every answer Microsoft's documented shapes allow, and worse, through seatsync's decoding.

Each ``Shape`` pairs a strategy for one kind of answer (a JSON Schema of
schemas.py, drawn by ``tests.schema_fuzz.strategy``) with the client code that reads it,
from the answer's bytes to the billing core's types: the real ``HttpApi``,
``GraphClient``, ``PartnerCenterClient`` and msal (through ``TokenProvider``)
over a session that hands back canned answers instead of a socket. A run
must end in data or a ``SeatsyncError`` whose message is plain text; anything
else is a bug the test (test_fuzz.py) and the counting runner
(``python -m tests.microsoft.fuzz_counts``) report.

Three variants of every schema are drawn from: the documented shape
(schemas.py as is), a hostile one (every value may also be null, of another
type, a huge, negative or fractional number, or text with control
characters, bidirectional marks, astral characters or lone surrogates) and
a sparse one (every field optional). Besides the answers of schemas.py, the
shapes read 429s with their Retry-After and the claims of the access token
whose roles seatsync checks. Graph's ``users/$count`` and ``users/{id}``,
which the sandbox serves, are not among them: GraphClient reads neither.
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from hypothesis import strategies as st

from app.errors import SeatsyncError
from app.services.http import HttpApi, RetryPolicy
from app.services.microsoft.config import GRAPH_SCOPE, MicrosoftSettings
from app.services.microsoft.errors import MicrosoftError
from app.services.microsoft.fields import Reader
from app.services.microsoft.graph import USER_FIELDS, GraphClient
from app.services.microsoft.partner_center import PartnerCenterClient
from app.services.microsoft.permissions import GRAPH_CALLS, GRAPH_PERMISSIONS, check_graph_token
from app.services.microsoft.skus import SkuCatalogue
from app.services.microsoft.tokens import TokenProvider
from app.services.microsoft.wire import customer_from_partner_center, licenses_from_graph, user_from_graph
from tests import schema_fuzz
from tests.microsoft import schemas

TENANT = "0a1b2c3d-0000-4000-8000-000000000001"
PARTNER = "0a1b2c3d-0000-4000-8000-000000000002"
GRAPH_URL = "https://graph.test/v1.0"
PC_URL = "https://partner.test/v1"
AUTHORITY = "login.test"
#: A JWT-shaped token whose roles hold both Graph permissions seatsync needs.
TOKEN = "eyJ0eXAiOiJKV1QifQ.eyJyb2xlcyI6WyJPcmdhbml6YXRpb24uUmVhZC5BbGwiLCJVc2VyLlJlYWQuQWxsIl19.c2ln"

#: Text that has broken decoders before: empty, control characters, bidirectional marks, a lone surrogate,
#: astral characters, markup, format strings, impossible dates, padding, a path, a huge string.
NASTY_TEXT = ["", " ", "\x00", "\x1b[31mred", "a\nb", "\r\n", "\t", "\u202egnp.exe", "\u200f\u2066x\u2069",
              "\ud800", "\udfff", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🀄👩‍👩‍👧", "\ufeff",  # noqa: RUF001 - look-alike letters, on purpose "\u0085", "\u2028", "<b>x</b>&amp;", "%s%n{0}",
              "2026-02-30T00:00:00Z", "0000-00-00", "9999-12-31T23:59:59Z", "2026-01-01T00:00:00+99:99",
              " P1M ", "p1y", "ANNUAL", "../../x", "https://elsewhere.example/x", "x" * 5000, "NaN", "-1", "1e999"]
#: Numbers where Microsoft documents Int32: past its range, negative, fractional, huge.
NASTY_NUMBERS = [0, -1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63, -(2**63), 10**30, 10**300, 0.5, -0.0, 1e308,
                 1e-300, 3.0]
ERROR_STATUSES = [400, 401, 403, 404, 409]

_NULL = {"type": "null"}
_ANY_TEXT = {"anyOf": [{"type": "string"}, {"enum": NASTY_TEXT}]}
_ANY_NUMBER = {"anyOf": [{"type": "integer"}, {"type": "number"}, {"enum": NASTY_NUMBERS}]}
_OTHER_TYPES = {"anyOf": [_NULL, _ANY_TEXT, _ANY_NUMBER, {"type": "boolean"}, {"type": "array", "maxItems": 2},
                          {"type": "object", "maxProperties": 2}]}


def hostile(schema: Any) -> Any:
    """``schema`` where every value may also be null, of another type, or an extreme of its own type."""
    if not isinstance(schema, dict):
        return schema
    if "anyOf" in schema:
        return {"anyOf": [hostile(s) for s in schema["anyOf"]] + [_OTHER_TYPES]}
    kind = schema.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if "properties" in schema:
        inner = {**schema, "properties": {k: hostile(v) for k, v in schema["properties"].items()}}
        return {"anyOf": [inner, _OTHER_TYPES]}
    if kinds & {"array"} and "items" in schema:
        return {"anyOf": [{**schema, "items": hostile(schema["items"])}, _OTHER_TYPES]}
    return {"anyOf": [schema, _OTHER_TYPES]}


def sparse(schema: Any) -> Any:
    """``schema`` with every field optional, at every depth."""
    if isinstance(schema, list):
        return [sparse(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: sparse(v) for k, v in schema.items() if k != "required"}
    if "properties" in schema:
        out["properties"] = {k: sparse(v) for k, v in schema["properties"].items()}
    return out


def strategy(schema: dict[str, Any], items: int = 3) -> st.SearchStrategy[Any]:
    """Payloads of ``schema``, with at most ``items`` items in an array (more find nothing fewer would not).

    Drawn by ``tests.schema_fuzz.strategy`` (one Hypothesis choice per value, a pattern such as a
    GUID's one per character class; built once)."""
    key = json.dumps([schema, items], sort_keys=True)
    if key not in _BUILT:
        _BUILT[key] = schema_fuzz.strategy(schema, max_items=items)
    return _BUILT[key]


_BUILT: dict[str, st.SearchStrategy[Any]] = {}


def variants(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """The documented, hostile and sparse payloads of ``schema`` (built when first drawn from)."""
    return st.deferred(lambda: st.one_of(strategy(schema), strategy(hostile(schema)), strategy(sparse(schema))))


# -- a session that answers from a script --------------------------------------------------------------------


def answer(status: int, body: bytes, content_type: str = "application/json",
           headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body  # a canned answer, as requests would have read it
    response.headers["Content-Type"] = content_type
    response.headers.update(headers or {})
    response.encoding = None
    return response


class ScriptedSession:
    """Stands in for ``requests.Session``: each request takes the script's next answer (the last repeats)."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.verify: Any = True
        self.trust_env = False
        self.script: list[Callable[[str, str], requests.Response]] = []
        self.sent = 0

    def play(self, *answers: Callable[[str, str], requests.Response] | requests.Response) -> None:
        self.script = [a if callable(a) else (lambda _m, _u, a=a: a) for a in answers]
        self.sent = 0

    def request(self, method: str, url: str, **_: Any) -> requests.Response:
        step = self.script[min(self.sent, len(self.script) - 1)]
        self.sent += 1
        return step(method, url)

    def close(self) -> None:
        pass


def encode(payload: Any) -> bytes:
    """A payload as bytes on the wire (a lone surrogate escaped, as any JSON writer sends it)."""
    return json.dumps(payload).encode()


class StaticTokens:
    """A token provider that always has a token (the Graph and Partner Center shapes test their own reads)."""

    def __init__(self, token: str = TOKEN) -> None:
        self.issued = token

    def token(self, tenant: str, scope: str) -> str:
        return self.issued

    def invalidate(self, tenant: str, scope: str) -> None:
        pass


def _api(name: str, base: str, session: ScriptedSession) -> HttpApi:
    return HttpApi(name=name, base_url=base, session=session,  # type: ignore[arg-type]
                   retry=RetryPolicy(max_attempts=2), sleep=lambda _s: None)


def discovery(tenant: str = TENANT) -> dict[str, Any]:
    base = f"https://{AUTHORITY}/{tenant}"
    return {"token_endpoint": f"{base}/oauth2/v2.0/token", "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "issuer": f"{base}/v2.0", "token_endpoint_auth_methods_supported": ["client_secret_post"]}


def token_answer() -> bytes:
    return encode({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": TOKEN})


# -- the shapes ------------------------------------------------------------------------------------------------


@dataclass
class Reading:
    """The clients a shape reads through, over scripted sessions."""

    catalogue: SkuCatalogue

    def __post_init__(self) -> None:
        self.graph_session = ScriptedSession()
        self.pc_session = ScriptedSession()
        self.token_session = ScriptedSession()
        self.graph = GraphClient(_api("Microsoft Graph", GRAPH_URL, self.graph_session),
                                 StaticTokens())  # type: ignore[arg-type]
        self.partner_center = PartnerCenterClient(_api("Partner Center", PC_URL, self.pc_session),
                                                  StaticTokens(), PARTNER)  # type: ignore[arg-type]
        self.settings = MicrosoftSettings(client_id="11111111-2222-4333-8444-555555555555", client_secret="s3cret",
                                          partner_tenant_id=PARTNER, authority_host=AUTHORITY,
                                          graph_url=GRAPH_URL, partner_center_url=PC_URL)
        self.token_api = _api("Microsoft Entra ID", f"https://{AUTHORITY}", self.token_session)

    def tokens(self) -> TokenProvider:
        """A fresh provider (msal caches what it read: each example starts clean)."""
        return TokenProvider(self.settings, self.token_api, now=lambda: 1_800_000_000.0)


def read_skus(reading: Reading, body: bytes) -> Any:
    reading.graph_session.play(answer(200, body), answer(200, b'{"value": []}'))
    return licenses_from_graph(reading.graph.subscribed_skus(TENANT), None, None, reading.catalogue)


def read_directory(reading: Reading, body: bytes) -> Any:
    reading.graph_session.play(answer(200, body), answer(200, b'{"value": []}'))
    directory = reading.graph.directory_subscriptions(TENANT)
    sku_ids = {d.obj.get("skuId") for d in directory if isinstance(d.obj.get("skuId"), str)}
    skus = [Reader({"skuId": s, "consumedUnits": 0, "prepaidUnits": {"enabled": 0}}, f"sku {i}", TENANT)
            for i, s in enumerate(sorted(sku_ids))]
    return licenses_from_graph(skus, directory, None, reading.catalogue)


def read_users(reading: Reading, body: bytes) -> Any:
    reading.graph_session.play(answer(200, body), answer(200, b'{"value": []}'))
    return [user_from_graph(u) for u in reading.graph.users(TENANT)]


def read_graph_error(reading: Reading, status: int, body: bytes) -> Any:
    reading.graph_session.play(answer(status, body))
    return reading.graph.subscribed_skus(TENANT)


def read_customers(reading: Reading, body: bytes) -> Any:
    reading.pc_session.play(answer(200, body), answer(200, b'{"items": []}'))
    return [customer_from_partner_center(c) for c in reading.partner_center.customers()]


def read_customer(reading: Reading, body: bytes) -> Any:
    reading.pc_session.play(answer(200, body))
    return customer_from_partner_center(reading.partner_center.customer(TENANT))


def read_subscriptions(reading: Reading, body: bytes) -> Any:
    reading.pc_session.play(answer(200, body))
    terms = reading.partner_center.subscriptions(TENANT)
    ids = [t.obj.get("id") for t in terms if isinstance(t.obj.get("id"), str)]
    sku = Reader({"skuId": "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "consumedUnits": 0,
                  "prepaidUnits": {"enabled": 0}, "subscriptionIds": ids}, "sku", TENANT)
    return licenses_from_graph([sku], None, terms, reading.catalogue)


def read_pc_error(reading: Reading, status: int, body: bytes) -> Any:
    reading.pc_session.play(answer(status, body))
    return reading.partner_center.subscriptions(TENANT)


def _entra(reading: Reading, discovered: bytes, status: int, body: bytes) -> Any:
    def route(_method: str, url: str) -> requests.Response:
        if urlsplit(url).path.endswith("/openid-configuration"):
            return answer(200, discovered)
        return answer(status, body)

    reading.token_session.play(route)
    return reading.tokens().token(TENANT, GRAPH_SCOPE)


def read_token(reading: Reading, body: bytes) -> Any:
    return _entra(reading, encode(discovery()), 200, body)


def read_token_error(reading: Reading, status: int, body: bytes) -> Any:
    return _entra(reading, encode(discovery()), status, body)


def read_discovery(reading: Reading, body: bytes) -> Any:
    return _entra(reading, body, 200, token_answer())


def read_graph_throttled(reading: Reading, retry_after: str, body: bytes) -> Any:
    reading.graph_session.play(answer(429, body, headers={"Retry-After": retry_after}))
    return reading.graph.subscribed_skus(TENANT)


def read_pc_throttled(reading: Reading, retry_after: str, body: bytes) -> Any:
    reading.pc_session.play(answer(429, body, headers={"Retry-After": retry_after}))
    return reading.partner_center.subscriptions(TENANT)


#: Every Graph permission a token's roles are compared with (permissions.GRAPH_CALLS).
ROLES = sorted({name for _, enough in GRAPH_CALLS.values() for name in enough})
#: The claims of an app-only access token for Graph, as Entra ID writes them (the roles are what seatsync reads).
ACCESS_TOKEN_CLAIMS = schemas.obj(
    {"aud": schemas.STR, "iss": schemas.STR, "tid": schemas.GUID, "appid": schemas.GUID,
     "roles": {"type": "array", "items": {"anyOf": [{"enum": ROLES}, schemas.STR]}}},
    {"exp": schemas.INT32, "iat": schemas.INT32, "idtyp": {"const": "app"}, "oid": schemas.GUID})
_JWT_HEADER = base64.urlsafe_b64encode(b'{"typ":"JWT","alg":"RS256"}').rstrip(b"=").decode()


def granted(claims: dict[str, Any]) -> dict[str, Any]:
    """``claims`` whose roles hold every Graph permission seatsync needs (and whatever else they held)."""
    return {**claims, "roles": [*GRAPH_PERMISSIONS, *claims.get("roles", [])]}


def access_token(claims: bytes) -> str:
    """A JWT-shaped access token whose payload is ``claims`` (base64url, unpadded)."""
    return f"{_JWT_HEADER}.{base64.urlsafe_b64encode(claims).rstrip(b'=').decode()}.c2ln"


def read_token_roles(reading: Reading, claims: bytes) -> Any:
    """What the connection test does with a customer tenant's Graph token (admin.py): the token
    from Entra ID, then its roles; and what Graph's 403 with that token reads of them (graph.py
    names the permission the roles lack)."""
    issued = read_token(reading, encode({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                         "access_token": access_token(claims)}))
    graph = GraphClient(_api("Microsoft Graph", GRAPH_URL, reading.graph_session),
                        StaticTokens(issued))  # type: ignore[arg-type]
    reading.graph_session.play(answer(403, encode({"error": {"code": "Authorization_RequestDenied",
                                                             "message": "Insufficient privileges."}})))
    try:
        graph.subscribed_skus(TENANT)
    except MicrosoftError as refused:
        if not plain(str(refused)):
            raise
    check_graph_token(issued, TENANT)


def collection(item: dict[str, Any]) -> dict[str, Any]:
    """A Graph page whose @odata.nextLink, when there is one, stays on Graph (the script's next page is empty)."""
    return schemas.collection(item, "^https://graph.microsoft.com/v1.0/[$]metadata#", f"^{re.escape(GRAPH_URL)}/")


def _json(schema: dict[str, Any]) -> st.SearchStrategy[tuple[bytes]]:
    return variants(schema).map(lambda p: (encode(p),))


def _discovered(schema: dict[str, Any]) -> st.SearchStrategy[tuple[bytes]]:
    """Discovery documents, half of them naming the authority's own token endpoint (the others are refused)."""
    def fix(payload: Any, own: bool) -> tuple[bytes]:
        if own and isinstance(payload, dict):
            payload = {**payload, "token_endpoint": discovery()["token_endpoint"]}
        return (encode(payload),)

    return st.builds(fix, variants(schema), st.booleans())


def _error(schema: dict[str, Any]) -> st.SearchStrategy[tuple[int, bytes]]:
    return st.tuples(st.sampled_from(ERROR_STATUSES), variants(schema).map(encode))


def _broken(schema: dict[str, Any]) -> st.SearchStrategy[tuple[bytes]]:
    """Bodies that are not the JSON asked for: cut short, HTML, empty, other bytes, deeply nested."""
    cut = st.builds(lambda body, at: body[:int(len(body) * at)],
                    st.deferred(lambda: strategy(schema, 1)).map(encode), st.floats(0, 1, exclude_max=True))
    return st.one_of(cut, st.binary(max_size=64), st.sampled_from([
        b"", b" ", b"<html><head><title>Sign in</title></head></html>", b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00",
        b"[" * 100_000, b'{"value": 1e999}', b"null", b"[]", b'"value"', b"{\"value\": [}", b"\x00\x01",
    ])).map(lambda b: (b,))


@dataclass(frozen=True)
class Shape:
    name: str
    strategy: st.SearchStrategy[tuple[Any, ...]]
    read: Callable[..., Any]
    #: Examples a test run draws (times SEATSYNC_FUZZ_SCALE).
    examples: int = 300


def _throttled(schema: dict[str, Any]) -> st.SearchStrategy[tuple[str, bytes]]:
    return st.tuples(schema_fuzz.retry_after(), variants(schema).map(encode))


SHAPES: dict[str, Shape] = {s.name: s for s in [
    Shape("graph subscribedSkus", _json(collection(schemas.SUBSCRIBED_SKU)), read_skus),
    Shape("graph subscribedSkus, broken bodies", _broken(collection(schemas.SUBSCRIBED_SKU)), read_skus),
    Shape("graph directory/subscriptions", _json(collection(schemas.COMPANY_SUBSCRIPTION)), read_directory),
    Shape("graph users", _json(collection(schemas.user(list(USER_FIELDS)))), read_users),
    Shape("graph error", _error(schemas.GRAPH_ERROR), read_graph_error),
    Shape("graph throttled (429, Retry-After)", _throttled(schemas.GRAPH_ERROR), read_graph_throttled),
    Shape("partner center customers", _json(schemas.CUSTOMERS), read_customers),
    Shape("partner center customers, broken bodies", _broken(schemas.CUSTOMERS), read_customers),
    Shape("partner center customer", _json(schemas.CUSTOMER), read_customer),
    Shape("partner center subscriptions", _json(schemas.SUBSCRIPTIONS), read_subscriptions),
    Shape("partner center error", _error(schemas.PC_ERROR), read_pc_error),
    Shape("partner center throttled (429, Retry-After)", _throttled(schemas.PC_THROTTLED), read_pc_throttled),
    Shape("entra token", _json(schemas.TOKEN), read_token),
    Shape("entra token, broken bodies", _broken(schemas.TOKEN), read_token),
    Shape("entra token error", _error(schemas.ENTRA_ERROR), read_token_error),
    Shape("entra openid-configuration", _discovered(schemas.OPENID_CONFIGURATION), read_discovery),
    Shape("entra access token claims (roles)", st.one_of(
        variants(ACCESS_TOKEN_CLAIMS), strategy(ACCESS_TOKEN_CLAIMS).map(granted)).map(encode).map(lambda c: (c,))
        | st.binary(max_size=48).map(lambda c: (c,)), read_token_roles),
]}


# -- the verdict -----------------------------------------------------------------------------------------------

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def plain(message: str) -> bool:
    """Whether a message is plain text: one that cannot drive a terminal, reorder a line or fail to encode."""
    return len(message) < 2000 and not any(
        unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") or c in _BIDI for c in message)


def outcome(reading: Reading, shape: Shape, args: tuple[Any, ...]) -> str:
    """"data" or "typed error"; raises anything else (or a typed error whose message is not plain)."""
    try:
        shape.read(reading, *args)
    except SeatsyncError as error:
        if not plain(str(error)):
            raise AssertionError(f"the message is not plain text: {str(error)!r}") from error
        return "typed error"
    return "data"
