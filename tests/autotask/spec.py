"""Validating recorded sandbox traffic against the vendor's Swagger 2.0 subset.

``$ref`` is resolved within the document. Three adjustments make the 2.0
models checkable with JSON Schema, each for a reason in the vendor's own
document:
- every model property may be null: the models are .NET nullable types
  (``long?``, ``double?``) and the API writes null for unset fields, which
  Swagger 2.0 cannot express;
- ``Object`` (System.Object, e.g. OperationResultModel.itemId) accepts any
  value;
- ``Filter.value`` accepts any value: its own description says "Can be
  either an Integer, String, Boolean, an Array of Integers, or an Array of
  Strings" although its type is written as object.
Operations the subset lacks are in extra_spec.json beside this file (with
their source). The generated document lists the three credential headers on
every operation, zoneInformation included; the vendor's REST guide says the
zone lookup needs only the user name, and seatsync sends it no credential
(tests/security/test_origins.py), so its headers are not required here.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

from app.sandbox.autotask import Exchange

ROOT = Path(__file__).resolve().parents[1]


@cache
def documents() -> tuple[dict[str, Any], dict[str, Any]]:
    subset = json.loads((ROOT / "specs" / "autotask.subset.json").read_text())
    extra = json.loads((Path(__file__).parent / "extra_spec.json").read_text())
    paths = {**subset["paths"], **extra["paths"]}
    definitions = copy.deepcopy({**subset["definitions"], **extra["definitions"]})
    for definition in definitions.values():
        for name, prop in list(definition.get("properties", {}).items()):
            definition["properties"][name] = {"anyOf": [prop, {"type": "null"}]}
    definitions["Object"] = {}
    definitions["Filter"]["properties"]["value"] = {}
    return paths, definitions


def validator(ref: str) -> Draft4Validator:
    _, definitions = documents()
    return Draft4Validator({"allOf": [{"$ref": ref}], "definitions": definitions})


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + "$", re.IGNORECASE)


def operation(method: str, api_path: str) -> tuple[str, dict[str, Any]] | None:
    paths, _ = documents()
    candidates = [(p, ops) for p, ops in paths.items() if _template(p).match(api_path)]
    # The most literal path wins ("/Contracts/query" over "/Contracts/{id}").
    candidates.sort(key=lambda item: item[0].count("{"))
    for path, ops in candidates:
        if method.lower() in ops:
            return path, ops[method.lower()]
    return None


def api_path(exchange: Exchange) -> str:
    """The request path as the Swagger names it: /V1.0/... without zone and base."""
    return "/V1.0" + re.split(r"/v1\.0", exchange.path, maxsplit=1, flags=re.IGNORECASE)[1]


def errors_of(found: Any) -> list[str]:
    out = []
    for error in found:
        # Nullable wrappers (anyOf) report at the outer property; name the deepest cause.
        leaf = max([error, *_descendants(error)], key=lambda e: len(e.absolute_path))
        out.append(f"{'/'.join(map(str, leaf.absolute_path))}: {leaf.message}")
    return out


def _descendants(error: Any) -> list[Any]:
    found = []
    for child in error.context or ():
        found.append(child)
        found.extend(_descendants(child))
    return found


def check(exchange: Exchange) -> list[str]:
    """Every way ``exchange`` departs from the vendor's schemas (empty: it conforms)."""
    path = api_path(exchange)
    problems: list[str] = []
    if exchange.status != 200:
        body = exchange.response
        if not (isinstance(body, dict) and isinstance(body.get("errors"), list)
                and all(isinstance(m, str) for m in body["errors"])):
            problems.append(f"error body is not {{'errors': [...]}}: {body!r}")
        return problems
    method = exchange.method
    if path.lower().endswith("/query/next"):
        # A paging link answers what the query itself answers.
        method, path = "POST", path[: -len("/next")]
    found = operation(method, path)
    request_schema = None
    if found is None:
        return [f"no operation {exchange.method} {path} in the vendor's documents"]
    _, op = found
    for param in op.get("parameters", []):
        if (param["in"] == "header" and param.get("required") and param["name"].lower() not in exchange.header_names
                and not path.lower().endswith("/zoneinformation")):
            problems.append(f"missing required header {param['name']}")
        if param["in"] == "query" and param.get("required") and param["name"] not in exchange.query:
            problems.append(f"missing required query parameter {param['name']}")
        if param["in"] == "body" and exchange.method == method:
            request_schema = param["schema"]["$ref"]
    if request_schema is not None:
        problems += [f"request {e}" for e in errors_of(validator(request_schema).iter_errors(exchange.request))]
    response_schema = op["responses"]["200"]["schema"]["$ref"]
    problems += [f"response {e}" for e in errors_of(validator(response_schema).iter_errors(exchange.response))]
    return problems
