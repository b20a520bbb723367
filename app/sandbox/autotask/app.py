"""The Autotask PSA REST sandbox: zone lookup, header auth, QueryModel queries
with paging, writes answering {itemId}, {"errors": [...]} failures, the
per-endpoint thread limit and the shared hourly request budget.

Records are answered as the live API writes them: every field of the
entity's model, in the model's order, null when empty (fields.answered);
a query's includeFields answers those fields and id, with the user-defined
fields (as the vendor's own example answer shows). A wrong secret answers
401; a user name or tracking identifier the zone does not know answers 500
with an errors body, as the live API does (``_refused``).

Layout on loopback: the zone lookup answers at
``/ATServicesRest/V1.0/zoneInformation?user=...`` and each zone serves the
API under ``/<zone>/ATServicesRest/V1.0/...`` (a real zone is its own host,
e.g. webservices5.autotask.net). Moving a user to another zone
(``move_user``) makes the old zone answer 401, as Autotask does after a
database moves (APIS.md §B2: "on 401, re-fetch the zone and retry once").

Contacts are queried like any entity and written through their company,
``Companies/{parentId}/Contacts`` (POST creates, PATCH writes the fields
sent, PUT replaces; writes.ApiWrites.create_contact).

Facts followed: APIS.md §B2 and the fidelity checklist §E; the vendor's
Swagger subset (tests/specs/autotask.subset.json) for paths and models.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from app.sandbox.autotask import fields as meta
from app.sandbox.autotask.filters import QueryError, get_ci, parse_query
from app.sandbox.autotask.jsonio import dumps, loads
from app.sandbox.autotask.limits import HourlyBudget, ThreadGate
from app.sandbox.autotask.store import Store, StoreError
from app.sandbox.server import HttpError, Request, Response, SandboxApp

V1 = "/{zone}/ATServicesRest/V1.0"
QUERYABLE = frozenset({"Companies", "Contacts", "Contracts", "Services", "ContractServices", "ContractServiceUnits",
                       "ContractCharges", "BillingCodes"})


@dataclass
class ApiUser:
    username: str
    secret: str = field(repr=False)
    zone: str = "webservices5"
    #: (entity, action) pairs this user may not use; action: query, create, update, delete.
    denied: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class Exchange:
    """One request and its answer, recorded for schema validation in tests."""

    method: str
    route: str
    path: str
    query: dict[str, list[str]]
    header_names: frozenset[str]
    request: Any
    status: int
    response: Any


def errors(status: int, *messages: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, dumps({"errors": list(messages)}), {"Content-Type": "application/json",
                                                                 **(headers or {})})


def ok(payload: Any) -> Response:
    return Response(200, dumps(payload), {"Content-Type": "application/json; charset=utf-8"})


class AutotaskSandbox(SandboxApp):
    """Routes and state; seed it through ``store`` or the helpers below."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 now: Callable[[], datetime] | None = None, hourly_limit: int = 10_000, threads: int = 3,
                 processing_delay: float = 0.0, latency_scale: float = 1.0) -> None:
        super().__init__()
        self.store = Store(now) if now else Store()
        self.users: dict[str, ApiUser] = {}
        self.integration_codes: set[str] = set()
        self.gate = ThreadGate(threads)
        self.budget = HourlyBudget(hourly_limit, clock=clock, latency_scale=latency_scale)
        self.sleep = sleep
        self.processing_delay = processing_delay
        self.scheme = "http"
        self.base_url = ""  # set by serve(); else taken from the Host header
        self.exchanges: list[Exchange] | None = None
        self._exchange_lock = threading.Lock()
        self._routes_setup()

    # -- accounts ------------------------------------------------------------

    def add_user(self, username: str, secret: str, *, zone: str = "webservices5") -> ApiUser:
        user = ApiUser(username, secret, zone)
        self.users[username.lower()] = user
        return user

    def add_integration_code(self, code: str) -> None:
        self.integration_codes.add(code)

    def move_user(self, username: str, zone: str) -> None:
        self.users[username.lower()].zone = zone

    def deny(self, username: str, entity: str, action: str) -> None:
        self.users[username.lower()].denied.add((entity, action))

    def record_exchanges(self) -> list[Exchange]:
        self.exchanges = []
        return self.exchanges

    # -- routes ----------------------------------------------------------------

    def _routes_setup(self) -> None:
        r = self.route
        r("GET", "/ATServicesRest/V1.0/zoneInformation", self._zone_information, "zoneInformation")
        r("GET", V1 + "/zoneInformation", self._zone_information, "zoneInformation")
        r("GET", V1 + "/ThresholdInformation", self._api("ThresholdInformation", "query", self._threshold),
          "ThresholdInformation")
        r("GET", V1 + "/{entity}/entityInformation/fields", self._api("*", "query", self._fields),
          "{entity}/entityInformation/fields")
        r("POST", V1 + "/{entity}/query/count", self._api("*", "query", self._count), "{entity}/query/count")
        r("GET", V1 + "/{entity}/query/count", self._api("*", "query", self._count), "{entity}/query/count")
        r("GET", V1 + "/{entity}/query/next", self._api("*", "query", self._next_page), "{entity}/query/next")
        r("POST", V1 + "/{entity}/query", self._api("*", "query", self._query), "{entity}/query")
        r("GET", V1 + "/{entity}/query", self._api("*", "query", self._query), "{entity}/query")
        r("GET", V1 + "/Contracts/{parentId}/Services", self._api("ContractServices", "query", self._child_services),
          "Contracts/{parentId}/Services")
        for method, action in (("POST", "create"), ("PATCH", "update"), ("PUT", "update")):
            r(method, V1 + "/Contracts/{parentId}/Services",
              self._api("ContractServices", action, self._write_service), "Contracts/{parentId}/Services")
            r(method, V1 + "/Contracts/{parentId}/Charges",
              self._api("ContractCharges", action, self._write_charge), "Contracts/{parentId}/Charges")
            r(method, V1 + "/Companies/{parentId}/Contacts",
              self._api("Contacts", action, self._write_contact), "Companies/{parentId}/Contacts")
        r("DELETE", V1 + "/Contracts/{parentId}/Charges/{id}",
          self._api("ContractCharges", "delete", self._delete_charge), "Contracts/{parentId}/Charges/{id}")
        r("POST", V1 + "/Contracts/{parentId}/ServiceAdjustments",
          self._api("ContractServiceAdjustments", "create", self._adjustment),
          "Contracts/{parentId}/ServiceAdjustments")
        r("POST", V1 + "/ContractServiceAdjustments",
          self._api("ContractServiceAdjustments", "create", self._adjustment), "ContractServiceAdjustments")
        r("GET", V1 + "/{entity}/{id}", self._api("*", "query", self._get), "{entity}/{id}")

    def _zone_base(self, request: Request, zone: str) -> str:
        base = self.base_url or f"{self.scheme}://{request.headers.get('Host', '127.0.0.1')}"
        return f"{base}/{zone}/ATServicesRest/"

    def _zone_information(self, request: Request) -> Response:
        # Blank or unknown users get HTTP 500 with an errors body (APIS.md §B2), in these words
        # (KelvinTegelaar/AutotaskAPI#17).
        user = self.users.get((request.arg("user") or "").lower())
        if user is None:
            return self._recorded(request, "zoneInformation",
                                  errors(500, "Zone information could not be determined"))
        zone_number = "".join(ch for ch in user.zone if ch.isdigit()) or "0"
        return self._recorded(request, "zoneInformation", ok({
            "zoneName": f"Sandbox zone {zone_number}", "url": self._zone_base(request, user.zone),
            "webUrl": f"{self.base_url or ''}/{user.zone}/", "ci": int(zone_number)}))

    def _api(self, entity: str, action: str,
             handler: Callable[[Request, str], Response]) -> Callable[[Request], Response]:
        def serve(request: Request) -> Response:
            route = self._route_name(request)
            user = self.users.get((request.headers.get("UserName") or "").lower())
            code = request.headers.get("ApiIntegrationCode") or ""
            refused = self._refused(user, request.headers.get("Secret"), code, request.params.get("zone", ""))
            if refused is not None:
                return self._recorded(request, route, refused)
            assert user is not None  # an unknown user is refused above
            name = entity if entity != "*" else meta.canonical_entity(request.params.get("entity", ""))
            if name is None:
                return self._recorded(request, route, errors(404, f"Entity {request.params.get('entity')} "
                                                                   "was not found."))
            if (name, action) in user.denied:
                return self._recorded(request, route, errors(
                    500, f"The logged in Resource does not have the adequate permissions to {action} this "
                         "entity type."))
            if not self.gate.enter(code, name):
                return self._recorded(request, route, errors(
                    429, f"Thread threshold exceeded: at most {self.gate.threads} concurrent requests per "
                         f"object endpoint ({name}) and tracking identifier."))
            try:
                admitted, latency = self.budget.admit()
                if not admitted:
                    wait = int(self.budget.seconds_until_free()) + 1
                    return self._recorded(request, route, errors(
                        429, "Request threshold exceeded: the database has used its hourly allotment of API "
                             "requests.", headers={"Retry-After": str(wait)}))
                # Added latency and processing time both hold the request's thread.
                if latency + self.processing_delay:
                    self.sleep(latency + self.processing_delay)
                try:
                    response = handler(request, name)
                except StoreError as error:
                    response = errors(error.status, error.message)
                except QueryError as error:
                    response = errors(500, str(error))
                except HttpError as error:
                    response = error.response
            finally:
                self.gate.leave(code, name)
            return self._recorded(request, route, response)
        return serve

    def _refused(self, user: ApiUser | None, secret: str | None, code: str, zone: str) -> Response | None:
        """The answer to credentials the zone does not accept, or None. Only a wrong secret (or a
        database that moved to another zone) answers 401: an unknown user name and a tracking
        identifier that is not valid answer 500 with an errors body, as the live API does (a
        maintained client's maintainer, apigrate/autotask-restapi#19). The messages' wording is
        not published [U]."""
        if user is None:
            return errors(500, "UserName is invalid.")
        if zone.lower() != user.zone.lower() or secret != user.secret:
            return errors(401, "Unauthorized.")
        if code not in self.integration_codes:
            return errors(500, "IntegrationCode is invalid.")
        return None

    def _route_name(self, request: Request) -> str:
        resolved = self.resolve(request.method, request.path)
        return resolved[0] if resolved else request.path

    def _recorded(self, request: Request, route: str, response: Response) -> Response:
        if self.exchanges is not None:
            try:
                body = loads(request.body) if request.body else None
            except ValueError:
                body = request.body.decode("utf-8", "replace")
            with self._exchange_lock:
                self.exchanges.append(Exchange(
                    request.method, route, request.path, request.query,
                    frozenset(name.lower() for name in request.headers), body, response.status,
                    loads(response.body) if response.body else None))
        return response

    # -- handlers ----------------------------------------------------------------

    def _body(self, request: Request) -> Any:
        try:
            return loads(request.body) if request.body else None
        except ValueError:
            raise HttpError(errors(400, "The request body is not valid JSON.")) from None

    def _model(self, request: Request) -> Any:
        if request.method == "GET":
            search = request.arg("search")
            if search is None:
                raise HttpError(errors(400, "The search parameter is required."))
            try:
                return loads(search)
            except ValueError:
                raise HttpError(errors(400, "The search parameter is not valid JSON.")) from None
        return self._body(request)

    def _threshold(self, request: Request, entity: str) -> Response:
        return ok({"externalRequestThreshold": self.budget.limit,
                   "requestThresholdTimeframe": int(self.budget.window // 60),
                   "currentTimeframeRequestCount": self.budget.used()})

    def _fields(self, request: Request, entity: str) -> Response:
        return ok(meta.field_info(entity))

    def _records(self, entity: str, model: Any) -> list[dict[str, Any]]:
        if entity not in QUERYABLE:
            # "create-only, cannot be queried, updated or deleted" (APIS.md §B2).
            raise QueryError(f"The {entity} entity cannot be queried.")
        query = parse_query(entity, model)
        with self.store.lock:
            if entity == "ContractServiceUnits":
                source = self.store.unit_records(self._unit_candidates(model))
            else:
                source = list(self.store.tables[entity].values())
            found = [dict(r) for r in source if query.predicate(r)]
        found.sort(key=lambda r: r["id"])
        return found

    def _unit_candidates(self, model: Any) -> list[int]:
        """Contract services whose rows can match: narrowed by top-level contractID or
        contractServiceID conditions, so a query does not build every row of every contract."""
        services = self.store.tables["ContractServices"]
        wanted = set(services)
        for item in get_ci(model, "filter") or ():
            if not isinstance(item, dict) or str(get_ci(item, "op")).lower() not in ("eq", "in"):
                continue
            name = str(get_ci(item, "field")).lower()
            value = get_ci(item, "value")
            values = value if isinstance(value, list) else [value]
            ids = {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
            if name == "contractserviceid":
                wanted &= ids
            elif name == "contractid":
                wanted &= {cs_id for cs_id in wanted if services[cs_id]["contractID"] in ids}
        return sorted(wanted)

    def _count(self, request: Request, entity: str) -> Response:
        return ok({"queryCount": len(self._records(entity, self._model(request)))})

    def _query(self, request: Request, entity: str) -> Response:
        return self._page(request, entity, self._model(request), after=None, before=None)

    def _next_page(self, request: Request, entity: str) -> Response:
        try:
            paging = json.loads(request.arg("paging") or "")
            model = loads(request.arg("search") or "")
        except ValueError:
            raise HttpError(errors(400, "The paging link is damaged.")) from None
        return self._page(request, entity, model, after=paging.get("after"), before=paging.get("before"))

    def _page(self, request: Request, entity: str, model: Any, *, after: int | None,
              before: int | None) -> Response:
        query = parse_query(entity, model)
        records = self._records(entity, model)
        if query.include_fields and len(records) > 500 and "id" not in query.include_fields:
            raise QueryError("IncludeFields must include id when the query returns more than 500 records.")
        size = query.max_records
        if before is not None:
            earlier = [r for r in records if r["id"] < before]
            page = earlier[-size:]
        else:
            page = [r for r in records if after is None or r["id"] > after][:size]
        base = self._zone_base(request, request.params["zone"])
        search = quote(dumps(model).decode("utf-8"), safe="")

        def link(paging: dict[str, int]) -> str:
            return (f"{base}V1.0/{entity}/query/next?paging={quote(json.dumps(paging), safe='')}"
                    f"&search={search}")

        next_url = link({"after": page[-1]["id"]}) if page and any(r["id"] > page[-1]["id"] for r in records) \
            else None
        prev_url = link({"before": page[0]["id"]}) if page and records and records[0]["id"] < page[0]["id"] \
            else None
        page = [meta.answered(entity, r, query.include_fields) for r in page]
        return ok({"items": page, "pageDetails": {"count": len(page), "requestCount": size,
                                                  "prevPageUrl": prev_url, "nextPageUrl": next_url}})

    def _get(self, request: Request, entity: str) -> Response:
        try:
            item_id = int(request.params["id"])
        except ValueError:
            raise HttpError(errors(400, f"{request.params['id']} is not a valid id.")) from None
        with self.store.lock:
            if entity == "ContractServiceUnits":
                matches = [r for r in self.store.unit_records(sorted(self.store.tables["ContractServices"]))
                           if r["id"] == item_id]
                record = matches[0] if matches else None
            elif entity in QUERYABLE:
                record = self.store.tables[entity].get(item_id)
            else:
                raise QueryError(f"The {entity} entity cannot be queried.")
            return ok({"item": meta.answered(entity, record) if record else None})

    def _parent(self, request: Request) -> int:
        try:
            return int(request.params["parentId"])
        except ValueError:
            raise HttpError(errors(400, f"{request.params['parentId']} is not a valid id.")) from None

    def _object(self, request: Request) -> dict[str, Any]:
        body = self._body(request)
        if not isinstance(body, dict):
            raise HttpError(errors(400, "The request body must be a JSON object."))
        return body

    def _child_services(self, request: Request, entity: str) -> Response:
        parent = self._parent(request)
        with self.store.lock:
            self.store.contract(parent)
            items = sorted((meta.answered(entity, cs) for cs in self.store.tables["ContractServices"].values()
                            if cs["contractID"] == parent), key=lambda r: r["id"])
        return ok({"items": items, "pageDetails": {"count": len(items), "requestCount": 500,
                                                   "prevPageUrl": None, "nextPageUrl": None}})

    def _write_service(self, request: Request, entity: str) -> Response:
        parent, body = self._parent(request), self._object(request)
        if request.method == "POST":
            return ok({"itemId": self.store.create_contract_service(parent, body)})
        return ok({"itemId": self.store.update_contract_service(parent, body, replace=request.method == "PUT")})

    def _write_charge(self, request: Request, entity: str) -> Response:
        parent, body = self._parent(request), self._object(request)
        if request.method == "POST":
            return ok({"itemId": self.store.create_charge(parent, body)})
        return ok({"itemId": self.store.update_charge(parent, body)})

    def _write_contact(self, request: Request, entity: str) -> Response:
        parent, body = self._parent(request), self._object(request)
        if request.method == "POST":
            return ok({"itemId": self.store.create_contact(parent, body)})
        return ok({"itemId": self.store.update_contact(parent, body, replace=request.method == "PUT")})

    def _delete_charge(self, request: Request, entity: str) -> Response:
        try:
            charge_id = int(request.params["id"])
        except ValueError:
            raise HttpError(errors(400, f"{request.params['id']} is not a valid id.")) from None
        return ok({"itemId": self.store.delete_charge(self._parent(request), charge_id)})

    def _adjustment(self, request: Request, entity: str) -> Response:
        parent = self._parent(request) if "parentId" in request.params else None
        return ok({"itemId": self.store.create_adjustment(self._object(request), parent)})

    # -- the server's hooks ----------------------------------------------------------

    def not_found(self, request: Request) -> Response:
        return errors(404, f"No resource at {request.path}.")

    def throttled(self, retry_after: int | None) -> Response:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return errors(429, "Request threshold exceeded.", headers=headers)

    def server_error(self, status: int) -> Response:
        return Response(status, b"", {"Content-Type": "text/html"})
