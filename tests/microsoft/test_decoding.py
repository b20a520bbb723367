"""Answers the fuzz (fuzz.py) found seatsync's Microsoft clients could not read: each a typed error now.

Each case once raised something else: AttributeError or TypeError from an error body of another shape,
RecursionError from JSON nested deeply, ValueError from a paging link urllib cannot split, a seat count of
1e30 or -4 taken as data, a continuation token that could not go back as a header, a tenant id that would
have gone into a URL as a path, a discovery document sending the client secret elsewhere.
"""

from __future__ import annotations

import json

import pytest

from app.errors import SeatsyncError
from app.services.http import OffOrigin
from app.services.microsoft import GdapMissing, MalformedResponse, RequestRejected, TokenRefused
from app.services.microsoft.skus import SkuCatalogue
from tests.microsoft import fuzz
from tests.microsoft.fuzz import Reading, plain

SKU = {"skuId": "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "skuPartNumber": "SPB", "consumedUnits": 3,
       "prepaidUnits": {"enabled": 5}}


def body(payload: object) -> bytes:
    return json.dumps(payload).encode()


@pytest.fixture
def reading(catalogue: SkuCatalogue) -> Reading:
    return Reading(catalogue)


def refused(read, *args) -> SeatsyncError:  # type: ignore[no-untyped-def]
    with pytest.raises(SeatsyncError) as caught:
        read(*args)
    assert plain(str(caught.value)), str(caught.value)
    return caught.value


@pytest.mark.parametrize(("status", "payload", "kind", "said"), [
    (403, {"error": "Forbidden"}, GdapMissing, "answered 403 HTTP 403)"),
    (400, {"error": {"code": ["x"], "message": {"text": "no"}}}, RequestRejected, "['x']: {'text': 'no'}"),
    (401, ["error"], TokenRefused, "answered 401 HTTP 401"),
    (400, {"error": {"code": "Bad\u202eRequest", "message": "line one\nline two\x1b[2J"}}, RequestRejected,
     "Bad\\u202eRequest: line one)"),
])
def test_graph_errors_of_any_shape(reading, status, payload, kind, said):
    error = refused(fuzz.read_graph_error, reading, status, body(payload))
    assert isinstance(error, kind) and said in str(error)


@pytest.mark.parametrize(("payload", "said"), [
    ({"code": 20002, "description": None}, "answered 403 20002"),
    ({"code": {"n": 1}, "description": ["a"]}, "answered 403 {'n': 1}: ['a']"),
    ("Forbidden", "answered 403 HTTP 403"),
])
def test_partner_center_errors_of_any_shape(reading, payload, said):
    error = refused(fuzz.read_pc_error, reading, 403, body(payload))
    assert isinstance(error, GdapMissing) and said in str(error)


@pytest.mark.parametrize(("payload", "said"), [
    ({"error": "invalid_client", "error_codes": 7000215}, "tenant "),
    ({"error": "", "error_description": "", "error_codes": [True, "7000215"]}, "no description"),
    ({"error": "x", "error_description": "\u202eAADSTS1: bad\r\nTrace ID: 1", "error_codes": [10**40]}, "\\u202e"),
])
def test_entra_errors_of_any_shape(reading, payload, said):
    error = refused(fuzz.read_token_error, reading, 400, body(payload))
    assert isinstance(error, TokenRefused) and said in str(error) and error.code == ""


@pytest.mark.parametrize(("payload", "said"), [
    ({"token_type": "Bearer", "expires_in": 10**30, "access_token": fuzz.TOKEN}, "expires_in is"),
    ({"token_type": "Bearer", "expires_in": 0, "access_token": fuzz.TOKEN}, "expires_in is 0"),
    ({"token_type": "Bearer", "expires_in": 3599.5, "access_token": fuzz.TOKEN}, "expires_in is 3599.5"),
    ({"token_type": "Bearer", "expires_in": 3599, "access_token": "a b\nc"}, "access_token is 'a b\\nc'"),
    ({"token_type": "Bearer", "expires_in": 3599, "access_token": None}, "access_token is None"),
    ([1, 2], "token answer could not be read"),
])
def test_token_answers_that_are_no_token(reading, payload, said):
    error = refused(fuzz.read_token, reading, body(payload))
    assert isinstance(error, MalformedResponse) and said in str(error)


def test_a_discovery_document_naming_another_token_endpoint_is_refused(reading):
    for endpoint in ("https://elsewhere.example/t/oauth2/v2.0/token", "https://[::1/token", "https://\x1f/x", 5):
        document = {**fuzz.discovery(), "token_endpoint": endpoint}
        error = refused(fuzz.read_discovery, reading, body(document))
        expected = OffOrigin if endpoint == "https://elsewhere.example/t/oauth2/v2.0/token" else (
            MalformedResponse, OffOrigin)
        assert isinstance(error, expected) and "names the token endpoint" in str(error)
        assert reading.token_session.sent == 1  # the discovery: no token request was sent anywhere


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"value": [' + b"[" * 50_000])
def test_json_nested_too_deeply(reading, raw):
    error = refused(fuzz.read_skus, reading, raw)
    assert isinstance(error, MalformedResponse) and "subscribedSkus answered 200 with JSON" in str(error)


@pytest.mark.parametrize(("field", "value", "said"), [
    ("consumedUnits", -4, "consumedUnits is -4, not a number of seats"),
    ("consumedUnits", 10**30, "consumedUnits is 1000000000000000000000000000000, not a number of seats"),
    ("consumedUnits", 3.0, "consumedUnits is float 3.0, not a whole number"),
    ("consumedUnits", True, "consumedUnits is bool True"),
    ("prepaidUnits", {"enabled": 2**31}, "prepaidUnits.enabled is 2147483648"),
])
def test_seat_counts_out_of_range(reading, field, value, said):
    error = refused(fuzz.read_skus, reading, body({"value": [{**SKU, field: value}]}))
    assert isinstance(error, MalformedResponse) and said in str(error)


def test_a_next_link_urllib_cannot_split(reading):
    error = refused(fuzz.read_skus, reading, body({"value": [SKU], "@odata.nextLink": "https://[::1/v1.0/x"}))
    assert isinstance(error, MalformedResponse) and "nextLink points away from Graph" in str(error)


def test_a_continuation_token_that_cannot_be_a_header(reading):
    page = {"items": [], "continuationToken": "abc\r\nX-Evil: 1", "links": {"next": {"uri": "/customers"}}}
    error = refused(fuzz.read_customers, reading, body(page))
    assert isinstance(error, MalformedResponse)
    assert "continuationToken is 'abc\\r\\nX-Evil: 1', which cannot be sent back as a header" in str(error)
    assert reading.pc_session.sent == 1


def test_a_subscription_date_or_term_of_another_kind(reading):
    item = {"id": "s1", "quantity": 1, "termDuration": "P1M\u202e", "billingCycle": "monthly"}
    error = refused(fuzz.read_subscriptions, reading, body({"items": [item]}))
    assert "termDuration is 'P1M\\u202e', not P1M, P1Y or P3Y" in str(error)
    item = {"id": "s1", "quantity": 1, "commitmentEndDate": "2026-02-30T00:00:00Z"}
    error = refused(fuzz.read_subscriptions, reading, body({"items": [item]}))
    assert "commitmentEndDate is '2026-02-30T00:00:00Z', not a date" in str(error)
