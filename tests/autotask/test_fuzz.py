"""Every answer the vendor's schema allows decodes to data or to a typed error (a PsaError whose
message is plain text), never another exception: one property per answer shape (fuzzing.py), 300
examples each generated from the vendor's models, plus a throttled answer and bodies that are not
JSON. SEATSYNC_FUZZ_SCALE multiplies the examples."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from app.services.psa.autotask import AutotaskPsa
from app.services.psa.autotask.client import AutotaskClient
from app.services.psa.autotask.errors import AutotaskMalformedResponse
from tests.autotask import fuzzing
from tests.schema_fuzz import fuzz_settings

#: Examples per answer shape at SEATSYNC_FUZZ_SCALE=1.
EXAMPLES = 300


def property_for(name: str):  # type: ignore[no-untyped-def]
    @fuzz_settings(examples=EXAMPLES)
    @given(fuzzing.answers(name))
    def decodes(answer: tuple) -> None:
        assert fuzzing.outcome(name, answer) in ("data", "typed")
    return decodes


@pytest.mark.parametrize("name", fuzzing.SHAPES)
def test_every_answer_the_schema_allows_is_data_or_a_typed_error(name: str) -> None:
    property_for(name)()


def test_the_sandbox_s_own_answers_decode_to_data() -> None:
    """The answers the generators change a field or two of read whole: a harness whose every
    answer failed early would test nothing past the first field."""
    for name in fuzzing.CASES:
        if name != "Errors":
            assert fuzzing.outcome(name, (200, json.dumps(fuzzing.base(name)).encode())) == "data", name


def test_the_outcome_says_when_the_decoding_raised_something_else(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself: an exception that is not a PsaError comes through, and so does an
    answer whose request the client never sent."""
    body = json.dumps({"items": [], "pageDetails": {}}).encode()
    assert fuzzing.outcome("Companies", (200, body)) == "data"
    assert fuzzing.outcome("Companies", (200, b"[1]")) == "typed"

    def broken(self: AutotaskClient, *args: object, **kwargs: object) -> object:
        raise KeyError("id")
    monkeypatch.setattr(AutotaskClient, "_page", broken)
    with pytest.raises(KeyError):
        fuzzing.outcome("Companies", (200, body))

    def unasked(self: AutotaskPsa) -> object:
        return []
    monkeypatch.setattr(AutotaskPsa, "list_companies", unasked)
    with pytest.raises(fuzzing.NeverAsked):
        fuzzing.outcome("Companies", (200, body))
    monkeypatch.undo()

    def unescaped(self: AutotaskClient, *args: object, **kwargs: object) -> object:
        raise AutotaskMalformedResponse("a record of Companies is called \u202eevil")
    monkeypatch.setattr(AutotaskClient, "_page", unescaped)
    with pytest.raises(fuzzing.NotPlain):
        fuzzing.outcome("Companies", (200, body))
