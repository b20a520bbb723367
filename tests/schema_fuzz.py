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
every property it draws: about 0.1 s a record for a ConnectWise agreement),
and faster than strategies composed of ``st.fixed_dictionaries``,
``st.one_of`` and ``st.integers`` (several choices a field, each in a span
of its own, where most of a fuzz test's time went): it is compiled once into
a ``Drawn`` strategy that takes one Hypothesis choice per value (an optional
field's: absent, or which option of its union), one per character class of
a ``pattern`` and a handful per date-time. It handles what ``schema_for``
and tests/microsoft/schemas.py produce (types, properties, required, enum,
const, items, anyOf, bounds, maxLength, date-time, patterns) and hands
anything else to ``from_schema``. ``requiring(schema, "id", "product/id",
positive=...)`` narrows a schema to the records a live system sends (an id
always there); ``keeping(schema, *names)`` draws only the properties a
decoder reads.

``SCALE`` (environment variable SEATSYNC_FUZZ_SCALE, default 1) multiplies
the examples of every ``fuzz_settings`` for a longer run.

``spiced(strategy)`` changes some leaves of the payloads drawn to the edges
of what JSON carries: text with bidi marks, control, astral and
lone-surrogate characters, extreme numbers, nulls (and, with
``retype=True``, values of another type). ``broken(strategy)`` draws bodies
that are not the JSON asked for (cut short, an HTML page, other bytes...),
``retry_after()`` a throttled answer's Retry-After. ``ServingSession``
stands for a client's requests session, so the client's whole HTTP path
(``HttpApi``, then its decoding) reads the answers; ``reaching`` fails a
decoder whose request was never sent. ``Case`` and ``count`` run one
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
import math
import os
import re
import re._constants as _sre
import re._parser as _re_parser
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import utils as _cu
from hypothesis.internal.conjecture.providers import COLLECTION_DEFAULT_MAX_SIZE
from hypothesis.internal.intervalsets import IntervalSet
from hypothesis.strategies._internal.lazy import unwrap_strategies
from hypothesis_jsonschema import _from_schema, from_schema  # from_schema is also re-exported
from requests.structures import CaseInsensitiveDict

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
        inner = _convert(spec, _target(spec, ref), (*path, ref), depth - 1)
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

_SIMPLE = {"type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "const", "format",
           "minimum", "maximum", "maxLength", "minLength", "maxProperties", "maxItems", "minItems"}
#: What ``st.text()`` draws its characters from (every code point but the surrogates).
TEXT = unwrap_strategies(unwrap_strategies(st.text()).element_strategy).intervals
#: Characters that break naive code, for ``strategy(..., edge_text=True)``: control characters, bidi marks
#: and isolates, a BOM, astral characters, markup, quotes, a backslash.
EDGE_ALPHABET = IntervalSet.from_string("\x00\x07\x1b\n\r\x85\u202e\u2066\u200f\ufeff\U0001f600\U00010348aé <>/b\"\\1.")
#: Where each month of the (leap) year 0000 starts, as days from its first day.
_YEAR_0 = tuple(sum((31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[:m]) for m in range(13))
#: 0000-01-01 is day 0, 0001-01-01 day 366 (``date.fromordinal(1)``), 9999-12-31 the last.
_LAST_DAY = 365 + date(9999, 12, 31).toordinal()
_Y2K = 365 + date(2000, 1, 1).toordinal()

#: One drawing step: takes its values from Hypothesis's choice sequence (a ``ConjectureData``).
Draw = Callable[[Any], Any]


class Drawn(st.SearchStrategy):
    """The values ``draw(data)`` makes of Hypothesis's choices (``data.draw_integer``,
    ``draw_boolean``, ``draw_string``...), one choice per leaf: a payload of a few hundred fields
    costs a few hundred choices, where composing ``st.fixed_dictionaries``, ``st.one_of`` and
    ``st.integers`` costs several per field, each in a span of its own (most of a fuzz test's
    time). Choices shrink as Hypothesis's own do (an optional field towards absent, a list
    towards its shortest, a number towards 0)."""

    def __init__(self, draw: Draw, name: str = "payloads") -> None:
        super().__init__()
        self._draw = draw
        self._name = name

    def do_draw(self, data: Any) -> Any:
        return self._draw(data)

    def __repr__(self) -> str:
        return f"Drawn({self._name})"


def strategy(schema: dict, *, max_items: int = 3, edge_text: bool = False) -> st.SearchStrategy:
    """Values valid under ``schema`` (a JSON Schema as ``schema_for`` makes them), at most
    ``max_items`` items an array. ``edge_text``: half the plain strings are drawn from
    EDGE_ALPHABET instead (at most 12 characters)."""
    return Drawn(_compile(schema, _Options(max_items, edge_text)), json.dumps(schema)[:60])


@dataclass(frozen=True)
class _Options:
    max_items: int
    edge_text: bool


def _via(values: st.SearchStrategy) -> Draw:
    return lambda data: data.draw(values)


def _one_of(options: list[Draw]) -> Draw:
    if len(options) == 1:
        return options[0]
    last = len(options) - 1
    return lambda data: options[data.draw_integer(0, last)](data)


def _special(schema: Any) -> Draw | None:
    """How to draw what ``_compile`` does not: a pattern, or anything beyond _SIMPLE (``from_schema``)."""
    if isinstance(schema, dict) and schema.get("type") == "string" and set(schema) <= {"type", "pattern", "format"}:
        matching = _pattern(schema["pattern"]) if isinstance(schema.get("pattern"), str) else None
        if matching is not None:
            return matching
    if not isinstance(schema, dict) or set(schema) - _SIMPLE:
        return _via(from_schema(schema))
    return None


def _branches(schema: Any, options: _Options) -> list[Draw]:
    """The ways to draw ``schema``: one per option of a union, else one."""
    special = _special(schema)
    if special is None and "anyOf" in schema:
        return [_compile(option, options) for option in schema["anyOf"]]
    return [special or _compile(schema, options)]


def _compile(schema: Any, options: _Options) -> Draw:
    special = _special(schema)
    if special is not None:
        return special
    if "anyOf" in schema:
        return _one_of([_compile(option, options) for option in schema["anyOf"]])
    if "const" in schema:
        constant = schema["const"]
        return lambda data: copy.deepcopy(constant)
    if "enum" in schema:
        values, last = list(schema["enum"]), len(schema["enum"]) - 1
        return lambda data: copy.deepcopy(values[data.draw_integer(0, last)])
    kind = schema.get("type")
    if isinstance(kind, list):
        return _one_of([_compile({**schema, "type": k}, options) for k in kind])
    if kind == "null":
        return lambda data: None
    if kind == "boolean":
        return lambda data: data.draw_boolean()
    if kind == "integer":
        return _integer(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        low, high = schema.get("minimum"), schema.get("maximum")
        floats = st.floats(low, high, allow_nan=False, allow_infinity=False)
        return _one_of([_via(floats), _integer(low, high)])
    if kind == "string":
        return _string(schema, options)
    if kind == "array":
        return _array(schema, options)
    if kind == "object" or "properties" in schema:
        return _object(schema, options)
    if kind is None and not schema:
        return _any_json
    return _via(from_schema(schema))


def _any_json(data: Any, depth: int = 2) -> Any:
    """Any JSON value (what an empty schema allows): null, a boolean, a number, text, or a list or
    object of up to two such values, two levels deep at most."""
    kind = data.draw_integer(0, 6 if depth else 4)
    if kind == 0:
        return None
    if kind == 1:
        return data.draw_boolean()
    if kind == 2:
        return data.draw_integer()
    if kind == 3:
        return data.draw_float(-sys.float_info.max, sys.float_info.max, allow_nan=False)
    if kind == 4:
        return data.draw_string(TEXT, max_size=COLLECTION_DEFAULT_MAX_SIZE)
    if kind == 5:
        return [_any_json(data, depth - 1) for _ in range(data.draw_integer(0, 2))]
    return {data.draw_string(TEXT, max_size=8): _any_json(data, depth - 1) for _ in range(data.draw_integer(0, 2))}


def _integer(low: float | None, high: float | None) -> Draw:
    low = None if low is None else math.ceil(low)
    high = None if high is None else math.floor(high)
    # As st.integers: a bounded range's ends (and the values beside them) come up more often.
    weights = None
    if low is not None and high is not None and high - low > 127:
        weights = {low: 2 / 128, low + 1: 1 / 128, high - 1: 1 / 128, high: 2 / 128}
    return lambda data: data.draw_integer(low, high, weights=weights)


def _string(schema: dict, options: _Options) -> Draw:
    if schema.get("format") == "date-time":
        return _date_time
    low = schema.get("minLength", 0)
    high = schema.get("maxLength", COLLECTION_DEFAULT_MAX_SIZE)

    def plain(data: Any) -> str:
        return data.draw_string(TEXT, min_size=low, max_size=high)

    if not options.edge_text:
        return plain
    edgy = max(low, min(high, 12))
    return _one_of([plain, lambda data: data.draw_string(EDGE_ALPHABET, min_size=low, max_size=edgy)])


def _date_time(data: Any) -> str:
    """An RFC 3339 date-time (as JSON Schema's format): a day of this century or of any year from
    0000 to 9999, any second of it, fractions of a second or not, any offset."""
    day = data.draw_integer(*((_Y2K, _Y2K + 36524) if data.draw_boolean() else (0, _LAST_DAY)), shrink_towards=_Y2K)
    if day < 366:  # the year 0000 (a leap year), which Python's dates do not have
        month = next(m for m in range(12) if day < _YEAR_0[m + 1])
        text = f"0000-{month + 1:02d}-{day - _YEAR_0[month] + 1:02d}"
    else:
        text = date.fromordinal(day - 365).isoformat()
    hour, rest = divmod(data.draw_integer(0, 86399), 3600)
    digits = data.draw_integer(0, 7)
    fraction = f".{data.draw_integer(0, 10**digits - 1):0{digits}d}" if digits else ""
    sign = data.draw_integer(0, 2)
    offset = "Z" if sign == 0 else f"{'+-'[sign - 1]}{data.draw_integer(0, 23):02d}:{data.draw_integer(0, 59):02d}"
    return f"{text}T{hour:02d}:{rest // 60:02d}:{rest % 60:02d}{fraction}{offset}"


def _array(schema: dict, options: _Options) -> Draw:
    item = _compile(schema.get("items", {}), options)
    low = schema.get("minItems", 0)
    high = max(low, min(schema.get("maxItems", options.max_items), options.max_items))
    return lambda data: [item(data) for _ in range(data.draw_integer(low, high))]


def _object(schema: dict, options: _Options) -> Draw:
    if schema.get("maxProperties") == 0:
        return lambda data: {}
    properties = schema.get("properties") or {}
    if not properties and schema.get("additionalProperties") is not False:
        return _mapping(schema, options)
    needed = set(schema.get("required", ()))
    required = [(name, _compile(sub, options)) for name, sub in properties.items() if name in needed]
    # An optional field is one choice: absent (0) or which option of its union it takes.
    optional = [(name, _branches(sub, options)) for name, sub in properties.items() if name not in needed]

    def draw(data: Any) -> dict:
        out = {name: part(data) for name, part in required}
        for name, branches in optional:
            which = data.draw_integer(0, len(branches))
            if which:
                out[name] = branches[which - 1](data)
        return out

    return draw


def _mapping(schema: dict, options: _Options) -> Draw:
    """An object of no declared fields: a few entries of what ``additionalProperties`` allows."""
    values = schema.get("additionalProperties")
    value = _compile(values if isinstance(values, dict) else {}, options)
    most = min(schema.get("maxProperties", 2), 2)

    def draw(data: Any) -> dict:
        return {data.draw_string(TEXT, max_size=8): value(data) for _ in range(data.draw_integer(0, most))}

    return draw


class _Unsupported(Exception):
    pass


_WORD = IntervalSet([(48, 57), (65, 90), (95, 95), (97, 122)])
_CATEGORIES = {_sre.CATEGORY_DIGIT: IntervalSet([(48, 57)]), _sre.CATEGORY_WORD: _WORD,
               _sre.CATEGORY_SPACE: IntervalSet.from_string(" \t\n\r\f\v")}
_ANY_BUT_NEWLINE = TEXT.difference(IntervalSet.from_string("\n"))


def _pattern(pattern: str) -> Draw | None:
    """Text ``re.search(pattern, text)`` finds (JSON Schema's reading of ``pattern``), drawn one
    choice per character class or repeat, where ``st.from_regex`` takes one per character; None
    for a pattern with what this does not draw (back-references, look-arounds, flags...)."""
    try:
        whole = _re_parser.parse(pattern)
        if whole.state.flags & ~_sre.SRE_FLAG_UNICODE:
            raise _Unsupported("flags")
        parsed = list(whole)
        starts = bool(parsed) and parsed[0] == (_sre.AT, _sre.AT_BEGINNING)
        ends = bool(parsed) and parsed[-1] in ((_sre.AT, _sre.AT_END), (_sre.AT, _sre.AT_END_STRING))
        body = _sequence(parsed[int(starts):len(parsed) - int(ends)])
    except (re.error, _Unsupported):
        return None
    around = [lambda data: "" if starts else data.draw_string(TEXT, max_size=8), body,
              lambda data: "" if ends else data.draw_string(TEXT, max_size=8)]
    return lambda data: "".join(part(data) for part in around)


def _sequence(items: list) -> Draw:
    parts = [_regex_item(op, argument) for op, argument in items]
    return lambda data: "".join(part(data) for part in parts)


def _characters(op: Any, argument: Any) -> IntervalSet | None:
    """The characters one regex item matches, if it matches one character."""
    if op == _sre.LITERAL:
        return IntervalSet([(argument, argument)])
    if op == _sre.NOT_LITERAL:
        return TEXT.difference(IntervalSet([(argument, argument)]))
    if op == _sre.ANY:
        return _ANY_BUT_NEWLINE
    if op != _sre.IN:
        return None
    chars, negate = IntervalSet([]), False
    for kind, value in argument:
        if kind == _sre.NEGATE:
            negate = True
        elif kind == _sre.LITERAL:
            chars = chars.union(IntervalSet([(value, value)]))
        elif kind == _sre.RANGE:
            chars = chars.union(IntervalSet([value]))
        elif kind == _sre.CATEGORY and value in _CATEGORIES:
            chars = chars.union(_CATEGORIES[value])
        else:
            raise _Unsupported(kind)
    chars = TEXT.difference(chars) if negate else chars
    if not len(chars):
        raise _Unsupported("an empty class")
    return chars


def _regex_item(op: Any, argument: Any) -> Draw:
    chars = _characters(op, argument)
    if chars is not None and len(chars) == 1:
        only = chr(chars[0])
        return lambda data: only
    if chars is not None:
        return lambda data: data.draw_string(chars, min_size=1, max_size=1)
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
        low, high, inner = argument
        high = None if high is _sre.MAXREPEAT else high
        single = _characters(*inner[0]) if len(inner) == 1 else None
        if single is not None and low == high and 1 < len(single) <= 64:
            return _digits([chr(c) for c in single], low)
        if single is not None:
            most = COLLECTION_DEFAULT_MAX_SIZE if high is None else high
            return lambda data: data.draw_string(single, min_size=low, max_size=most)
        part, most = _sequence(list(inner)), low + 3 if high is None else min(high, low + 3)
        return lambda data: "".join(part(data) for _ in range(data.draw_integer(low, most)))
    if op == _sre.SUBPATTERN and not argument[1] and not argument[2]:
        return _sequence(list(argument[3]))
    if op == _sre.BRANCH:
        return _one_of([_sequence(list(branch)) for branch in argument[1]])
    raise _Unsupported(op)


def _digits(alphabet: list[str], length: int) -> Draw:
    """``length`` characters of a small ``alphabet`` (``[0-9]{4}``, ``[0-9a-f]{8}``) as one number
    written in that base: one choice where a string takes one per character."""
    base = len(alphabet)

    def draw(data: Any) -> str:
        number, out = data.draw_integer(0, base**length - 1), []
        for _ in range(length):
            number, digit = divmod(number, base)
            out.append(alphabet[digit])
        return "".join(reversed(out))

    return draw


def lists(values: st.SearchStrategy, max_size: int = 2) -> st.SearchStrategy[list]:
    """Lists of up to ``max_size`` of ``values`` (one choice for the length: cheaper than st.lists)."""
    return Drawn(lambda data: [data.draw(values) for _ in range(data.draw_integer(0, max_size))], f"lists({values!r})")


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


def _edge(data: Any, value: Any, retype: bool) -> Any:
    if isinstance(value, dict):
        return {k: _edge(data, v, retype) for k, v in value.items()}
    if isinstance(value, list):
        return [_edge(data, v, retype) for v in value]
    if data.draw_integer(0, 3) != 0:
        return value
    if retype and data.draw_boolean():
        return copy.deepcopy(_pick(data, OTHER_TYPES))
    if isinstance(value, str):
        mark = _pick(data, EDGE_TEXT)
        return _pick(data, (mark + value, value + mark, mark * 3, value[:1] + mark + value[1:]))
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return _pick(data, (*EDGE_NUMBERS, None))
    return value


def _pick(data: Any, values: tuple) -> Any:
    return values[data.draw_integer(0, len(values) - 1)]


def spiced(values: st.SearchStrategy, *, retype: bool = False) -> st.SearchStrategy:
    """``values`` with about a quarter of their leaves moved to the edges (see EDGE_TEXT and
    EDGE_NUMBERS, or null); ``retype`` also swaps some leaves for a value of another type."""
    return Drawn(lambda data: _edge(data, data.draw(values), retype), f"spiced({values!r})")


def json_bytes(payload: Any) -> bytes:
    """``payload`` as a vendor's server would send it (ASCII-escaped, so lone surrogates travel)."""
    return json.dumps(payload).encode("ascii")


# -- answers that are not the JSON asked for, and how they are served -------------------

#: Bodies a proxy, a login page or a broken server sends instead of the JSON asked for.
BROKEN_BODIES = (b"", b" ", b"\n", b"<!DOCTYPE html><html><head><title>Sign in</title></head></html>",
                 b"<html><body><h1>502 Bad Gateway</h1></body></html>", b"\xef\xbb\xbf{}", b"\xff\xfe[\x00]\x00",
                 b"[" * 100_000, b'{"count": NaN}', b"[Infinity]", b"-Infinity", b"1e999", b"null", b'"text"',
                 b'{"id": }', b"{}{}", b"[1,]", b"\x00\x01", b"\x80abc", b'{"id": 1', b"'single'")


def broken(payloads: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    """Bodies that are not the JSON asked for: a payload of ``payloads`` cut short, other bytes,
    or one of BROKEN_BODIES (an HTML page, an empty body, a BOM, NaN, JSON nested too deep...)."""

    def draw(data: Any) -> bytes:
        kind = data.draw_integer(0, 2)
        if kind == 0:
            body = json_bytes(data.draw(payloads))
            return body[:data.draw_integer(0, max(0, len(body) - 1))]
        if kind == 1:
            return data.draw_bytes(0, 64)
        return _pick(data, BROKEN_BODIES)

    return Drawn(draw, "broken bodies")


#: What a Retry-After header may hold as http.client hands it over (latin-1): tabs, visible
#: ASCII and the upper half of latin-1.
HEADER_TEXT = IntervalSet([(9, 9), (32, 126), (128, 255)])


def _http_date(data: Any) -> str:
    day = _pick(data, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))
    month = _pick(data, ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"))
    return (f"{day}, {data.draw_integer(0, 99):02d} {month} {data.draw_integer(0, 99999):04d} "
            f"{data.draw_integer(0, 99):02d}:{data.draw_integer(0, 99):02d}:{data.draw_integer(0, 99):02d} "
            f"{_pick(data, ('GMT', 'UTC', '+0000', '-2359', '+9999', ''))}")


def _retry_after(data: Any) -> str:
    kind = data.draw_integer(0, 2)
    if kind == 0:
        return str(data.draw_integer(0, 10**30))
    if kind == 1:
        return _http_date(data)
    return data.draw_string(HEADER_TEXT, max_size=30)


def retry_after() -> st.SearchStrategy[str]:
    """A Retry-After header's value: seconds (up to absurdly many), an HTTP date (any numbers in
    its fields), or other header text."""
    return Drawn(_retry_after, "Retry-After")


def canned(method: str, url: str, status: int, body: bytes, headers: dict[str, str] | None = None
           ) -> requests.Response:
    """A ``requests.Response`` as a requests session returns it, without a socket."""
    answer = requests.Response()
    answer.status_code = status
    answer._content = body
    answer.headers = CaseInsensitiveDict({"Content-Type": "application/json", **(headers or {})})
    answer.url = url
    request = requests.PreparedRequest()
    request.method, request.url = method.upper(), url
    answer.request = request
    answer.encoding = "utf-8"
    return answer


class ServingSession:
    """Stands for the requests session inside a client's ``HttpApi``, so that the client's
    whole HTTP path runs (HttpApi's retries, throttling, redirects and 5xx handling, then the
    client's decoding) with no network: each request is answered by the first of ``routes``
    (method, a regex on the URL's path, and the status, body and headers) that matches it,
    else by ``default``. ``sent`` lists the requests as (method, url)."""

    def __init__(self, default: tuple[int, bytes] = (200, b"[]"), content_type: str = "application/json") -> None:
        self.headers: dict[str, str] = {}
        self.verify: Any = True
        self.trust_env = False
        self.content_type = content_type
        self.default: tuple[int, bytes] | tuple[int, bytes, dict[str, str]] = default
        self.routes: list[tuple[str, str, tuple]] = []
        self.sent: list[tuple[str, str]] = []

    def serve(self, method: str, path: str, status: int, body: bytes, headers: dict[str, str] | None = None
              ) -> ServingSession:
        """Answer ``method`` requests whose path matches ``path`` (a regex) so, instead of what
        that route answered before; a newer route comes before older ones."""
        method = method.upper()
        self.routes = [route for route in self.routes if route[:2] != (method, path)]
        self.routes.insert(0, (method, path, (status, body, headers or {})))
        return self

    def request(self, method: str, url: str, *, params: Any = None, **_: Any) -> requests.Response:
        method = method.upper()
        if params:
            url = f"{url}?{urlencode(params, doseq=True)}"
        self.sent.append((method, url))
        path = urlsplit(url).path
        status, body, *extra = next((answer for m, pattern, answer in self.routes
                                     if m == method and re.search(pattern, path)), self.default)
        return canned(method, url, status, body, {"Content-Type": self.content_type, **(extra[0] if extra else {})})

    def asked(self, method: str, path: str) -> bool:
        """Whether a ``method`` request whose path matches ``path`` was sent since ``sent`` was emptied."""
        return any(m == method.upper() and re.search(path, urlsplit(url).path) for m, url in self.sent)

    def close(self) -> None:
        pass


def reaching(session: ServingSession, method: str, path: str, read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``read`` (a decoder) that also fails when it never sent the ``method`` request to ``path``:
    a payload served for a request the client does not send tests nothing."""

    def decode(payload: Any) -> Any:
        session.sent.clear()
        try:
            return read(payload)
        finally:
            if not session.asked(method, path):
                raise AssertionError(f"the client never sent {method} {path}: the answer was not read")

    return decode


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
    width = max(len(case.name) for case in cases)
    print(f"{'entity':{width}} {'payloads':>9} {'data':>7} {'typed':>7} {'other':>6}")
    others = 0
    for case in cases:
        count(case, examples)
        done = case.outcomes
        print(f"{case.name:{width}} {sum(done.values()):9} {done['data']:7} {done['typed']:7} {done['other']:6}",
              flush=True)
        for failure in case.failures:
            print(f"    {failure}")
        others += done["other"]
    return 1 if others else 0
