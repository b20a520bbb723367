"""Turn a component of a vendor's OpenAPI subset into a JSON Schema to fuzz from.

    from hypothesis import given
    from tests.schema_fuzz import fuzz_settings, payloads

    @fuzz_settings(examples=300)
    @given(payloads(spec, "Agreement"))        # strategy(schema_for(spec, "Agreement"))
    def test_decodes(payload): ...

``schema_for`` inlines every ``$ref`` (``#/components/schemas/...`` in
OpenAPI 3, ``#/definitions/...`` in Swagger 2), turns OpenAPI ``nullable``
(and Swagger's ``x-nullable``) into a JSON Schema union with null, bounds
``int32``/``int64`` integers to their range, and maps the vendors'
non-standard type names (``bool``, ``int``) to JSON Schema's. Objects that do
not say otherwise get ``additionalProperties: false`` so the examples spend
their time on the vendor's own fields. A reference deeper than ``max_depth``
or back into itself becomes an empty object (nullable if the reference was).

``strategy(schema)`` draws from such a schema much faster than
hypothesis-jsonschema's ``from_schema`` (which canonicalises a sub-schema at
every property it draws: about 0.1 s a record for a ConnectWise agreement);
it handles what ``schema_for`` produces (types, properties, required, enum,
items, anyOf, bounds, maxLength, date-time) and hands anything else to
``from_schema``. ``requiring(schema, "id", "product/id", positive=...)``
narrows a schema to the records a live system sends (an id always there);
``keeping(schema, *names)`` draws only the properties a decoder reads.

``SCALE`` (environment variable SEATSYNC_FUZZ_SCALE, default 1) multiplies
the examples of every ``fuzz_settings`` for a longer run.

``spiced(strategy)`` changes some leaves of the payloads drawn to the edges
of what JSON carries: text with bidi marks, control, astral and
lone-surrogate characters, extreme numbers, nulls (and, with
``retype=True``, values of another type). ``Case`` and ``count`` run one
decoder over one strategy and count what came out: data, typed errors
(``SeatsyncError``) or anything else (a bug).

Importing this module also lets hypothesis-jsonschema 0.23 generate objects
with the Hypothesis this project pins (whose collection helper no longer has
the ``more()`` that hypothesis-jsonschema calls); ``from_schema`` is
re-exported here for that reason.
"""

from __future__ import annotations

import copy
import json
import os
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import utils as _cu
from hypothesis_jsonschema import _from_schema
from hypothesis_jsonschema import from_schema  # noqa: F401 - re-exported

SCALE = float(os.environ.get("SEATSYNC_FUZZ_SCALE") or 1)

_TYPES = {"bool": "boolean", "int": "integer", "long": "integer", "double": "number"}
_INT_RANGES = {"int32": 2**31, "int64": 2**63}
_ANNOTATIONS = {"description", "example", "examples", "readOnly", "writeOnly", "xml",
                "externalDocs", "deprecated", "discriminator", "title"}


def scaled(count: int) -> int:
    """``count`` scaled by SEATSYNC_FUZZ_SCALE (at least one)."""
    return max(1, int(count * SCALE))


def fuzz_settings(examples: int = 300) -> settings:
    """Hypothesis settings for schema fuzzing: ``examples`` x SCALE, no deadline."""
    return settings(
        max_examples=scaled(examples),
        deadline=None,
        derandomize=False,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                               HealthCheck.data_too_large],
    )


def schema_for(spec: dict, component: str, *, max_depth: int = 3) -> dict:
    """The JSON Schema of ``component`` in ``spec``, every reference inlined."""
    return _convert(spec, _target(spec, component), (component,), max_depth)


def _target(spec: dict, name: str) -> dict:
    if name.startswith("#/"):
        node = spec
        for part in name[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node
    schemas = spec.get("components", {}).get("schemas") or spec.get("definitions") or {}
    return schemas[name]


def _nullable(schema: dict, nullable: bool) -> dict:
    return {"anyOf": [schema, {"type": "null"}]} if nullable else schema


def _convert(spec: dict, node, path: tuple, depth: int):
    if isinstance(node, list):
        return [_convert(spec, item, path, depth) for item in node]
    if not isinstance(node, dict):
        return node
    nullable = bool(node.get("nullable") or node.get("x-nullable"))
    if "$ref" in node:
        ref = node["$ref"]
        if ref in path or depth <= 0:
            return _nullable({"type": "object", "maxProperties": 0}, nullable)
        inner = _convert(spec, _target(spec, ref), path + (ref,), depth - 1)
        return _nullable(inner, nullable)
    out: dict = {}
    for key, value in node.items():
        if key in _ANNOTATIONS or key.startswith("x-") or key == "nullable":
            continue
        if key == "type" and isinstance(value, str):
            out[key] = _TYPES.get(value, value)
        elif key == "properties":
            out[key] = {name: _convert(spec, sub, path, depth) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "allOf", "anyOf", "oneOf", "not"):
            out[key] = _convert(spec, value, path, depth)
        else:
            out[key] = value
    kind = out.get("type")
    if kind == "integer" and out.get("format") in _INT_RANGES:
        bound = _INT_RANGES[out["format"]]
        out.setdefault("minimum", -bound)
        out.setdefault("maximum", bound - 1)
    if (kind == "object" or "properties" in out) and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return _nullable(out, nullable)


class _Many:
    """The ``more()``/``reject()`` collection helper hypothesis-jsonschema expects."""

    def __init__(self, data, min_size: int, max_size, average_size) -> None:
        self.data = data
        self.min_size = min_size
        self.max_size = max_size
        self.p_continue = _cu._calc_p_continue(average_size - min_size, max_size - min_size)
        self.count = 0
        self.rejections = 0
        self.force_stop = False

    def more(self) -> bool:
        if self.min_size == self.max_size:
            go_on = self.count < self.min_size
        else:
            forced = None
            if self.force_stop:
                forced = False
            elif self.count < self.min_size:
                forced = True
            elif self.count >= self.max_size:
                forced = False
            go_on = self.data.draw_boolean(self.p_continue, forced=forced)
        if go_on:
            self.count += 1
        return go_on

    def reject(self, why=None) -> None:
        self.count -= 1
        self.rejections += 1
        if self.rejections > max(3, 2 * self.count):
            if self.count < self.min_size:
                self.data.mark_invalid(why)
            else:
                self.force_stop = True


if not hasattr(_cu.many, "more"):
    _from_schema.cu = types.SimpleNamespace(**{**vars(_cu), "many": _Many})


# -- drawing payloads -----------------------------------------------------------------

_SIMPLE = {"type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "format",
           "minimum", "maximum", "maxLength", "minLength", "maxProperties", "maxItems", "minItems"}
_JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()


def strategy(schema: dict) -> st.SearchStrategy:
    """Values valid under ``schema`` (a JSON Schema as ``schema_for`` makes them)."""
    if not isinstance(schema, dict) or set(schema) - _SIMPLE:
        return from_schema(schema)
    if "anyOf" in schema:
        return st.one_of([strategy(option) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([strategy({**schema, "type": k}) for k in kind])
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        return (st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
                | st.integers(schema.get("minimum"), schema.get("maximum")))
    if kind == "string":
        if schema.get("format") == "date-time":
            return _from_schema.STRING_FORMATS["date-time"]
        return st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength"))
    if kind == "array":
        return st.lists(strategy(schema.get("items", {})), min_size=schema.get("minItems", 0),
                        max_size=schema.get("maxItems", 3))
    if kind == "object" or "properties" in schema:
        if schema.get("maxProperties") == 0:
            return st.just({})
        properties = schema.get("properties", {})
        required = set(schema.get("required", ())) & set(properties)
        return st.fixed_dictionaries({k: strategy(v) for k, v in properties.items() if k in required},
                                     optional={k: strategy(v) for k, v in properties.items() if k not in required})
    if kind is None and not schema:
        return st.recursive(_JSON_LEAVES, lambda inner: st.lists(inner, max_size=2)
                            | st.dictionaries(st.text(max_size=8), inner, max_size=2), max_leaves=4)
    return from_schema(schema)


def payloads(spec: dict, component: str, **options: Any) -> st.SearchStrategy:
    """``strategy(schema_for(spec, component, **options))``."""
    return strategy(schema_for(spec, component, **options))


def requiring(schema: dict, *paths: str, positive: tuple[str, ...] = ()) -> dict:
    """``schema`` with each of ``paths`` ("id", "product/id") required and not null, and each
    of ``positive`` (also paths) at least 1: the records a live system sends."""
    out = copy.deepcopy(schema)
    for path in dict.fromkeys(paths + positive):
        node = out
        *parents, name = path.split("/")
        for parent in parents:
            node = _not_null(node["properties"][parent])
        node["properties"][name] = prop = _not_null(node["properties"][name])
        node["required"] = sorted({*node.get("required", ()), name})
        if path in positive:
            prop["minimum"] = max(1, prop.get("minimum", 1))
    return out


def keeping(schema: dict, *names: str) -> dict:
    """``schema`` with only the properties ``names`` (and the required ones): every payload
    drawn is still valid, the others being optional. For Halo's records of several hundred
    fields, of which a decoder reads a dozen."""
    out = copy.deepcopy(schema)
    keep = set(names) | set(out.get("required", ()))
    out["properties"] = {k: v for k, v in out["properties"].items() if k in keep}
    return out


def _not_null(node: dict) -> dict:
    options = node.get("anyOf")
    if options and {"type": "null"} in options:
        node.clear()
        node.update(next(o for o in options if o != {"type": "null"}))
    return node


# -- payloads at the edges ----------------------------------------------------------

#: Characters a vendor's text may carry that break naive code: bidi controls, C0/C1
#: controls, NUL, a BOM, astral characters, and lone surrogates (JSON's "\\ud800").
EDGE_TEXT = ("\u202e", "\u200f", "\u2066", "\x00", "\x1b[2J", "\x85", "\ufeff", "\U0001d7d8", "\U0001f600",
             "\ud800", "\udfff", "\r\n", "")
EDGE_NUMBERS = (0, -1, 2**31 - 1, -(2**31), 2**63, -(2**63) - 1, 10**30, 10**400, 1e308, -1e308, 5e-324,
                0.1, -0.0, 123456789.123456789)
OTHER_TYPES = (None, True, [], {}, "", "1", [1], {"id": 1})


def _edge(draw: Callable[..., Any], value: Any, retype: bool) -> Any:
    if isinstance(value, dict):
        return {k: _edge(draw, v, retype) for k, v in value.items()}
    if isinstance(value, list):
        return [_edge(draw, v, retype) for v in value]
    if not draw(st.integers(0, 3)) == 0:
        return value
    if retype and draw(st.booleans()):
        return draw(st.sampled_from(OTHER_TYPES))
    if isinstance(value, str):
        mark = draw(st.sampled_from(EDGE_TEXT))
        return draw(st.sampled_from((mark + value, value + mark, mark * 3, value[:1] + mark + value[1:])))
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return draw(st.sampled_from(EDGE_NUMBERS + (None,)))
    return value


def spiced(values: st.SearchStrategy, *, retype: bool = False) -> st.SearchStrategy:
    """``values`` with about a quarter of their leaves moved to the edges (see EDGE_TEXT and
    EDGE_NUMBERS, or null); ``retype`` also swaps some leaves for a value of another type."""

    @st.composite
    def build(draw: Callable[..., Any]) -> Any:
        return _edge(draw, draw(values), retype)

    return build()


def json_bytes(payload: Any) -> bytes:
    """``payload`` as a vendor's server would send it (ASCII-escaped, so lone surrogates travel)."""
    return json.dumps(payload).encode("ascii")


# -- counting outcomes --------------------------------------------------------------


@dataclass
class Case:
    """One decoder and the payloads it must read: ``decode(payload)`` returns data or raises."""

    name: str
    payloads: st.SearchStrategy
    decode: Callable[[Any], Any]
    examples: int = 300
    outcomes: dict[str, int] = field(default_factory=lambda: {"data": 0, "typed": 0, "other": 0})
    failures: list[str] = field(default_factory=list)


def usable(value: Any) -> None:
    """Raise UnicodeEncodeError when any text in ``value`` (dataclasses, mappings,
    sequences) cannot be stored or shown: a lone surrogate decoded from JSON."""
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, dict):
        for key, item in value.items():
            usable(key)
            usable(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            usable(item)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            usable(getattr(value, name))


def outcome(decode: Callable[[Any], Any], payload: Any) -> tuple[str, BaseException | None]:
    """("data", None) for data seatsync can store, ("typed", error) for a SeatsyncError whose
    message is plain text, or ("other", error): any other exception is a bug."""
    from app.errors import SeatsyncError

    try:
        usable(decode(payload))
    except SeatsyncError as error:
        try:
            usable(str(error))
        except UnicodeEncodeError as unusable:
            return "other", unusable
        if "Traceback" in str(error):
            return "other", error
        return "typed", error
    except Exception as error:  # noqa: BLE001 - what the fuzz is looking for
        return "other", error
    return "data", None


def count(case: Case, examples: int) -> Case:
    """Run ``case`` over ``examples`` payloads and count the outcomes (never raises)."""

    @settings(fuzz_settings(examples), max_examples=examples)
    @given(case.payloads)
    def run(payload: Any) -> None:
        kind, error = outcome(case.decode, payload)
        case.outcomes[kind] += 1
        if kind == "other" and len(case.failures) < 5:
            case.failures.append(f"{type(error).__name__}: {error} <- {json_bytes(payload)[:300]!r}")

    run()
    return case


def report(cases: list[Case], examples: int) -> int:
    """Print one line per case (payloads, data, typed errors, other exceptions); 1 if any other."""
    print(f"{'entity':44} {'payloads':>9} {'data':>7} {'typed':>7} {'other':>6}")
    others = 0
    for case in cases:
        count(case, examples)
        done = case.outcomes
        print(f"{case.name:44} {sum(done.values()):9} {done['data']:7} {done['typed']:7} {done['other']:6}")
        for failure in case.failures:
            print(f"    {failure}")
        others += done["other"]
    return 1 if others else 0
