from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.billing.money import round_money, spelled, to_money
from app.billing.periods import Period
from app.billing.proration import line_amount, prorated_amount
from app.billing.types import Line, PriceKind, PricePolicy, Product


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12.50", Decimal("12.50")), (7, Decimal(7)), (Decimal("0.005"), Decimal("0.005")), (" 3.1 ", Decimal("3.1"))],
)
def test_to_money_accepts_exact_values(value, expected):
    assert to_money(value) == expected


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", ""])
def test_to_money_refuses_text_that_is_not_an_amount(bad):
    with pytest.raises(ValueError, match="not an amount of money"):
        to_money(bad)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.345", "USD", "2.35"),  # half-up, not banker's rounding
        ("2.335", "USD", "2.34"),
        ("-2.345", "USD", "-2.35"),
        ("1234.5", "JPY", "1235"),
        ("1.2345", "KWD", "1.235"),
    ],
)
def test_round_money_half_up_to_the_minor_unit(amount, currency, expected):
    assert round_money(Decimal(amount), currency) == Decimal(expected)


floats = st.floats(allow_nan=False, allow_infinity=False)


@given(floats)
def test_no_float_accepted_anywhere_money_flows(value):
    period = Period(start=date(2026, 1, 1), end=date(2026, 1, 31))
    entry_points = [
        lambda: to_money(value),
        lambda: round_money(value),
        lambda: line_amount(1, value),
        lambda: prorated_amount(1, value, date(2026, 1, 5), period),
        lambda: Product(id="p", price=value),
        lambda: Line(id="l", agreement_id="a", product_id="p", unit_price=value),
        lambda: PricePolicy(kind=PriceKind.FIXED, fixed=value),
        lambda: PricePolicy(kind=PriceKind.PERCENT, percent=value),
        lambda: PricePolicy().unit_price(value),
    ]
    for call in entry_points:
        with pytest.raises(TypeError):
            call()


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**9, max_value=10**9))
def test_rounding_an_amount_already_in_cents_changes_nothing(amount):
    assert round_money(amount) == amount


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("22", "USD", "22.00"),  # a PSA that answers 22 for 22.00
    ("4.2", "USD", "4.20"),
    ("-0.2", "USD", "-0.20"),
    ("22.005", "USD", "22.005"),  # more digits than billed: shown, never rounded away
    ("1234", "JPY", "1234"),
    ("1.5", "KWD", "1.500"),
])
def test_an_amount_in_a_message_has_the_currencys_digits_and_is_never_rounded(amount, currency, expected):
    assert spelled(Decimal(amount), currency) == expected


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-10**9, max_value=10**9),
       st.sampled_from(["USD", "JPY", "KWD"]))
def test_a_spelled_amount_reads_back_as_the_same_amount(amount, currency):
    text = spelled(amount, currency)
    assert Decimal(text) == amount
    assert len(text.partition(".")[2]) >= {"USD": 2, "JPY": 0, "KWD": 3}[currency]
