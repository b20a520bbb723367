"""Answers generated from the vendor's own schemas, served to seatsync's Autotask client and
adapter without a socket, and what each decoding made of them.

``CASES`` names one answer shape each (an entity's query page or item, each write's answer, the
zone lookup, field information, a count, the request threshold, an error body): the vendor's
model it is generated from (tests/specs/autotask.subset.json and extra_spec.json beside this
file, every property nullable as spec.py explains, date-times any string too, at most three
records a page), the route it answers, and the port or client call that decodes it. ``SHAPES``
adds a throttled answer (429 with a Retry-After, on the route of the error body) and bodies
that are not JSON at all (``schema_fuzz.broken``, on the route of any case).

Half the answers are generated whole; the other half are the sandbox's own answer on that
route with a few fields of it, and of each record in it, generated from the model or left
out, so that the decoding of every field is reached, not only of the first one that fails.
Every other request is answered by an in-process sandbox (app/sandbox/autotask) seeded with
one company, contract, contract service and charge (and a second contract with the charges the
write cases change and delete), through a stand-in for the client's requests session: the real
HttpApi policy and requests' Response, no network. Each example's client is new; but for the
field information case, it starts with the picklists read before (a client reads them once).

``outcome(case, answer)`` is "data" (decoded), "typed" (a PsaError, e.g. PsaMalformedResponse)
or raises whatever else the decoding raised: the one thing that must never happen (or
``NeverAsked`` when the client never sent the request the answer was generated for).
tests/autotask/test_fuzz.py and ``python -m tests.autotask.fuzz_counts`` run these.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.billing.types import Line, LineKind
from app.sandbox.autotask import AutotaskSandbox, SandboxAccount, add_company, seed_account
from app.sandbox.server import CaseInsensitiveDict, Request
from app.services.http import RetryPolicy
from app.services.psa.autotask import AutotaskClient, AutotaskCredentials, AutotaskPsa, RequestBudget, charges
from app.services.psa.port import NewLine, PsaError
from tests import schema_fuzz
from tests.autotask import spec
from tests.schema_fuzz import schema_for

HOST = "https://sandbox.autotask.net"
LOOKUP = f"{HOST}/ATServicesRest"
ZONE = f"{HOST}/webservices5/ATServicesRest"
TODAY = date(2025, 3, 5)
#: Records a generated page holds at most (enough for every shape a page can take).
PAGE_ITEMS = 3
#: The invoice description of the seeded main line (a description update to it changes nothing).
MAIN_DESCRIPTION = "Microsoft 365 Business Premium"
#: The statuses an error body comes with (APIS.md §B2: 400, 401, 403, 404, 500; 429 from the limits).
ERROR_STATUSES = (400, 401, 403, 404, 409, 429, 500, 502, 503)


@cache
def document() -> dict[str, Any]:
    """The vendor's definitions as the live API fills them: every model property may be null
    (spec.py), a date-time may be any string (JSON Schema does not assert formats), pages hold
    at most ``PAGE_ITEMS`` records; plus the errors body of APIS.md §B2."""
    _, definitions = spec.documents()
    definitions = copy.deepcopy(definitions)
    for definition in definitions.values():
        for name, prop in definition.get("properties", {}).items():
            inner = prop.get("anyOf", [prop])[0]
            if inner.get("format") == "date-time":
                prop["anyOf"][0] = {"anyOf": [inner, {"type": "string"}]}
            if name == "items" and inner.get("type") == "array":
                inner["maxItems"] = PAGE_ITEMS
    definitions["Errors"] = {"type": "object", "properties": {"errors": {"type": "array",
                                                                           "items": {"type": "string"}}}}
    return {"definitions": definitions}


@cache
def generated(component: str) -> st.SearchStrategy[Any]:
    return strategy(schema_for(document(), component, max_depth=3))


def strategy(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of ``schema``, drawn by ``tests.schema_fuzz.strategy`` (one Hypothesis choice per
    value, built once): every field optional, at most ``PAGE_ITEMS`` items a list, and half the
    plain strings made of what a name from outside may hold and a message must not pass on as it
    is (``schema_fuzz.EDGE_ALPHABET``: control characters, bidirectional marks and isolates,
    astral characters, markup and quotes)."""
    return schema_fuzz.strategy(schema, max_items=PAGE_ITEMS, edge_text=True)


# -- the world every other request meets ---------------------------------------------------


@dataclass
class World:
    app: AutotaskSandbox
    psa: AutotaskPsa
    ids: dict[str, int]

    @property
    def client(self) -> AutotaskClient:
        return self.psa.client


Answer = tuple[int, bytes, str]
#: (method, a regex on the path, status, body or None for a spy[, headers]).
Override = tuple[str, str, int, bytes | None] | tuple[str, str, int, bytes, dict[str, str]]


class Session:
    """Stands for the client's requests session: answers each request from ``override`` when it
    matches, else from the sandbox. The same request is answered the same way every time (a write
    is made once), so an example costs the sandbox only the requests the generated answer leads
    to. ``override`` with no body is a spy: the sandbox's answer is noted (``spied``) once;
    ``override``'s fifth part, when there is one, holds headers to answer with."""

    def __init__(self, app: AutotaskSandbox, cache: dict[tuple[str, str, bytes], Answer],
                 override: Override | None) -> None:
        self.app = app
        self.cache = cache
        self.override = override
        self.spied: Answer | None = None
        self.served = 0  # requests ``override`` answered

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None, data: bytes | None = None,
                params: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        method = method.upper()
        url = f"{url}?{urlencode(params)}" if params else url
        body = data or b""
        extra: dict[str, str] = {}
        if self.override and self.override[0] == method and re.search(self.override[1], urlsplit(url).path):
            if self.override[3] is None:
                status, content, content_type = self.spied = self._sandbox(method, url, headers or {}, body)
                self.override = None
            else:
                status, content, content_type = self.override[2], self.override[3], "application/json; charset=utf-8"
                self.served += 1
                extra = dict(self.override[4]) if len(self.override) > 4 else {}  # type: ignore[misc]
        else:
            key = (method, url, body)
            if key not in self.cache:
                self.cache[key] = self._sandbox(method, url, headers or {}, body)
            status, content, content_type = self.cache[key]
        response = requests.Response()
        response.status_code = status
        response._content = content
        response.headers = requests.structures.CaseInsensitiveDict({"Content-Type": content_type, **extra})
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.url = url
        return response

    def _sandbox(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(url)
        resolved = self.app.resolve(method, parts.path)
        if resolved is None:
            answer = self.app.not_found(Request(method, parts.path, {}, CaseInsensitiveDict()))
        else:
            answer = resolved[1](Request(method, parts.path, parse_qs(parts.query, keep_blank_values=True),
                                         CaseInsensitiveDict(headers), body, params=resolved[2], url=url,
                                         base_url=HOST))
        return answer.status, answer.body, answer.headers.get("Content-Type", "application/json")

    def close(self) -> None:
        pass


@cache
def background() -> tuple[AutotaskSandbox, SandboxAccount, dict[str, int], dict[tuple[str, str, bytes], Answer]]:
    """The sandbox every request the generated answer does not match is sent to, seeded once."""
    app = AutotaskSandbox(now=lambda: datetime(2025, 3, 5, 9, 0), hourly_limit=10**9)
    app.base_url = HOST
    account = seed_account(app, SandboxAccount())
    store = app.store
    store.add_billing_code("Microsoft 365 prorations")
    company = add_company(app, "Contoso Ltd", domains=("contoso.com",))
    contract = store.add_contract(company, "Microsoft 365", start=date(2025, 1, 1), end=date(2025, 12, 31))
    service = store.add_service("Microsoft 365 Business Premium", "22.00", cost="18.00")
    line = store.add_contract_service(contract, service, units=5, start=date(2025, 3, 1),
                                      invoice_description=MAIN_DESCRIPTION,
                                      internal_description="seatsync:0123456789ab")
    code = min(store.tables["BillingCodes"])

    def charge(on: int, marker: str, service_line: int | None) -> int:
        dated = _prorate_on(on, service, marker)
        return store.create_charge(on, charges.charge_body(dated, contract_id=on, contract_service_id=service_line,
                                                           billing_code_id=code, charge_type=1, status=4,
                                                           currency="USD") | {"notes": charges.notes(dated)})

    charge(contract, "seatsync:0123456789ab:p", line)
    # The charges the write cases change and delete, on a contract of their own: what the sandbox
    # makes of those writes (once, when a case notes its own answer) changes no other case's answers.
    second = store.add_contract(company, "Microsoft 365 (dated lines)", start=date(2025, 1, 1), end=date(2025, 12, 31))
    return app, account, {"company": company, "contract": contract, "service": service, "line": line,
                          "second": second, "edited": charge(second, "seatsync:0123456789ab:r", None),
                          "deleted": charge(second, "seatsync:0123456789ab:s", None)}, {}


#: The picklists read of the sandbox's field information, for the worlds of cases that answer
#: something else (a client reads them once in its life; here each example's client is new).
PICKLISTS: dict[tuple[str, str], dict[str, str]] = {}


def world(override: Override | None = None, *, picklists: dict[tuple[str, str], dict[str, str]] | None = None
          ) -> World:
    """An adapter whose requests reach ``override`` or the sandbox in-process: fresh (nothing
    cached) but for ``picklists``, the client's picklist cache when given."""
    app, account, ids, answered = background()
    client = AutotaskClient(AutotaskCredentials(username=account.username, secret=account.secret,
                                                integration_code=account.integration_code, lookup_url=LOOKUP),
                            zone_url=ZONE, sleep=lambda seconds: None, budget=RequestBudget(limit=10**9),
                            threshold_every=0, retry=RetryPolicy(max_attempts=2, max_delay=0.0,
                                                                 retry_statuses_read=frozenset({429, 502, 503, 504})))
    client.api.session.close()
    client.api.session = Session(app, answered, override)  # type: ignore[assignment]
    if picklists is not None:
        client.picklists = picklists
    return World(app, AutotaskPsa(client, today=lambda: TODAY), ids)


# -- the cases ----------------------------------------------------------------------------------


def _main(w: World, quantity: int = 5) -> NewLine:
    return NewLine(agreement_id=str(w.ids["contract"]), product_id=str(w.ids["service"]), kind=LineKind.MAIN,
                   quantity=quantity, unit_price=Decimal("22.00"), start=date(2025, 4, 1), end=None,
                   description="Microsoft 365 Business Premium", marker="seatsync:fedcba987654")


def _prorate_on(contract: int, service: int, marker: str = "seatsync:0123456789ab:p") -> NewLine:
    return NewLine(agreement_id=str(contract), product_id=str(service), kind=LineKind.PRORATE, quantity=2,
                   unit_price=Decimal("22.00"), start=date(2025, 3, 10), end=date(2025, 3, 31),
                   description="Prorate", marker=marker, amount=Decimal("31.23"))


def _prorate(w: World) -> NewLine:
    return _prorate_on(w.ids["contract"], w.ids["service"], marker="seatsync:0123456789ab:q")


def _main_line(w: World) -> Line:
    return Line(id=str(w.ids["line"]), agreement_id=str(w.ids["contract"]), product_id=str(w.ids["service"]),
                kind=LineKind.MAIN, quantity=5, unit_price=Decimal("22.00"), start=date(2025, 3, 1), end=None,
                description=MAIN_DESCRIPTION, marker="seatsync:0123456789ab")


def _set_quantity(w: World) -> Any:
    return w.psa.set_quantity(_main_line(w), 7, date(2025, 4, 1))


def _dated_line(w: World, key: str) -> Line:
    """A dated line of the second contract (its charge ``key``), as the sync engine hands it back."""
    return Line(id=charges.line_id(w.ids[key]), agreement_id=str(w.ids["second"]), product_id=str(w.ids["service"]),
                kind=LineKind.PRORATE, quantity=2, unit_price=Decimal("22.00"), start=date(2025, 3, 10),
                end=date(2025, 3, 31), description="Prorate", marker="seatsync:0123456789ab:r", amount=Decimal("31.23"))


def _lines_of(w: World) -> Any:
    """Both contracts' lines in one batch (the contracts read by ``id in``, as nothing is cached)."""
    return w.psa.list_lines_of([str(w.ids["contract"]), str(w.ids["second"])])


@dataclass(frozen=True)
class Case:
    component: str
    method: str
    path: str  # a regex on the request path
    call: Callable[[World], Any]
    status: int = 200
    before: Callable[[World], Any] | None = None  # done before the generated answer is served


CASES: dict[str, Case] = {
    "ZoneInformation": Case("ZoneInformationResultModel", "GET", r"/zoneInformation$",
                            lambda w: w.client.zone_url(refresh=True)),
    "Companies": Case("QueryActionResult[CompanyModel,Account]", "POST", r"/Companies/query$",
                      lambda w: w.psa.list_companies()),
    "Contracts": Case("QueryActionResult[ContractModel,Contract]", "POST", r"/Contracts/query$",
                      lambda w: w.psa.list_agreements()),
    "Contract": Case("ItemQueryResultModel[ContractModel,Contract]", "GET", r"/Contracts/\d+$",
                     lambda w: w.psa.create_line(_main(w))),
    "Services": Case("QueryActionResult[ServiceModel,Service]", "POST", r"/Services/query$",
                     lambda w: w.psa.list_products()),
    "Service": Case("ItemQueryResultModel[ServiceModel,Service]", "GET", r"/Services/\d+$",
                    lambda w: w.psa.create_line(_main(w))),
    "ContractServices": Case("QueryActionResult[ContractServiceModel,ContractService]", "POST",
                             r"/ContractServices/query$", lambda w: w.psa.list_lines(str(w.ids["contract"]))),
    "ContractService": Case("ItemQueryResultModel[ContractServiceModel,ContractService]", "GET",
                            r"/ContractServices/\d+$", _set_quantity),
    "ContractServiceUnits": Case("QueryActionResult[ContractServiceUnitModel,ContractServiceUnit]", "POST",
                                 r"/ContractServiceUnits/query$", lambda w: w.psa.list_lines(str(w.ids["contract"]))),
    "ContractCharges": Case("QueryActionResult[ContractChargeModel,ContractCost]", "POST",
                            r"/ContractCharges/query$", lambda w: w.psa.list_lines(str(w.ids["contract"]))),
    "Contracts (list_lines_of)": Case("QueryActionResult[ContractModel,Contract]", "POST", r"/Contracts/query$",
                                      _lines_of),
    "ContractServices (list_lines_of)": Case("QueryActionResult[ContractServiceModel,ContractService]", "POST",
                                             r"/ContractServices/query$", _lines_of),
    "ContractServiceUnits (list_lines_of)": Case(
        "QueryActionResult[ContractServiceUnitModel,ContractServiceUnit]", "POST", r"/ContractServiceUnits/query$",
        _lines_of),
    "ContractCharges (list_lines_of)": Case("QueryActionResult[ContractChargeModel,ContractCost]", "POST",
                                            r"/ContractCharges/query$", _lines_of),
    "ContractCharge": Case("ItemQueryResultModel[ContractChargeModel,ContractCost]", "GET",
                           r"/ContractCharges/\d+$", lambda w: w.psa.add_dated_line(_prorate(w))),
    "BillingCodes": Case("QueryActionResult[BillingCodeModel,Allocation]", "POST", r"/BillingCodes/query$",
                         lambda w: w.psa.add_dated_line(_prorate(w))),
    "FieldInformation": Case("FieldInformationResultModel", "GET", r"/entityInformation/fields$",
                             lambda w: w.psa.list_agreements()),
    "QueryCount": Case("QueryCountResultModel", "POST", r"/query/count$", lambda w: w.psa.test_connection()),
    "OperationResult": Case("OperationResultModel", "POST", r"/ContractServiceAdjustments$", _set_quantity),
    "Company": Case("ItemQueryResultModel[CompanyModel,Account]", "GET", r"/Companies/\d+$",
                    lambda w: w.psa.create_line(_main(w))),
    "OperationResult (POST ContractServices)": Case("OperationResultModel", "POST", r"/Contracts/\d+/Services$",
                                                    lambda w: w.psa.create_line(_main(w))),
    "OperationResult (PATCH ContractServices)": Case(
        "OperationResultModel", "PATCH", r"/Contracts/\d+/Services$",
        lambda w: w.psa.update_description(_main_line(w), MAIN_DESCRIPTION)),
    "OperationResult (POST ContractCharges)": Case("OperationResultModel", "POST", r"/Contracts/\d+/Charges$",
                                                   lambda w: w.psa.add_dated_line(_prorate(w))),
    "OperationResult (PATCH ContractCharges)": Case(
        "OperationResultModel", "PATCH", r"/Contracts/\d+/Charges$",
        lambda w: w.psa.update_description(_dated_line(w, "edited"), "Prorate")),
    "OperationResult (DELETE ContractCharges)": Case(
        "OperationResultModel", "DELETE", r"/Contracts/\d+/Charges/\d+$",
        lambda w: w.psa.cancel_line(_dated_line(w, "deleted"), date(2025, 3, 20))),
    "ThresholdInformation": Case("ThresholdStatusResultModel", "GET", r"/ThresholdInformation$",
                                 lambda w: w.client.read_threshold()),
    "Errors": Case("Errors", "POST", r"/Companies/query$", lambda w: w.psa.list_companies()),
}


ERRORS = "Errors"
#: A 429 with a Retry-After header, on the request ERRORS answers.
THROTTLED = "Throttled (429, Retry-After)"
#: A body that is not the JSON asked for (``schema_fuzz.broken``), on the request of any other case.
UNREADABLE = "Unreadable bodies"
#: Every answer shape: the cases, then the throttled and the unreadable answers.
SHAPES = (*CASES, THROTTLED, UNREADABLE)


@cache
def base(name: str) -> Any:
    """What the sandbox itself answers on the case's route, as JSON (None: it never answers it)."""
    case = CASES[name]
    w = world((case.method, case.path, 200, None))
    try:
        case.call(w)
    except PsaError:
        pass
    finally:
        w.client.close()
    spied = w.client.api.session.spied  # type: ignore[attr-defined]
    return None if spied is None else json.loads(spied[1])


def _record(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The object schema inside ``schema`` (through nullable unions and arrays), if any."""
    while isinstance(schema, dict):
        if "properties" in schema:
            return schema
        schema = schema.get("items") if schema.get("type") == "array" else (schema.get("anyOf") or [None])[0]
    return None


@cache
def fields(component: str) -> tuple[dict[str, st.SearchStrategy[Any]], dict[str, dict[str, st.SearchStrategy[Any]]]]:
    """A strategy per field of the answer, and per field of the records it holds (``items``,
    ``item``, ``fields``)."""
    top = _record(schema_for(document(), component, max_depth=3)) or {"properties": {}}
    inner = {}
    for key, sub in top["properties"].items():
        record = _record(sub)
        if key in ("items", "item", "fields") and record is not None:
            inner[key] = {name: strategy(part) for name, part in record["properties"].items()}
    return {name: strategy(part) for name, part in top["properties"].items()}, inner


def _some(data: Any, names: list[Any], most: int) -> list[Any]:
    """Up to ``most`` of ``names``, different ones, drawn straight from Hypothesis's choices."""
    left, chosen = list(names), []
    for _ in range(data.draw_integer(0, min(most, len(left)))):
        chosen.append(left.pop(data.draw_integer(0, len(left) - 1)))
    return chosen


def _changed(data: Any, record: Any, strategies: dict[str, st.SearchStrategy[Any]]) -> Any:
    """``record`` with up to three fields generated from the model and up to two left out."""
    if not isinstance(record, dict):
        return record
    out = dict(record)
    for name in _some(data, sorted(strategies), 3):
        out[name] = data.draw(strategies[name])
    for name in _some(data, sorted(out), 2):
        del out[name]
    return out


def _overlaid(data: Any, name: str) -> Any:
    on = base(name)
    top, inner = fields(CASES[name].component)
    out = _changed(data, on, {k: v for k, v in top.items() if k not in inner})
    for key, strategies in inner.items():
        model = on.get(key) if isinstance(on, dict) else None
        if out.get(key) is not model:
            continue  # generated whole above, or left out
        if isinstance(model, list) and model:
            records = list(model)
            for index in _some(data, list(range(len(records))), 2):
                records[index] = _changed(data, records[index], strategies)
            out[key] = records
        elif isinstance(model, dict):
            out[key] = _changed(data, model, strategies)
    return out


def overlaid(name: str) -> st.SearchStrategy[Any]:
    """The sandbox's own answer on the case's route with a few fields of it, and of each record in
    it, generated from the model (or left out): answers that mostly read, with an odd field or
    two, reach the decoding of every field."""
    return schema_fuzz.Drawn(lambda data: _overlaid(data, name), f"overlaid({name})")


def answers(name: str) -> st.SearchStrategy[tuple[Any, ...]]:
    """A status and a body for ``name``: a payload of its model, whole or a few of its fields over
    the sandbox's own answer, written as JSON (non-ASCII escaped or as UTF-8). THROTTLED adds the
    headers (a Retry-After); UNREADABLE the headers and which case's request it answers."""
    if name == UNREADABLE:
        return schema_fuzz.Drawn(_unreadable, UNREADABLE)
    case = CASES[ERRORS if name == THROTTLED else name]

    def draw(data: Any) -> tuple[Any, ...]:
        whole = case is CASES[ERRORS] or not data.draw_boolean()
        payload = data.draw(generated(case.component)) if whole else _overlaid(data, name)
        ascii_only = data.draw_boolean()
        body = json.dumps(payload, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
        if name == THROTTLED:
            return 429, body, {"Retry-After": data.draw(schema_fuzz.retry_after())}
        return (ERROR_STATUSES[data.draw_integer(0, len(ERROR_STATUSES) - 1)] if name == ERRORS else case.status), body

    return schema_fuzz.Drawn(draw, f"answers({name})")


def _unreadable(data: Any) -> tuple[int, bytes, dict[str, str], str]:
    names = sorted(set(CASES) - {ERRORS})
    target = names[data.draw_integer(0, len(names) - 1)]
    body = data.draw(schema_fuzz.broken(generated(CASES[target].component)))
    return CASES[target].status, body, {}, target


class NotPlain(AssertionError):
    """A typed error whose message passes on characters from outside as they are."""


class NeverAsked(AssertionError):
    """The generated answer's request was never sent: the example tested nothing."""


def outcome(name: str, answer: tuple[Any, ...]) -> str:
    """"data" or "typed" (a PsaError whose message is plain text: one line, nothing unprintable);
    anything else the decoding raised propagates, and a message that is not plain is ``NotPlain``.
    ``answer``: (status, body[, headers[, the case whose request it answers]])."""
    status, body, *rest = answer
    headers = rest[0] if rest else {}
    case = CASES[rest[1]] if len(rest) > 1 else CASES[ERRORS if name == THROTTLED else name]
    fields = CASES["FieldInformation"]
    w = world((case.method, case.path, status, body, headers),
              picklists=None if (case.method, case.path) == (fields.method, fields.path) else PICKLISTS)
    try:
        case.call(w)
    except PsaError as error:
        if not str(error).isprintable():
            raise NotPlain(f"{name}: {str(error)!r}") from None
        return "typed"
    finally:
        w.client.close()
        if not w.client.api.session.served:  # type: ignore[attr-defined]
            raise NeverAsked(f"{name}: the client never sent {case.method} {case.path}")
    return "data"


def samples(name: str, count: int) -> list[tuple[Any, ...]]:
    """``count`` answers for ``name``, as the property test draws them."""
    found: list[tuple[Any, ...]] = []

    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(answers(name))
    def collect(answer: tuple[Any, ...]) -> None:
        found.append(answer)

    collect()
    return found
