"""Answers HaloPSA sends that seatsync cannot read: typed errors with a plain sentence.

A read that cannot be decoded (not JSON, a field of the wrong type, a
number out of range, a date that does not parse) is ``HaloMalformedResponse``
naming the record and the field; never a KeyError, TypeError or ValueError.
A write whose answer cannot be read is ``HaloUnreadableAnswer``, maybe
applied: Halo had the request, and the journal settles it by reading.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pytest

from app.billing.types import LineKind
from app.sandbox.server import Fault, Response
from app.services.psa.halopsa.errors import HaloMalformedResponse, HaloUnreadableAnswer
from app.services.psa.port import NewLine, PsaError, PsaMalformedResponse, PsaUnavailable, PsaUnreadableAnswer
from tests.halopsa.conftest import SECRET


@pytest.fixture
def seeded(halo):
    client = halo.add_client("Contoso", domains=["contoso.com"])
    contract = halo.add_contract(client, ref="M365", start=date(2024, 1, 15))
    item = halo.add_item("Microsoft 365 E3", price="36.00")
    return client, contract, item


def main(contract: int, item: int) -> NewLine:
    return NewLine(agreement_id=str(contract), product_id=str(item), kind=LineKind.MAIN, quantity=5,
                   unit_price=Decimal("36.00"), start=date(2025, 3, 1), end=None, description="Microsoft 365 E3",
                   marker="seatsync:0123456789ab")


def plain(error: Exception) -> str:
    text = str(error)
    assert "Traceback" not in text and SECRET not in text and "<html" not in text.lower(), text
    return text


# -- reads -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "says"), [
    ("qty_order", Decimal("1E+30"), "'qty_order' holds 1000000000000000000000000000000"),
    ("qty_order", "NaN", "'qty_order' holds 'NaN'"),
    ("unit_price", Decimal("-1E+14"), "'unit_price' holds -100000000000000"),
    ("unit_price", [36], "'unit_price' holds [36]"),
    ("startdate", "2025-02-30T00:00:00", "'startdate' holds '2025-02-30T00:00:00'"),
    ("enddate", 20250331, "'enddate' holds 20250331"),
    ("id", -3, "not a positive number"),
    ("id", "12", "without a numeric id"),
    ("_itemid", "E3", "field '_itemid' holds 'E3', not a whole number"),
    ("comment_2", ["seatsync:0123456789ab"], "field 'comment_2' holds ['seatsync:0123456789ab'], not text"),
    ("onetimecharge", "false", "field 'onetimecharge' holds 'false', not true or false"),
])
def test_a_line_that_does_not_read_is_malformed(adapter, halo, seeded, field, value, says):
    _, contract, item = seeded
    line_id = halo.add_line(contract, item, 3)
    halo.lines_by_id[line_id][field] = value
    with pytest.raises(HaloMalformedResponse) as caught:
        adapter.list_lines(str(contract))
    assert says in plain(caught.value)
    assert isinstance(caught.value, PsaMalformedResponse) and not isinstance(caught.value, PsaUnavailable)


@pytest.mark.parametrize(("table", "field", "value", "call", "says"), [
    ("clients", "azure_tenants", 12, "list_companies", "client"),
    ("clients", "id", 0, "list_companies", "not a positive number"),
    ("contracts", "start_date", "yesterday", "list_agreements", "'start_date' holds 'yesterday'"),
    ("contracts", "billingperiod", [1], "list_agreements", "field 'billingperiod' holds [1], not a whole number"),
    ("contracts", "customfields", 3, "list_agreements", "field 'customfields' holds 3, not a list"),
    ("contracts", "active", "no", "list_agreements", "field 'active' holds 'no', not true or false"),
    ("clients", "name", {"text": "Contoso"}, "list_companies", "field 'name' holds {'text': 'Contoso'}, not text"),
    ("items", "isrecurringitem", 1, "list_products", "field 'isrecurringitem' holds 1, not true or false"),
    ("items", "recurringprice", "thirty-six", "list_products", "'recurringprice' holds 'thirty-six'"),
    ("items", "recurringcost", Decimal("1E+20"), "list_products", "'recurringcost' holds 100000000000000000000"),
])
def test_a_record_that_does_not_read_is_malformed(adapter, halo, seeded, table, field, value, call, says):
    records = getattr(halo, table)
    records[next(iter(records))][field] = value
    with pytest.raises(HaloMalformedResponse) as caught:
        getattr(adapter, call)()
    assert says in plain(caught.value)


@pytest.mark.parametrize(("kind", "says"), [("html", "an HTML page"), ("truncated_after", "JSON cut short")])
def test_a_read_answered_with_something_else_than_json_is_malformed(adapter, server, seeded, kind, says):
    adapter.list_companies()  # signed in
    server.chaos.inject(Fault(kind, method="GET", path="/api/Client$"))
    with pytest.raises(HaloMalformedResponse) as caught:
        adapter.list_companies()
    assert says in plain(caught.value) and "GET /Client" in str(caught.value)


def test_a_read_whose_answer_breaks_off_is_read_again(adapter, server, seeded):
    adapter.list_companies()
    server.chaos.inject(Fault("reset_after", method="GET", path="/api/Client$"))
    assert [c.name for c in adapter.list_companies()] == ["Contoso"]


# -- writes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "says"), [
    ("html_after", "an HTML page"),
    ("truncated_after", "JSON cut short"),
    ("reset_after", "the connection broke while the answer was being read"),
])
def test_a_write_whose_answer_cannot_be_read_may_have_been_applied(adapter, server, halo, seeded, kind, says):
    _, contract, item = seeded
    line = adapter.create_line(main(contract, item))
    server.chaos.inject(Fault(kind, method="POST", path="/api/RecurringInvoice/updatelines$"))
    with pytest.raises(HaloUnreadableAnswer) as caught:
        adapter.set_quantity(line, 8, date(2025, 3, 10))
    assert isinstance(caught.value, PsaUnreadableAnswer) and caught.value.maybe_applied is True
    assert says in plain(caught.value) and "POST /RecurringInvoice/updatelines" in str(caught.value)
    assert halo.line(int(line.id))["qty_order"] == 8  # applied: the journal finds it
    assert server.request_count("POST", "/api/RecurringInvoice/updatelines") == 1  # never sent again


@pytest.mark.parametrize(("answer", "says"), [
    ({"qty_order": 5}, "without a numeric id"),
    ({"id": 9, "qty_order": "five"}, "'qty_order' holds 'five'"),
    ({"id": 9, "startdate": "soon"}, "'startdate' holds 'soon'"),
    ({"id": -9}, "not a positive number"),
    ([], "saved 0 records of 1"),
    ("saved", "did not answer the saved records"),
])
def test_a_write_answered_with_a_line_that_does_not_read_may_have_been_applied(adapter, client, seeded,
                                                                               monkeypatch, answer, says):
    _, contract, item = seeded
    adapter.list_lines(str(contract))  # the recurring invoice is known
    original = client.request

    def answered(method, path, **kwargs):
        return answer if method == "POST" and path.endswith("/Lines") else original(method, path, **kwargs)

    monkeypatch.setattr(client, "request", answered)
    with pytest.raises(HaloUnreadableAnswer) as caught:
        adapter.create_line(main(contract, item))
    assert caught.value.maybe_applied is True and says in plain(caught.value)


# -- every endpoint family, over HTTP ------------------------------------------------------------

BODIES = {
    "an HTML page with status 200": (b"<html><head><title>Maintenance</title></head><body>Back soon</body></html>",
                                     "text/html"),
    "JSON cut short": (b'{"record_count": 1, "clients": [{"id": 1, "name": "Cont', "application/json"),
    "an empty body": (b"", "application/json"),
    "a value of another type": (b'{"record_count": "1", "clients": {"id": 1}, "access_token": 7}', "application/json"),
    "NaN": (b'{"record_count": NaN, "access_token": "t", "expires_in": NaN}', "application/json"),
}
FAMILIES = {
    "token": ("POST", r"/auth/token$", lambda adapter, seeded: adapter.list_companies()),
    "Client": ("GET", r"/api/Client$", lambda adapter, seeded: adapter.list_companies()),
    "ClientContract": ("GET", r"/api/ClientContract$", lambda adapter, seeded: adapter.list_agreements()),
    "Item": ("GET", r"/api/Item$", lambda adapter, seeded: adapter.list_products()),
    "RecurringInvoice": ("GET", r"/api/RecurringInvoice$", lambda adapter, seeded: adapter.list_lines(str(seeded[1]))),
    "RecurringInvoice/Lines": ("POST", r"/api/RecurringInvoice/Lines$",
                               lambda adapter, seeded: adapter.create_line(main(seeded[1], seeded[2]))),
}


def answering(monkeypatch, app, method: str, path: str, body: bytes, content_type: str) -> None:
    """Let the sandbox answer ``method`` on paths matching ``path`` with ``body`` (status 200)."""
    resolve = app.resolve

    def replaced(asked: str, where: str):
        found = resolve(asked, where)
        if found is None or asked != method or not re.search(path, where):
            return found
        return found[0], lambda request: Response(200, body, {"Content-Type": content_type}), found[2]

    monkeypatch.setattr(app, "resolve", replaced)


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("family", FAMILIES)
def test_a_broken_body_is_a_typed_error_in_every_family(adapter, server, halo, seeded, monkeypatch, family, body):
    method, path, call = FAMILIES[family]
    if method == "POST" and family != "token":
        adapter.list_lines(str(seeded[1]))  # the recurring invoice is known, the item read
        adapter.list_products()
    answering(monkeypatch, halo, method, path, *BODIES[body])
    with pytest.raises(PsaError) as caught:
        call(adapter, seeded)
    if family == "RecurringInvoice/Lines":
        assert isinstance(caught.value, HaloUnreadableAnswer)
    else:
        assert isinstance(caught.value, HaloMalformedResponse) and not isinstance(caught.value, PsaUnavailable)
    plain(caught.value)


def test_a_lone_surrogate_reads_as_the_replacement_character(adapter, server, halo, monkeypatch):
    """JSON's "\\ud800" is no character: it reads as U+FFFD, and one in a field seatsync does not use stops nothing."""
    body = b'{"record_count": 1, "clients": [{"id": 5, "name": "Contoso \\ud800Ltd", "notes": "\\udbff"}]}'
    answering(monkeypatch, halo, "GET", r"/api/Client$", body, "application/json")
    [company] = adapter.list_companies()
    assert company.name == "Contoso \ufffdLtd"


def test_halo_words_are_quoted_plain(client, server, halo, monkeypatch):
    resolve = halo.resolve
    said = {"title": "bad \u202eevil\x1b[2J", "detail": {"nested": True}, "status": 400}
    monkeypatch.setattr(halo, "resolve", lambda method, path: (
        "x", lambda request: Response(400, json.dumps(said).encode(), {"Content-Type": "application/json"}), {})
        if path.endswith("/api/Client") else resolve(method, path))
    with pytest.raises(PsaError) as caught:
        client.list("/Client", "clients")
    text = plain(caught.value)
    assert "bad \\u202eevil\\x1b[2J" in text and "nested" not in text
    assert all(ch.isprintable() for ch in text)


def test_a_token_that_cannot_go_in_a_header_is_malformed_and_never_shown(client, server, halo, monkeypatch):
    body = json.dumps({"access_token": "abc\u00e9 def\n", "expires_in": 3600}).encode()
    answering(monkeypatch, halo, "POST", r"/auth/token$", body, "application/json")
    with pytest.raises(HaloMalformedResponse) as caught:
        client.list("/Client", "clients")
    assert "not a bearer token" in plain(caught.value) and "abc" not in str(caught.value)


@pytest.mark.parametrize("lifetime", [0, -5, 10**30, "3600", 3600.5])
def test_a_token_lifetime_that_is_not_seconds_is_malformed(client, server, halo, monkeypatch, lifetime):
    body = json.dumps({"access_token": "abc", "expires_in": lifetime}).encode()
    answering(monkeypatch, halo, "POST", r"/auth/token$", body, "application/json")
    with pytest.raises(HaloMalformedResponse) as caught:
        client.list("/Client", "clients")
    assert "expires_in" in plain(caught.value)
