"""Every answer the documented shapes allow, and hostile ones, decode to data or a typed error (fuzz.py):
300 examples a shape, times SEATSYNC_FUZZ_SCALE."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services.microsoft import MalformedResponse
from app.services.microsoft.skus import SkuCatalogue
from tests.microsoft import fuzz
from tests.microsoft.fuzz import SHAPES, Reading, Shape, outcome
from tests.schema_fuzz import fuzz_settings


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_answer_decodes_to_data_or_a_typed_error(name: str, catalogue: SkuCatalogue) -> None:
    shape = SHAPES[name]
    reading = Reading(catalogue)

    @fuzz_settings(shape.examples)
    @given(shape.strategy)
    def read(args: tuple) -> None:
        outcome(reading, shape, args)

    read()


def test_every_shape_runs_300_examples() -> None:
    assert {shape.examples for shape in SHAPES.values()} == {300}
    assert {"graph throttled (429, Retry-After)", "entra access token claims (roles)"} <= set(SHAPES)


def test_an_untyped_exception_or_a_message_that_is_not_plain_fails(catalogue: SkuCatalogue) -> None:
    reading = Reading(catalogue)

    def untyped(_reading: Reading, body: bytes) -> None:
        json.loads(body)["value"]

    def unplain(_reading: Reading, body: bytes) -> None:
        raise MalformedResponse(f"({body.decode()})")

    with pytest.raises(KeyError):
        outcome(reading, Shape("untyped", st.nothing(), untyped), (b"{}",))
    with pytest.raises(AssertionError, match="not plain text"):
        outcome(reading, Shape("unplain", st.nothing(), unplain), ("\u202eevil".encode(),))
    assert outcome(reading, Shape("plain", st.nothing(), unplain), (b"fine",)) == "typed error"
    assert outcome(reading, SHAPES["entra token"], (fuzz.token_answer(),)) == "data"
