"""Every answer ConnectWise's schema allows reads as data or a typed error with a plain message.

The payloads come from the vendor's schemas (tests/connectwise/fuzz.py), then
at the edges (bidi marks, control, astral and lone-surrogate characters,
extreme numbers, other types); SEATSYNC_FUZZ_SCALE multiplies the examples.
``python -m tests.connectwise.fuzz_counts`` counts the same cases.
"""

from __future__ import annotations

import pytest
from hypothesis import given

from tests.connectwise.fuzz import cases
from tests.schema_fuzz import Case, fuzz_settings, outcome

#: What ``mapping.decoded`` says when a record slips past the field checks: a field not named.
UNNAMED = "with a field seatsync cannot read"


@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_every_answer_reads_as_data_or_a_typed_error(case: Case) -> None:
    @fuzz_settings(case.examples)
    @given(case.payloads)
    def reads(payload: object) -> None:
        kind, error = outcome(case.decode, payload)
        if kind == "other":
            raise AssertionError(f"{type(error).__name__}: {error}") from error
        if kind == "typed":
            message = str(error)
            assert UNNAMED not in message, message
            assert all(ch.isprintable() for ch in message), repr(message)

    reads()
