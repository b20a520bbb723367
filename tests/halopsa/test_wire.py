"""Halo's wire format: exact numbers both ways, its dates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from app.billing.types import Cycle
from app.services.psa.halopsa import wire


def test_amounts_travel_as_exact_numbers():
    text = wire.dumps([{"unit_price": Decimal("8.516666666667"), "qty_order": 3, "ok": True, "x": None}])
    assert text == '[{"unit_price":8.516666666667,"qty_order":3,"ok":true,"x":null}]'
    assert wire.loads(text)[0]["unit_price"] == Decimal("8.516666666667")
    assert wire.loads('{"a": 0.1}')["a"] == Decimal("0.1")


def test_floats_and_other_objects_are_refused():
    with pytest.raises(TypeError):
        wire.dumps({"unit_price": 0.1})
    with pytest.raises(TypeError):
        wire.dumps({"when": object()})
    with pytest.raises(ValueError, match="a non-finite amount"):
        wire.dumps(Decimal("NaN"))


def test_dates():
    assert wire.dumps({"d": date(2025, 3, 1)}) == '{"d":"2025-03-01T00:00:00"}'
    assert wire.halo_datetime(datetime(2025, 3, 1, 14, 5, 7, 123)) == "2025-03-01T14:05:07"
    assert wire.parse_date("2025-03-31T00:00:00") == date(2025, 3, 31)
    assert wire.parse_date("1900-01-01T00:00:00") is None and wire.parse_date(None) is None
    with pytest.raises(ValueError, match="Invalid isoformat string"):
        wire.parse_date("next tuesday")


def test_billing_period_codes():
    assert wire.period_code(Cycle.MONTHLY) == 1 and wire.period_code(Cycle.ANNUAL) == 3
    assert wire.period_code(Cycle.ANNUAL, {12: Cycle.ANNUAL}) == 12
    with pytest.raises(ValueError, match="no Halo billing period"):
        wire.period_code(Cycle.ANNUAL, {1: Cycle.MONTHLY})
