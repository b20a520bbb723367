"""The one Decimal JSON codec (app/jsoncodec.py): exact both ways, each caller's format byte for byte."""

from __future__ import annotations

import json
import math
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app import jsoncodec
from app.models.fields import dump_json
from app.services.psa.autotask import wire as autotask_wire
from app.services.psa.connectwise.wire import encode as connectwise_encode
from app.services.psa.halopsa import wire as halo_wire

FINITE = st.decimals(allow_nan=False, allow_infinity=False)
#: What money and quantities can be on the wire: limits.py bounds them far inside this.
AMOUNTS = st.decimals(min_value=Decimal("-1e15"), max_value=Decimal("1e15"), allow_nan=False, allow_infinity=False)
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8)
PLAIN_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=20)
WITH_DECIMALS = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT | AMOUNTS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=20)


def _same(back: Any, original: Decimal) -> bool:
    """``back`` is ``original``: digit for digit when it has a point or an exponent, else as an int."""
    if isinstance(back, int):
        return original.as_tuple().exponent == 0 and Decimal(back) == original
    return isinstance(back, Decimal) and back.as_tuple() == original.as_tuple()


@settings(max_examples=500)
@given(FINITE)
@example(Decimal("-0"))
@example(Decimal("-0.00"))
@example(Decimal("1E+1"))
@example(Decimal("-7.5E-12"))
@example(Decimal("9.999999999999999999999999999E+999999"))
@example(Decimal("1E-999999"))
def test_a_decimal_travels_exactly(value):
    text = jsoncodec.dumps(value)
    assert text == str(value)
    json.loads(text, parse_float=str, parse_int=str)  # a JSON number
    assert _same(jsoncodec.loads(text), value)
    quoted = jsoncodec.dumps(value, decimals="text")
    assert Decimal(jsoncodec.loads(quoted)).as_tuple() == value.as_tuple()


@settings(max_examples=500)
@given(AMOUNTS)
@example(Decimal("-0"))
@example(Decimal("-0.00"))
@example(Decimal("1E+3"))
@example(Decimal("8.516666666667"))
def test_a_decimal_in_positional_notation_keeps_its_value(value):
    text = jsoncodec.dumps(value, decimals="plain")
    assert text == format(value, "f") and "E" not in text.upper()
    back = jsoncodec.loads(text)
    assert Decimal(back) == value
    if value.as_tuple().exponent <= 0:
        assert _same(back, value)


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("-Infinity"), Decimal("sNaN")])
@pytest.mark.parametrize("form", ["exact", "plain", "text"])
def test_a_decimal_that_is_not_finite_is_refused(bad, form):
    with pytest.raises(ValueError, match=r"payload\.price\[0\]: a non-finite amount"):
        jsoncodec.dumps({"price": [bad]}, decimals=form, where="payload")


def test_a_float_is_refused_unless_allowed_and_the_message_says_where():
    with pytest.raises(TypeError, match=r"doc\.lines\[1\]\.qty: a float"):
        jsoncodec.dumps({"lines": [{}, {"qty": 2.5}]}, where="doc")
    assert jsoncodec.dumps([0.5, math.inf], floats=True) == json.dumps([0.5, math.inf], separators=(",", ":"))


def test_other_types_go_through_default_or_are_refused():
    assert jsoncodec.dumps({"d": date(2025, 3, 1)}, default=date.isoformat) == '{"d":"2025-03-01"}'
    with pytest.raises(TypeError, match=r"value\.d: cannot write date as JSON"):
        jsoncodec.dumps({"d": date(2025, 3, 1)})
    with pytest.raises(TypeError, match="a key must be text"):
        jsoncodec.dumps({(1, 2): 3})


@settings(max_examples=300)
@given(PLAIN_JSON, st.booleans(), st.booleans(), st.booleans())
def test_without_decimals_it_writes_what_json_dumps_writes(value, compact, ensure_ascii, sort_keys):
    assert jsoncodec.dumps(value, compact=compact, ensure_ascii=ensure_ascii, sort_keys=sort_keys) == json.dumps(
        value, separators=(",", ":") if compact else (", ", ": "), ensure_ascii=ensure_ascii, sort_keys=sort_keys)


def test_numbers_read_as_decimal_and_nan_is_refused_unless_asked_for():
    assert jsoncodec.loads(b'{"a": 0.1, "b": 2, "c": 1e400}') == {"a": Decimal("0.1"), "b": 2, "c": Decimal("1E+400")}
    for text in ("NaN", '{"a": Infinity}', "[-Infinity]"):
        with pytest.raises(jsoncodec.NotANumber, match="is not a JSON number"):
            jsoncodec.loads(text)
    assert math.isnan(jsoncodec.loads("[NaN]", nan=True)[0])


# -- each caller's format, as its own encoder wrote it before ---------------------------------------

def _connectwise_before(payload: Any) -> bytes:
    def exact(value: Any) -> Any:
        if isinstance(value, float):
            raise TypeError("float")
        if isinstance(value, Decimal):
            return f"\u0000num:{value}"
        if isinstance(value, dict):
            return {k: exact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [exact(v) for v in value]
        return value

    text = json.dumps(exact(payload), ensure_ascii=False)
    return re.sub(r'"\\u0000num:([-+0-9.Ee]+)"', r"\1", text).encode("utf-8")


def _plain_before(value: Any) -> str:  # Autotask's and Halo's
    if value is None or isinstance(value, (bool, str)):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_plain_before(v)}" for k, v in value.items()) + "}"
    return "[" + ",".join(_plain_before(v) for v in value) + "]"


def _database_before(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@settings(max_examples=300)
@given(WITH_DECIMALS)
@example({"unitPrice": Decimal("8.515"), "quantity": 3, "é": [Decimal("-0"), Decimal("1E+2"), None, True]})
def test_every_callers_wire_format_is_unchanged_byte_for_byte(payload):
    assert connectwise_encode(payload) == _connectwise_before(payload)
    assert autotask_wire.dumps(payload) == halo_wire.dumps(payload) == _plain_before(payload)
    assert dump_json(payload) == _database_before(payload)
