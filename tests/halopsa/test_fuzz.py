"""Every answer HaloPSA's schema allows reads as data or a typed error with a plain message.

The payloads come from Halo's schemas (tests/halopsa/fuzz.py), then at the
edges (bidi marks, control, astral and lone-surrogate characters, extreme
numbers, other types), then bodies that are not JSON at all; each answer
shape runs 300 examples (two thirds from the schema, a third at the edges)
and SEATSYNC_FUZZ_SCALE multiplies them.
``python -m tests.halopsa.fuzz_counts`` counts the same cases.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given

from app.services.psa.halopsa.errors import HaloMalformedResponse
from tests.halopsa.conftest import SECRET
from tests.halopsa.fuzz import TOKEN, Answering, cases
from tests.schema_fuzz import Case, fuzz_settings, json_bytes, outcome, reaching

#: What ``wire.decoded`` says when a record slips past the field checks: a field not named.
UNNAMED = "has a field of the wrong type"


def verdict(decode: Callable[[object], object], payload: object) -> str:
    """"data" or "typed" (a PsaError whose message is plain, names the field and shows no
    secret); fails otherwise."""
    kind, error = outcome(decode, payload)
    if kind == "other":
        raise AssertionError(f"{type(error).__name__}: {error}") from error
    if kind == "typed":
        message = str(error)
        assert UNNAMED not in message, message
        assert all(ch.isprintable() for ch in message), repr(message)
        assert "fuzz-secret" not in message and TOKEN["access_token"] not in message and SECRET not in message
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
    assert made["ClientContract/{id} (ContractHeader)"] == 200


def test_the_verdict_fails_an_untyped_exception_a_message_that_is_not_plain_and_an_answer_never_read() -> None:
    site = Answering()

    def untyped(payload: object) -> object:
        return {}["id"]

    def unplain(payload: object) -> object:
        raise HaloMalformedResponse("(Halo said \u202eevil)")

    def companies(payload: object) -> object:
        return site.serve("GET", r"/Client$", json_bytes(payload)).fresh().list_companies()

    with pytest.raises(AssertionError, match="KeyError"):
        verdict(untyped, None)
    with pytest.raises(AssertionError, match="u202e"):
        verdict(unplain, None)
    with pytest.raises(AssertionError, match="never sent GET"):
        verdict(reaching(site.session, "GET", r"/ClientContract/\d+$", companies), {"record_count": 0, "clients": []})
    assert verdict(reaching(site.session, "GET", r"/Client$", companies), {"record_count": 0, "clients": []}) == "data"
