"""Halo's own OpenAPI subset as JSON Schema validators (tests/specs README).

The vendor file uses OpenAPI 3.0 ``nullable`` and non-standard query types,
so it is not validated as a whole: each body is checked against
``components.schemas`` with jsonschema, ``nullable`` rewritten as a null type.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

SPEC_FILE = Path(__file__).resolve().parents[1] / "specs" / "halopsa.subset.json"
SPEC: dict[str, Any] = json.loads(SPEC_FILE.read_text(encoding="utf-8"))


def _nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


_COMPONENTS = _nullable(SPEC["components"])


@cache
def schema(name: str) -> Draft7Validator:
    """A validator for components.schemas[name]."""
    assert name in _COMPONENTS["schemas"], name
    return Draft7Validator({"$ref": f"#/components/schemas/{name}", "components": _COMPONENTS})


@cache
def request_body(path: str) -> Draft7Validator:
    """A validator for the JSON body the spec declares for POST ``path``."""
    body = SPEC["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return Draft7Validator({**_nullable(body), "components": _COMPONENTS})


def query_parameters(path: str, method: str) -> set[str]:
    operation = SPEC["paths"][path][method.lower()]
    return {p["name"].lower() for p in operation.get("parameters", []) if p.get("in") == "query"}


def errors(validator: Draft7Validator, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]
