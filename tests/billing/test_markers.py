"""Markers are written into the PSA and read back for ever: their format never changes."""

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from app.billing.markers import dated_marker, split_marker
from app.billing.types import LineKind


@given(st.dates(min_value=date(1000, 1, 1)), st.integers(0, 500), st.integers(0, 500))
def test_a_dated_marker_names_its_day_as_yyyymmdd(day, before, after):
    marker = dated_marker("seatsync:0123456789ab.b3c4", LineKind.PRORATE, day, before, after)
    assert marker == f"seatsync:0123456789ab.b3c4:p{day:%Y%m%d}:{before}>{after}"
    assert split_marker(marker) == ("seatsync:0123456789ab", "b3c4")


def test_a_credit_line_is_marked_c():
    assert dated_marker("seatsync:0123456789ab", LineKind.CREDIT, date(2026, 3, 17), 5, 3) == \
        "seatsync:0123456789ab:c20260317:5>3"
