"""Answers generated from the vendor's own schemas, served to seatsync's Autotask client and
adapter without a socket, and what each decoding made of them.

``CASES`` names one answer shape each (an entity's query page or item, a write's answer, the
zone lookup, field information, a count, the request threshold, an error body): the vendor's
model it is generated from (tests/specs/autotask.subset.json and extra_spec.json beside this
file, every property nullable as spec.py explains, date-times any string too, at most three
records a page), the route it answers, and the port or client call that decodes it.

Half the answers are generated whole; the other half are the sandbox's own answer on that
route with a few fields of it, and of each record in it, generated from the model or left
out, so that the decoding of every field is reached, not only of the first one that fails.
Every other request is answered by an in-process sandbox (app/sandbox/autotask) seeded with
one company, contract, contract service and charge, through a stand-in for the client's
requests session: the real HttpApi policy and requests' Response, no network.

``outcome(case, answer)`` is "data" (decoded), "typed" (a PsaError, e.g. PsaMalformedResponse)
or raises whatever else the decoding raised: the one thing that must never happen.
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
from tests.autotask import spec
from tests.schema_fuzz import from_schema, schema_for

HOST = "https://sandbox.autotask.net"
LOOKUP = f"{HOST}/ATServicesRest"
ZONE = f"{HOST}/webservices5/ATServicesRest"
TODAY = date(2025, 3, 5)
#: Records a generated page holds at most (enough for every shape a page can take).
PAGE_ITEMS = 3
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
    """``from_schema(schema)``, built once: objects, arrays and unions are composed here from
    their parts' strategies (hypothesis-jsonschema would merge an object's subschemas again at
    every draw, seconds for a 61-field company), leaves are hypothesis-jsonschema's own."""
    if "anyOf" in schema and len(schema) == 1:
        return st.one_of([strategy(part) for part in schema["anyOf"]])
    if schema.get("type") == "object" and "properties" in schema and schema.get("additionalProperties") is False:
        return st.fixed_dictionaries({}, optional={name: strategy(sub) for name, sub in schema["properties"].items()})
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return st.lists(strategy(schema["items"]), min_size=schema.get("minItems", 0),
                        max_size=schema.get("maxItems"))
    if schema == {"type": "string"}:
        return st.one_of(from_schema(schema), TRICKY_TEXT)
    return from_schema(schema)


#: Text made of what a name from outside may hold and a message must not pass on as it is: control
#: characters, bidirectional marks and isolates, astral characters, markup and quotes.
TRICKY_TEXT = st.lists(st.sampled_from(["\x00", "\x07", "\x1b", "\n", "\r", "\u202e", "\u2066", "\u200f",
                                        "\ufeff", "\U0001f600", "\U00010348", "a", "é", " ", "<b>", '"', "\\",
                                        "1", "."]), max_size=12).map("".join)


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


class Session:
    """Stands for the client's requests session: answers each request from ``override`` when it
    matches, else from the sandbox. The same request is answered the same way every time (a write
    is made once), so an example costs the sandbox only the requests the generated answer leads
    to. ``override`` with no body is a spy: the sandbox's answer is noted (``spied``) once."""

    def __init__(self, app: AutotaskSandbox, cache: dict[tuple[str, str, bytes], Answer],
                 override: tuple[str, str, int, bytes | None] | None) -> None:
        self.app = app
        self.cache = cache
        self.override = override
        self.spied: Answer | None = None

    def request(self, method: str, url: str, *, headers: dict[str, str] | None = None, data: bytes | None = None,
                params: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        method = method.upper()
        url = f"{url}?{urlencode(params)}" if params else url
        body = data or b""
        if self.override and self.override[0] == method and re.search(self.override[1], urlsplit(url).path):
            if self.override[3] is None:
                status, content, content_type = self.spied = self._sandbox(method, url, headers or {}, body)
                self.override = None
            else:
                status, content, content_type = self.override[2], self.override[3], "application/json; charset=utf-8"
        else:
            key = (method, url, body)
            if key not in self.cache:
                self.cache[key] = self._sandbox(method, url, headers or {}, body)
            status, content, content_type = self.cache[key]
        response = requests.Response()
        response.status_code = status
        response._content = content
        response.headers = requests.structures.CaseInsensitiveDict({"Content-Type": content_type})
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
                                      internal_description="seatsync:0123456789ab")
    code = min(store.tables["BillingCodes"])
    store.create_charge(contract, charges.charge_body(_prorate_on(contract, service), contract_id=contract,
                                                      contract_service_id=line, billing_code_id=code,
                                                      charge_type=1, status=4, currency="USD")
                        | {"notes": charges.notes(_prorate_on(contract, service))})
    return app, account, {"company": company, "contract": contract, "service": service, "line": line}, {}


def world(override: tuple[str, str, int, bytes | None] | None = None) -> World:
    """An adapter (fresh: nothing cached) whose requests reach ``override`` or the sandbox in-process."""
    app, account, ids, answered = background()
    client = AutotaskClient(AutotaskCredentials(username=account.username, secret=account.secret,
                                                integration_code=account.integration_code, lookup_url=LOOKUP),
                            zone_url=ZONE, sleep=lambda seconds: None, budget=RequestBudget(limit=10**9),
                            threshold_every=0, retry=RetryPolicy(max_attempts=2, max_delay=0.0,
                                                                 retry_statuses_read=frozenset({429, 502, 503, 504})))
    client.api.session.close()
    client.api.session = Session(app, answered, override)  # type: ignore[assignment]
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


def _set_quantity(w: World) -> Any:
    line = Line(id=str(w.ids["line"]), agreement_id=str(w.ids["contract"]), product_id=str(w.ids["service"]),
                kind=LineKind.MAIN, quantity=5, unit_price=Decimal("22.00"), start=date(2025, 3, 1), end=None,
                description="", marker="seatsync:0123456789ab")
    return w.psa.set_quantity(line, 7, date(2025, 4, 1))


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
    "ContractCharge": Case("ItemQueryResultModel[ContractChargeModel,ContractCost]", "GET",
                           r"/ContractCharges/\d+$", lambda w: w.psa.add_dated_line(_prorate(w))),
    "BillingCodes": Case("QueryActionResult[BillingCodeModel,Allocation]", "POST", r"/BillingCodes/query$",
                         lambda w: w.psa.add_dated_line(_prorate(w))),
    "FieldInformation": Case("FieldInformationResultModel", "GET", r"/entityInformation/fields$",
                             lambda w: w.psa.list_agreements()),
    "QueryCount": Case("QueryCountResultModel", "POST", r"/query/count$", lambda w: w.psa.test_connection()),
    "OperationResult": Case("OperationResultModel", "POST", r"/ContractServiceAdjustments$", _set_quantity),
    "ThresholdInformation": Case("ThresholdStatusResultModel", "GET", r"/ThresholdInformation$",
                                 lambda w: w.client.read_threshold()),
    "Errors": Case("Errors", "POST", r"/Companies/query$", lambda w: w.psa.list_companies()),
}


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


@st.composite
def _changed(draw: st.DrawFn, record: Any, strategies: dict[str, st.SearchStrategy[Any]]) -> Any:
    """``record`` with up to three fields generated from the model and up to two left out."""
    if not isinstance(record, dict):
        return record
    out = dict(record)
    for name in draw(st.lists(st.sampled_from(sorted(strategies)), max_size=3, unique=True)) if strategies else ():
        out[name] = draw(strategies[name])
    for name in draw(st.lists(st.sampled_from(sorted(out)), max_size=2, unique=True)) if out else ():
        del out[name]
    return out


@st.composite
def overlaid(draw: st.DrawFn, name: str) -> Any:
    """The sandbox's own answer on the case's route with a few fields of it, and of each record in
    it, generated from the model (or left out): answers that mostly read, with an odd field or
    two, reach the decoding of every field."""
    on = base(name)
    top, inner = fields(CASES[name].component)
    out = draw(_changed(on, {k: v for k, v in top.items() if k not in inner}))
    for key, strategies in inner.items():
        model = on.get(key) if isinstance(on, dict) else None
        if out.get(key) is not model:
            continue  # generated whole above, or left out
        if isinstance(model, list) and model:
            records = list(model)
            for index in draw(st.lists(st.sampled_from(range(len(records))), max_size=2, unique=True)):
                records[index] = draw(_changed(records[index], strategies))
            out[key] = records
        elif isinstance(model, dict):
            out[key] = draw(_changed(model, strategies))
    return out


@st.composite
def answers(draw: st.DrawFn, name: str) -> tuple[int, bytes]:
    """A status and a body for ``name``: a payload of its model, whole or a few of its fields over
    the sandbox's own answer, written as JSON (non-ASCII escaped or as UTF-8)."""
    case = CASES[name]
    if name != "Errors" and draw(st.booleans()):
        payload = draw(overlaid(name))
    else:
        payload = draw(generated(case.component))
    status = draw(st.sampled_from(ERROR_STATUSES)) if name == "Errors" else case.status
    ascii_only = draw(st.booleans())
    return status, json.dumps(payload, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


class NotPlain(AssertionError):
    """A typed error whose message passes on characters from outside as they are."""


def outcome(name: str, answer: tuple[int, bytes]) -> str:
    """"data" or "typed" (a PsaError whose message is plain text: one line, nothing unprintable);
    anything else the decoding raised propagates, and a message that is not plain is ``NotPlain``."""
    case = CASES[name]
    status, body = answer
    w = world((case.method, case.path, status, body))
    try:
        case.call(w)
    except PsaError as error:
        if not str(error).isprintable():
            raise NotPlain(f"{name}: {str(error)!r}") from None
        return "typed"
    finally:
        w.client.close()
    return "data"


def samples(name: str, count: int) -> list[tuple[int, bytes]]:
    """``count`` answers for ``name``, as the property test draws them."""
    found: list[tuple[int, bytes]] = []

    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(answers(name))
    def collect(answer: tuple[int, bytes]) -> None:
        found.append(answer)

    collect()
    return found
