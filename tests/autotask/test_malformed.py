"""Answers Autotask sends that seatsync cannot read: typed errors with a plain sentence.

A read that cannot be decoded (not JSON, a field of the wrong type, a
number out of range, a date that does not parse) is
``AutotaskMalformedResponse`` naming the record; never a KeyError,
TypeError or ValueError. A write whose answer cannot be read (or whose
read-back fails) is ``AutotaskUnreadableAnswer``, maybe applied.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from app.billing.types import LineKind
from app.sandbox.server import Fault, Response
from app.services.psa.autotask import AutotaskClient, AutotaskPsa
from app.services.psa.autotask.errors import AutotaskMalformedResponse, AutotaskUnreadableAnswer
from app.services.psa.port import NewLine, PsaError, PsaMalformedResponse, PsaUnavailable, PsaUnreadableAnswer
from tests.autotask.conftest import World, answering

PRICE = Decimal("22.00")


def main(world: World, quantity: int = 5, marker: str = "seatsync:0123456789ab") -> NewLine:
    return NewLine(agreement_id=str(world.ids["prorating"]), product_id=str(world.ids["product"]),
                   kind=LineKind.MAIN, quantity=quantity, unit_price=PRICE, start=date(2025, 3, 1), end=None,
                   description="Microsoft 365 Business Premium", marker=marker)


def prorate(world: World) -> NewLine:
    return NewLine(agreement_id=str(world.ids["prorating"]), product_id=str(world.ids["product"]),
                   kind=LineKind.PRORATE, quantity=2, unit_price=PRICE, start=date(2025, 3, 10),
                   end=date(2025, 3, 31), description="Microsoft 365 Business Premium (prorated)",
                   marker="seatsync:0123456789ab:p", amount=Decimal("31.23"))


def plain(error: Exception) -> str:
    text = str(error)
    assert "Traceback" not in text and "<html" not in text.lower(), text
    return text


# -- reads -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("table", "key", "field", "value", "call", "says"), [
    ("Services", "product", "unitPrice", Decimal("1E+30"), "list_products", "not an amount seatsync can bill"),
    ("Services", "product", "unitCost", "cheap", "list_products", "not a number"),
    ("Companies", "company", "userDefinedFields", 7, "list_companies", "field of the wrong type"),
    ("Contracts", "prorating", "startDate", "2025-13-45T00:00:00", "list_agreements", "not a date-time"),
    ("Contracts", "prorating", "companyID", "Contoso", "list_agreements", "companyID is not a record id"),
])
def test_a_record_that_does_not_read_is_malformed(world: World, psa: AutotaskPsa, table, key, field, value, call,
                                                  says) -> None:
    world.app.store.tables[table][world.ids[key]][field] = value
    with pytest.raises(AutotaskMalformedResponse) as caught:
        getattr(psa, call)()
    assert says in plain(caught.value)
    assert isinstance(caught.value, PsaMalformedResponse) and not isinstance(caught.value, PsaUnavailable)


@pytest.mark.parametrize("record", [{"id": -4, "companyName": "Contoso"}, {"id": "7", "companyName": "Contoso"},
                                    {"companyName": "no id"}, {"id": 2**70}])
def test_a_record_without_a_positive_id_is_malformed(psa: AutotaskPsa, monkeypatch, record) -> None:
    monkeypatch.setattr(psa.client, "call", lambda *args, **kwargs: {"items": [record], "pageDetails": {}})
    with pytest.raises(AutotaskMalformedResponse) as caught:
        psa.list_companies()
    assert "a record of Companies" in plain(caught.value)


@pytest.mark.parametrize(("field", "value", "says"), [
    ("unitPrice", "lots", "not a number"),
    ("unitPrice", Decimal("-1E+13"), "not an amount seatsync can bill"),
    ("serviceID", None, "its serviceID has no numeric id"),
])
def test_a_contract_service_that_does_not_read_is_malformed(world: World, psa: AutotaskPsa, field, value,
                                                            says) -> None:
    line = psa.create_line(main(world))
    world.app.store.tables["ContractServices"][int(line.id)][field] = value
    with pytest.raises(AutotaskMalformedResponse) as caught:
        psa.list_lines(line.agreement_id)
    assert says in plain(caught.value) and f"contract service {line.id}" in str(caught.value)


def test_a_charge_that_does_not_read_is_malformed(world: World, psa: AutotaskPsa) -> None:
    line = psa.add_dated_line(prorate(world))
    charge = int(line.id.removeprefix("charge-"))
    world.app.store.tables["ContractCharges"][charge]["billableAmount"] = "31.23 USD"
    with pytest.raises(AutotaskMalformedResponse) as caught:
        psa.list_lines(line.agreement_id)
    assert "billableAmount is not a number" in plain(caught.value)


@pytest.mark.parametrize(("kind", "says"), [("html", "an HTML page"), ("truncated_after", "JSON cut short")])
def test_a_read_answered_with_something_else_than_json_is_malformed(world: World, psa: AutotaskPsa, kind,
                                                                    says) -> None:
    psa.list_companies()  # the zone is known
    world.server.chaos.inject(Fault(kind, method="POST", path="/Companies/query$"))
    with pytest.raises(AutotaskMalformedResponse) as caught:
        psa.list_companies()
    assert says in plain(caught.value) and "POST Companies" in str(caught.value)


def test_a_read_whose_answer_breaks_off_is_read_again(world: World, psa: AutotaskPsa) -> None:
    psa.list_companies()
    world.server.chaos.inject(Fault("reset_after", method="POST", path="/Companies/query$"))
    assert "Contoso Ltd" in [c.name for c in psa.list_companies()]


# -- writes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "says"), [
    ("html_after", "an HTML page"),
    ("truncated_after", "JSON cut short"),
    ("reset_after", "the connection broke while the answer was being read"),
])
def test_a_write_whose_answer_cannot_be_read_may_have_been_applied(world: World, psa: AutotaskPsa, kind,
                                                                   says) -> None:
    line = psa.create_line(main(world))
    world.server.chaos.inject(Fault(kind, method="POST", path="/ContractServiceAdjustments$"))
    with pytest.raises(AutotaskUnreadableAnswer) as caught:
        psa.set_quantity(line, 8, date(2025, 4, 1))
    assert isinstance(caught.value, PsaUnreadableAnswer) and caught.value.maybe_applied is True
    assert says in plain(caught.value) and "POST ContractServiceAdjustments" in str(caught.value)
    assert [ln.quantity for ln in psa.list_lines(line.agreement_id)] == [8]  # applied: the journal finds it


def test_a_charge_whose_answer_cannot_be_read_may_have_been_applied(world: World, psa: AutotaskPsa) -> None:
    world.server.chaos.inject(Fault("html_after", method="POST", path=r"/Contracts/\d+/Charges$"))
    with pytest.raises(AutotaskUnreadableAnswer) as caught:
        psa.add_dated_line(prorate(world))
    assert caught.value.maybe_applied is True
    assert [ln.marker for ln in psa.list_lines(str(world.ids["prorating"]))] == ["seatsync:0123456789ab:p"]


@pytest.mark.parametrize(("answer", "says"), [
    ({"id": 5}, "without a usable itemId"),
    ({"itemId": "5"}, "without a usable itemId"),
    ({"itemId": -5}, "without a usable itemId"),
    ({"itemId": True}, "without a usable itemId"),
    ([5], "without a usable itemId"),
])
def test_a_write_answered_without_its_item_id_may_have_been_applied(world: World, psa: AutotaskPsa, monkeypatch,
                                                                    answer, says) -> None:
    monkeypatch.setattr(psa.client, "call", lambda *args, **kwargs: answer)
    with pytest.raises(AutotaskUnreadableAnswer) as caught:
        psa.client.create("V1.0/ContractServiceAdjustments", {}, endpoint="ContractServiceAdjustments")
    assert caught.value.maybe_applied is True and says in plain(caught.value)


def test_a_read_back_after_a_write_that_fails_leaves_the_write_unknown(world: World, psa: AutotaskPsa) -> None:
    """The units were adjusted; reading them back answered a page: the write may well have been applied."""
    line = psa.create_line(main(world))
    world.server.chaos.inject(Fault("html", method="POST", path="/ContractServiceUnits/query$", skip=1))
    with pytest.raises(AutotaskUnreadableAnswer) as caught:
        psa.set_quantity(line, 8, date(2025, 4, 1))
    assert caught.value.maybe_applied is True and "were adjusted" in plain(caught.value)


# -- every endpoint family, over HTTP ------------------------------------------------------------

CUT_SHORT = Response(200, b'{"items": [{"id": 174, "companyName": "Cont', {"Content-Type": "application/json"})
PAGE = Response.html("<html><head><title>Down for maintenance</title></head><body>Back soon</body></html>")
WRONG_TYPES = Response(200, json.dumps({"items": "none", "pageDetails": [], "item": 5, "queryCount": "many",
                                        "itemId": "x", "fields": 3, "url": 7, "zoneName": [],
                                        "currentTimeframeRequestCount": "lots"}).encode(),
                       {"Content-Type": "application/json"})
EMPTY = Response(200, b"", {"Content-Type": "application/json"})
DEEP = b"[" * 3000 + b"]" * 3000  # deeper than Python's recursion limit (1000)
BODIES = {"cut short": CUT_SHORT, "an HTML page with status 200": PAGE, "wrong types": WRONG_TYPES,
          "an empty body": EMPTY, "nested too deep": Response(200, DEEP, {"Content-Type": "application/json"})}
#: What the error says of each (wrong types: the field or the answer it names).
BODIES_SAID = {"cut short": "JSON cut short", "an HTML page with status 200": "an HTML page",
               "an empty body": "an empty body", "nested too deep": "nested too deeply"}


def _adjustment(world: World, client: AutotaskClient) -> object:
    return client.create("V1.0/ContractServiceAdjustments",
                         {"contractID": world.ids["prorating"], "serviceID": world.ids["product"],
                          "effectiveDate": "2025-04-01T00:00:00", "unitChange": 1},
                         endpoint="ContractServiceAdjustments")


#: (method, path, call, write): one request of each kind the client sends.
FAMILIES = {
    "zone lookup": ("GET", r"/zoneInformation$", lambda w, c: c.zone_url(refresh=True), False),
    "query": ("POST", r"/Companies/query$", lambda w, c: c.query("Companies"), False),
    "next page": ("GET", r"/Companies/query/next$", lambda w, c: c.query("Companies", page_size=1), False),
    "get": ("GET", r"/Contracts/\d+$", lambda w, c: c.get("Contracts", w.ids["prorating"]), False),
    "count": ("POST", r"/query/count$", lambda w, c: c.count("Companies"), False),
    "field information": ("GET", r"/entityInformation/fields$",
                          lambda w, c: c.picklist("Contracts", "contractType"), False),
    "create": ("POST", r"/ContractServiceAdjustments$", _adjustment, True),
    "update": ("PATCH", r"/Contracts/\d+/Services$",
               lambda w, c: c.update(f"V1.0/Contracts/{w.ids['prorating']}/Services",
                                     {"id": 1, "invoiceDescription": "x"}, endpoint="ContractServices"), True),
    "delete": ("DELETE", r"/Charges/\d+$",
               lambda w, c: c.delete(f"V1.0/Contracts/{w.ids['prorating']}/Charges/1", endpoint="ContractCharges"),
               True),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_endpoint_family_turns_an_unreadable_answer_into_a_typed_error(world: World, client: AutotaskClient,
                                                                             family: str) -> None:
    """JSON cut short, an HTML page with status 200, JSON of the wrong shape, an empty body: a read is
    malformed, a write's outcome unknown (maybe applied), each said in a plain sentence."""
    method, path, call, write = FAMILIES[family]
    client.zone_url()
    for body, answer in BODIES.items():
        with answering(world, method, path, answer):
            if family == "delete" and body == "wrong types":
                call(world, client)  # a delete's answer is not read, only that it is JSON
                continue
            with pytest.raises(AutotaskUnreadableAnswer if write else AutotaskMalformedResponse) as caught:
                call(world, client)
        text = plain(caught.value)
        if write:
            assert isinstance(caught.value, PsaUnreadableAnswer) and caught.value.maybe_applied, body
        else:
            assert isinstance(caught.value, PsaMalformedResponse) and not isinstance(caught.value, PsaUnavailable)
        assert BODIES_SAID.get(body, "") in text, (body, text)


def test_an_unreadable_request_threshold_leaves_the_count_to_seatsync(world: World, client: AutotaskClient) -> None:
    client.zone_url()
    for answer in BODIES.values():
        with answering(world, "GET", r"/ThresholdInformation$", answer):
            client.read_threshold()
            assert client.count("Companies") == 3
    assert client.budget.used() >= 8


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 503])
def test_an_error_answer_nested_too_deeply_is_a_typed_error(world: World, client: AutotaskClient,
                                                            status: int) -> None:
    client.zone_url()
    with (answering(world, "POST", r"/Companies/query$", Response(status, DEEP, {"Content-Type": "application/json"})),
          pytest.raises(PsaError) as caught):
        client.query("Companies")
    plain(caught.value)
    with (answering(world, "GET", r"/zoneInformation$", Response(500, DEEP, {"Content-Type": "application/json"})),
          pytest.raises(PsaError)):
        client.zone_url(refresh=True)
