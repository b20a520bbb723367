"""Answers Autotask sends that seatsync cannot read: typed errors with a plain sentence.

A read that cannot be decoded (not JSON, a field of the wrong type, a
number out of range, a date that does not parse) is
``AutotaskMalformedResponse`` naming the record; never a KeyError,
TypeError or ValueError. A write whose answer cannot be read (or whose
read-back fails) is ``AutotaskUnreadableAnswer``, maybe applied.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.billing.types import LineKind
from app.sandbox.server import Fault
from app.services.psa.autotask import AutotaskPsa
from app.services.psa.autotask.errors import AutotaskMalformedResponse, AutotaskUnreadableAnswer
from app.services.psa.port import NewLine, PsaMalformedResponse, PsaUnavailable, PsaUnreadableAnswer
from tests.autotask.conftest import World

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
