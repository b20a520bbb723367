"""Answers HaloPSA sends that seatsync cannot read: typed errors with a plain sentence.

A read that cannot be decoded (not JSON, a field of the wrong type, a
number out of range, a date that does not parse) is ``HaloMalformedResponse``
naming the record and the field; never a KeyError, TypeError or ValueError.
A write whose answer cannot be read is ``HaloUnreadableAnswer``, maybe
applied: Halo had the request, and the journal settles it by reading.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.billing.types import LineKind
from app.sandbox.server import Fault
from app.services.psa.halopsa.errors import HaloMalformedResponse, HaloUnreadableAnswer
from app.services.psa.port import NewLine, PsaMalformedResponse, PsaUnavailable, PsaUnreadableAnswer
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
    ("contracts", "billingperiod", [1], "list_agreements", "field of the wrong type"),
    ("contracts", "customfields", 3, "list_agreements", "field of the wrong type"),
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
