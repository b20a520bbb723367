"""Money, instants, days and JSON come back exactly as they went in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peewee import Model, TextField

from app.models.database import db
from app.models.fields import DayField, InstantField, JsonField, MoneyField, dump_json, instant_text, parse_instant


class Row(Model):
    name = TextField(default="")
    amount = MoneyField(null=True)
    at = InstantField(null=True)
    day = DayField(null=True)
    doc = JsonField(null=True)

    class Meta:
        database = db
        table_name = "field_probe"


@pytest.fixture
def table(database):
    database.create_tables([Row])
    yield Row
    database.drop_tables([Row])


def _store(amount: Decimal) -> Decimal:
    row = Row.create(amount=amount)
    return Row.get_by_id(row.id).amount


finite_decimals = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**15, max_value=10**15),
    st.builds(
        lambda digits, exp, neg: Decimal((int(neg), tuple(int(c) for c in digits), exp)),
        st.text("0123456789", min_size=1, max_size=60),
        st.integers(min_value=-40, max_value=40),
        st.booleans(),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=finite_decimals)
def test_money_round_trips_exactly(table, amount, database_engine):
    back = _store(amount)
    assert isinstance(back, Decimal)
    assert back == amount
    if database_engine == "sqlite":
        # The very same Decimal: sign, digits and exponent (12.50 stays 12.50, not 12.5).
        assert back.as_tuple() == amount.as_tuple()
    else:
        # PostgreSQL's NUMERIC keeps the value and its scale (12.50 stays 12.50); it has no positive
        # exponent (5E+2 is 500) and no negative zero.
        assert back.as_tuple().exponent == min(amount.as_tuple().exponent, 0)


def test_money_is_text_in_sqlite_and_numeric_in_postgresql_never_a_float(table, database, database_engine):
    Row.create(name="cents", amount=Decimal("12.10"))
    kind_of = "typeof" if database_engine == "sqlite" else "pg_typeof"
    stored, kind = database.execute_sql(
        f"SELECT CAST(amount AS TEXT), CAST({kind_of}(amount) AS TEXT) FROM field_probe WHERE name='cents'").fetchone()
    assert (stored, kind) == ("12.10", "text" if database_engine == "sqlite" else "numeric")


def test_money_refuses_floats(table):
    with pytest.raises(TypeError, match="never float"):
        Row.create(amount=12.5)


def test_money_accepts_ints_and_numeric_strings(table):
    assert _store(7) == Decimal(7)
    assert Row.get_by_id(Row.create(amount="0.10").id).amount.as_tuple() == Decimal("0.10").as_tuple()


def test_money_refuses_text_that_is_not_a_number(table):
    with pytest.raises(ValueError, match="not an amount of money"):
        Row.create(amount="twelve")


def test_instants_are_stored_in_utc_and_come_back_aware(table):
    paris = timezone(timedelta(hours=2))
    moment = datetime(2024, 6, 30, 23, 59, 58, 123456, tzinfo=paris)
    back = Row.get_by_id(Row.create(at=moment).id).at
    assert back == moment and back.tzinfo == UTC and back.hour == 21


def test_instants_refuse_naive_datetimes(table):
    with pytest.raises(ValueError, match="naive"):
        Row.create(at=datetime(2024, 1, 1))


def test_instant_text_order_is_time_order(table):
    base = datetime(2024, 1, 1, tzinfo=UTC)
    moments = [base + timedelta(microseconds=1), base + timedelta(days=400), base - timedelta(hours=1), base]
    for m in moments:
        Row.create(at=m)
    got = [r.at for r in Row.select().order_by(Row.at)]
    assert got == sorted(moments)
    assert [r.at for r in Row.select().where(Row.at >= base)] == [m for m in moments if m >= base]


@settings(max_examples=200)
@given(st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(UTC)))
def test_an_instant_reads_back_exactly_as_written(moment):
    text = instant_text(moment)
    assert parse_instant(text) == moment == datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert parse_instant(text).tzinfo is UTC


@pytest.mark.parametrize("text", ["2024-05-01T06:00:00Z", "2024-13-01T06:00:00.000000Z",
                                  "2024-05-01 06:00:00.000000Z", "2024-05-01T06:00:00.000000+00:00"])
def test_text_not_in_the_stored_form_is_refused(text):
    with pytest.raises(ValueError, match=r"does not match format|month must be in"):
        parse_instant(text)


def test_days_round_trip_and_refuse_datetimes(table):
    assert Row.get_by_id(Row.create(day=date(2024, 2, 29)).id).day == date(2024, 2, 29)
    with pytest.raises(TypeError, match="expected a date"):
        Row.create(day=datetime(2024, 2, 29, tzinfo=UTC))


def test_json_keeps_decimals_as_strings_and_refuses_floats(table):
    row = Row.create(doc={"price": Decimal("9.90"), "days": [date(2024, 1, 31)], "tags": frozenset({"b", "a"})})
    assert Row.get_by_id(row.id).doc == {"price": "9.90", "days": ["2024-01-31"], "tags": ["a", "b"]}
    with pytest.raises(TypeError, match=r"doc\.nested\[1\]: a float"):
        Row.create(doc={"nested": [1, 2.5]})


def test_dump_json_is_canonical():
    assert dump_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'
