"""Every answer ConnectWise's schema allows reads as data or a typed error with a plain message.

The payloads come from the vendor's schemas (tests/connectwise/fuzz.py), then
at the edges (bidi marks, control, astral and lone-surrogate characters,
extreme numbers, other types), then bodies that are not JSON at all; each
answer shape runs 300 examples (two thirds from the schema, a third at the
edges) and SEATSYNC_FUZZ_SCALE multiplies them.
``python -m tests.connectwise.fuzz_counts`` counts the same cases.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given

from app.services.psa.port import PsaError
from tests.connectwise.fuzz import ADDITION, Answering, cases
from tests.schema_fuzz import Case, fuzz_settings, outcome, reaching

#: What ``mapping.decoded`` says when a record slips past the field checks: a field not named.
UNNAMED = "with a field seatsync cannot read"


def verdict(decode: Callable[[object], object], payload: object) -> str:
    """"data" or "typed" (a PsaError whose message is plain and names the field); fails otherwise."""
    kind, error = outcome(decode, payload)
    if kind == "other":
        raise AssertionError(f"{type(error).__name__}: {error}") from error
    if kind == "typed":
        message = str(error)
        assert UNNAMED not in message, message
        assert all(ch.isprintable() for ch in message), repr(message)
    return kind


@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_every_answer_reads_as_data_or_a_typed_error(case: Case) -> None:
    @fuzz_settings(case.examples)
    @given(case.payloads)
    def reads(payload: object) -> None:
        verdict(case.decode, payload)

    reads()


def test_every_shape_runs_300_examples_a_third_at_the_edges() -> None:
    made = {case.name: case.examples for case in cases()}
    for name, examples in made.items():
        if not name.endswith(" (edges)"):
            assert examples + made.get(f"{name} (edges)", 0) == 300, name
    assert made["Addition (PATCH answer)"] == 200 and made["Addition (PATCH answer) (edges)"] == 100


def test_the_verdict_fails_an_untyped_exception_a_message_that_is_not_plain_and_an_answer_never_read() -> None:
    site = Answering()

    def untyped(payload: object) -> object:
        return {}["id"]

    def unplain(payload: object) -> object:
        raise PsaError("ConnectWise said \x1b[2J")

    with pytest.raises(AssertionError, match="KeyError"):
        verdict(untyped, None)
    with pytest.raises(AssertionError, match=r"x1b"):
        verdict(unplain, None)
    with pytest.raises(AssertionError, match="never sent PATCH"):
        verdict(reaching(site.session, "PATCH", ADDITION, lambda payload: site.answer(payload).psa.list_companies()),
                [])
    assert verdict(reaching(site.session, "GET", r"/company/companies$",
                            lambda payload: site.answer(payload).psa.list_companies()), []) == "data"
