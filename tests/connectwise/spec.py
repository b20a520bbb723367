"""Validate sandbox traffic against the vendor's own schemas (tests/specs/connectwise.subset.json).

The OpenAPI 3.0 schemas become JSON Schema with three documented changes:
``nullable: true`` becomes a ``null`` alternative; a bare ``{"type": "object"}``
(C#'s ``object``: any JSON value, e.g. PatchOperation.value and
CustomFieldValue.value, which ConnectWise fills with strings and numbers)
accepts anything; and every object schema with properties refuses
properties it does not declare, so a field name the vendor does not use
fails the test. ``date-time`` strings are checked; $refs resolve inside the file.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

SPEC_PATH = Path(__file__).resolve().parents[1] / "specs" / "connectwise.subset.json"
SPEC = json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") == "object" and not any(k in node for k in ("properties", "additionalProperties", "$ref")):
        return {}
    out = {k: _convert(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


_SCHEMAS = {"components": {"schemas": _convert(SPEC["components"]["schemas"])}}
_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return "T" in value


def validator(name: str, *, array: bool = False) -> Draft202012Validator:
    ref = {"$ref": f"#/components/schemas/{name}"}
    schema = {**_SCHEMAS, **({"type": "array", "items": ref} if array else ref)}
    return Draft202012Validator(schema, format_checker=_FORMATS)


def validate(name: str, instance: Any, *, array: bool = False) -> None:
    """Raise jsonschema.ValidationError naming the first field that does not fit."""
    validator(name, array=array).validate(instance)


def errors(name: str, instance: Any, *, array: bool = False) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator(name, array=array).iter_errors(instance)]
