"""The HaloPSA sandbox: Halo's authorisation server and REST API on loopback.

Behaves as APIS.md §B3 describes the real one:
- POST /auth/token: OAuth2 client credentials (form), errors in RFC 6749
  shape ({"error", "error_description"}); a token lives ``token_lifetime``
  seconds of the sandbox's (injectable) clock. By default the sandbox is an
  instance's own authorisation server (https://<name>.halopsa.com/auth, or
  /auth of a self-hosted instance): ``?tenant=`` may be left out, and one
  given must name this instance. ``require_tenant=True`` makes it Halo's
  shared authorisation server instead (https://auth.haloservicedesk.com in
  Halo's API guide, "Getting started"), where the tenant picks the instance
  and a request without one is refused. Clients in use post to the
  instance's own /auth/token without a tenant (the PyPI HaloPSA package
  always does; HaloAPI's Connect-HaloAPI adds one only when given or when
  /api/authinfo names one);
- GET /api/AuthInfo (no token needed: HaloAPI calls it before signing in)
  answers {"auth_url", "tenant_id"}, the authorisation server and tenant a
  client should use;
- /api/*: Bearer required; scopes "all" or read:/edit: per area
  (customers, contracts, items, invoices: Halo's names as HaloAPI's
  HaloAuth class lists them; which area guards which endpoint [U]); a token
  asking a scope the application was not granted is refused, invalid_scope;
- lists: pageinate/page_size/page_no, count, search, order/orderdesc and each
  endpoint's filters; envelope {"record_count", "<collection>"};
- POST arrays with id-upsert; DELETE by id; errors as RFC 7807 problems
  (Halo's own error body is undocumented: records.problem);
- /api/Users (end users, the port's contacts; area customers): active users
  only unless ``includeinactive``, ``client_id`` filter; a new user lands on
  its client's main site (store.save_user).
Latency, throttling and faults come from ``SandboxServer.chaos``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from app.sandbox.halopsa.records import (
    Rejected,
    client_view,
    contract_view,
    item_view,
    line_view,
    money,
    problem,
)
from app.sandbox.halopsa.store import HaloStore
from app.sandbox.server import Request, Response, SandboxApp
from app.services.psa.halopsa import wire

#: Path prefix -> (scope area, collection key)
AREAS = {"client": "customers", "users": "customers", "clientcontract": "contracts", "item": "items",
         "recurringinvoice": "invoices"}


@dataclass
class Exchange:
    """One API request and its answer, kept when ``record`` is on (for tests)."""

    method: str
    path: str
    query: dict[str, list[str]]
    request: Any
    status: int
    response: Any


@dataclass
class _App:
    secret: str = field(repr=False)
    scopes: frozenset[str]


class HaloSandbox(HaloStore, SandboxApp):
    """A Halo instance named ``tenant``; ``require_tenant`` makes its token endpoint Halo's shared one."""

    def __init__(self, *, tenant: str = "seatsync", require_tenant: bool = False, token_lifetime: int = 3600,
                 now: Callable[[], float] = time.time, default_page_size: int = 50) -> None:
        SandboxApp.__init__(self)
        HaloStore.__init__(self)
        self.tenant = tenant
        self.require_tenant = require_tenant
        self.token_lifetime = token_lifetime
        self.now = now
        self.default_page_size = default_page_size
        self.apps: dict[str, _App] = {}
        self.tokens: dict[str, tuple[str, frozenset[str], float]] = {}
        self.record = False
        self.exchanges: list[Exchange] = []
        self.token_requests: list[dict[str, Any]] = []  # when recording; never the secret
        self.route("POST", "/auth/token", self._token, "token")
        self.route("GET", "/api/AuthInfo", self._auth_info, "GET AuthInfo")
        for entity, key, view in (("Client", "clients", self._client_list),
                                  ("ClientContract", "contracts", self._contract_list),
                                  ("Item", "items", self._item_list),
                                  ("RecurringInvoice", "invoices", self._invoice_list),
                                  ("Users", "users", self._user_list)):
            self.route("GET", f"/api/{entity}", self._guard(self._lister(key, view)), f"GET {entity}")
        self.route("GET", "/api/Client/{id}", self._guard(self._get_client), "GET Client/{id}")
        self.route("GET", "/api/ClientContract/{id}", self._guard(self._get_contract), "GET ClientContract/{id}")
        self.route("GET", "/api/Item/{id}", self._guard(self._get_item), "GET Item/{id}")
        self.route("GET", "/api/Users/{id}", self._guard(self._get_user), "GET Users/{id}")
        self.route("GET", "/api/RecurringInvoice/{id}", self._guard(self._get_invoice), "GET RecurringInvoice/{id}")
        self.route("POST", "/api/Client", self._guard(self._poster(self.save_client, self._client_out)))
        self.route("POST", "/api/ClientContract", self._guard(self._poster(self.save_contract, self._contract_out)))
        self.route("POST", "/api/Item", self._guard(self._poster(self.save_item, item_view)))
        self.route("POST", "/api/Users", self._guard(self._poster(self.save_user, dict)))
        self.route("POST", "/api/RecurringInvoice/updatelines",
                   self._guard(self._poster(self.save_line, line_view)))
        self.route("POST", "/api/RecurringInvoice/Lines",
                   self._guard(self._poster(self.save_line, line_view)))
        self.route("POST", "/api/RecurringInvoice", self._guard(self._poster(self.save_invoice, self._invoice_out)))
        for entity, table in (("Client", "clients"), ("ClientContract", "contracts"), ("Item", "items"),
                              ("RecurringInvoice", "invoices")):
            self.route("DELETE", f"/api/{entity}/{{id}}", self._guard(self._deleter(table)), f"DELETE {entity}")

    # -- seeding: API applications ----------------------------------------------

    def add_app(self, client_id: str, client_secret: str, scopes: str = "all") -> None:
        with self.lock:
            self.apps[client_id] = _App(client_secret, frozenset(scopes.split()))

    def revoke_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    # -- error shapes ---------------------------------------------------------------

    def not_found(self, request: Request) -> Response:
        return _json(problem(404, f"No route for {request.path}."), 404)

    def throttled(self, retry_after: int | None) -> Response:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return _json(problem(429, "Too many requests."), 429, headers)

    def server_error(self, status: int) -> Response:
        return _json(problem(status, "The server could not process the request."), status)

    # -- authorisation server ---------------------------------------------------------

    def _token(self, request: Request) -> Response:
        tenant = request.arg("tenant")
        if self.require_tenant and not tenant:
            return _oauth_error(400, "invalid_request", "The tenant parameter is missing.")
        if tenant and tenant.lower() != self.tenant.lower():
            return _oauth_error(400, "invalid_tenant", f"Tenant '{tenant}' was not found.")
        form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        if self.record:
            self.token_requests.append({"tenant": tenant, "content_type": request.headers.get("Content-Type"),
                                        **{k: v for k, v in form.items() if k != "client_secret"}})
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "Only client_credentials is supported.")
        with self.lock:
            app = self.apps.get(form.get("client_id", ""))
            if app is None or not secrets.compare_digest(app.secret, form.get("client_secret", "")):
                return _oauth_error(401, "invalid_client", "The client ID or secret is not valid.")
            asked = frozenset((form.get("scope") or "all").split())
            refused = frozenset() if "all" in app.scopes else asked - app.scopes  # "all" grants any narrower scope
            if refused:
                return _oauth_error(400, "invalid_scope", f"Scope not granted: {' '.join(sorted(refused))}.")
            token = secrets.token_urlsafe(24)
            self.tokens[token] = (form["client_id"], asked, self.now() + self.token_lifetime)
        return _json({"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime,
                      "scope": " ".join(sorted(asked))})

    def _auth_info(self, request: Request) -> Response:
        return _json({"auth_url": f"{request.base_url}/auth", "tenant_id": self.tenant})

    def _guard(self, handler: Callable[..., Response]) -> Callable[[Request], Response]:
        """Bearer and scope checks, then the handler, with errors in Halo's shape."""

        def guarded(request: Request) -> Response:
            auth = request.headers.get("Authorization") or ""
            token = auth[7:] if auth.lower().startswith("bearer ") else ""
            with self.lock:
                entry = self.tokens.get(token)
                if entry is None or self.now() >= entry[2]:
                    return _json(problem(401, "The access token is missing, invalid or expired."), 401,
                                 {"WWW-Authenticate": 'Bearer error="invalid_token"'})
                area = AREAS[request.path.split("/")[2].lower()]
                need = {f"read:{area}", f"edit:{area}"} if request.method == "GET" else {f"edit:{area}"}
                if "all" not in entry[1] and not need & entry[1]:
                    return _json(problem(403, f"The application may not {request.method} {area}."), 403)
                try:
                    body = None
                    if request.method == "POST":
                        try:
                            body = wire.loads(request.body) if request.body else None
                        except ValueError:
                            raise Rejected(400, "The request body is not valid JSON.") from None
                    response = handler(request, body) if request.method == "POST" else handler(request)
                except Rejected as error:
                    response = _json(problem(error.status, error.message), error.status)
                if self.record:  # what went over the wire, decoded again
                    answered = wire.loads(response.body) if response.body else None
                    self.exchanges.append(Exchange(request.method, request.path, request.query, body,
                                                   response.status, answered))
                return response

        return guarded

    # -- reads ----------------------------------------------------------------------

    def _lister(self, key: str, view: Callable[[Request], list[dict[str, Any]]]):
        def handler(request: Request) -> Response:
            records = view(request)
            search = (request.arg("search") or "").lower()
            if search:
                records = [r for r in records if search in str(r.get("name") or r.get("ref")
                                                                or r.get("client_name") or "").lower()]
            order = request.arg("order")
            if order:
                records.sort(key=lambda r: (r.get(order) is None, str(r.get(order) or "").lower()),
                             reverse=_flag(request, "orderdesc"))
            total = len(records)
            count = _int(request, "count")
            if count is not None:
                records = records[:count]
            if _flag(request, "pageinate"):
                size = _int(request, "page_size") or self.default_page_size
                page = _int(request, "page_no") or 1
                if size < 1 or page < 1:
                    raise Rejected(400, "page_size and page_no must be at least 1.")
                records = records[(page - 1) * size: page * size]
            return _json({"record_count": total, key: records})

        return handler

    def _client_list(self, request: Request) -> list[dict[str, Any]]:
        tenants = _flag(request, "includeazuretenants")
        return [client_view(c, with_tenants=tenants) for c in self.clients.values()
                if _flag(request, "includeinactive") or not c.get("inactive")]

    def _contract_list(self, request: Request) -> list[dict[str, Any]]:
        client_id = _int(request, "client_id")
        return [contract_view(c, listed=True) for c in self.contracts.values()
                if (client_id is None or c["client_id"] == client_id)
                and (_flag(request, "includeinactive") or c.get("active", True))]

    def _item_list(self, request: Request) -> list[dict[str, Any]]:
        return [item_view(i) for i in self.items.values()
                if (_flag(request, "includeinactive") or i["id"] not in self.inactive_items)
                and (not _flag(request, "recurringonly") or i.get("isrecurringitem"))]

    def _invoice_list(self, request: Request) -> list[dict[str, Any]]:
        client_id, contract_id = _int(request, "client_id"), _int(request, "contract_id")
        only = _int(request, "recurringinvoice_id")
        return [self._invoice_out(h, lines=_flag(request, "includelines")) for h in self.invoices.values()
                if (client_id is None or h["client_id"] == client_id)
                and (contract_id is None or h.get("contract_id") == contract_id)
                and (only is None or h["id"] == only)]

    def _user_list(self, request: Request) -> list[dict[str, Any]]:
        """Halo lists active users only unless ``includeinactive``; ``includeactive=false`` leaves them out."""
        client_id = _int(request, "client_id")
        active = (request.arg("includeactive") or "true").strip().lower() in ("true", "1", "yes")
        return [dict(u) for u in self.users.values()
                if (client_id is None or u["client_id"] == client_id)
                and (_flag(request, "includeinactive") if u.get("inactive") else active)]

    def _get_user(self, request: Request) -> Response:
        return _json(dict(self._one(self.users, request, "User")))

    def _one(self, table: dict[int, dict[str, Any]], request: Request, what: str) -> dict[str, Any]:
        try:
            record_id = int(request.params["id"])
        except ValueError:
            raise Rejected(400, f"'{request.params['id']}' is not a valid id.") from None
        if record_id not in table:
            raise Rejected(404, f"{what} {record_id} does not exist.")
        return table[record_id]

    def _get_client(self, request: Request) -> Response:
        return _json(client_view(self._one(self.clients, request, "Client"), with_tenants=True))

    def _get_contract(self, request: Request) -> Response:
        return _json(self._contract_out(self._one(self.contracts, request, "Contract")))

    def _get_item(self, request: Request) -> Response:
        return _json(item_view(self._one(self.items, request, "Item")))

    def _get_invoice(self, request: Request) -> Response:
        return _json(self._invoice_out(self._one(self.invoices, request, "Recurring invoice"), lines=True))

    # -- writes ---------------------------------------------------------------------

    def _poster(self, save: Callable[[Any], dict[str, Any]], out: Callable[[dict[str, Any]], dict[str, Any]]):
        def handler(request: Request, body: Any) -> Response:
            if not isinstance(body, list) or not body:
                raise Rejected(400, "The request body must be a JSON array of records.")
            saved = [out(save(obj)) for obj in body]
            return _json(saved[0] if len(saved) == 1 else saved)

        return handler

    def _deleter(self, table: str):
        def handler(request: Request) -> Response:
            records = getattr(self, table)
            self.delete(table, self._one(records, request, "Record")["id"])
            return Response(200, b"", {})

        return handler

    def _client_out(self, record: dict[str, Any]) -> dict[str, Any]:
        return client_view(record, with_tenants=True)

    def _contract_out(self, record: dict[str, Any]) -> dict[str, Any]:
        return contract_view(record, listed=False)

    def _invoice_out(self, header: dict[str, Any], *, lines: bool = True) -> dict[str, Any]:
        own = sorted((x for x in self.lines_by_id.values() if x["ihid"] == header["id"]),
                     key=lambda x: (x.get("sequenceid") or 0, x["id"]))
        total = money(sum((x["net_amount"] for x in own if not x.get("isinactive")), start=Decimal(0)))
        view = {**header, "total": total}
        if lines:
            view["lines"] = [line_view(x) for x in own]
        return view


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    is_problem = status >= 400 and isinstance(payload, dict) and "title" in payload
    ctype = "application/problem+json" if is_problem else "application/json"
    return Response(status, wire.dumps(payload).encode("utf-8"), {"Content-Type": ctype, **(headers or {})})


def _oauth_error(status: int, code: str, description: str) -> Response:
    return _json({"error": code, "error_description": description}, status)


def _flag(request: Request, name: str) -> bool:
    return (request.arg(name) or "").strip().lower() in ("true", "1", "yes")


def _int(request: Request, name: str) -> int | None:
    value = request.arg(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise Rejected(400, f"The value '{value}' is not valid for {name}.") from None

