"""Answers ConnectWise sends that seatsync cannot read: typed errors with a plain sentence.

A read that cannot be decoded (not JSON, a field of the wrong type, a
number out of range, a date that does not parse) is ``PsaMalformedResponse``
naming the record and the field; never a KeyError, TypeError or ValueError.
A write whose answer cannot be read is ``PsaUnreadableAnswer``, maybe
applied: ConnectWise had the request, and the journal settles it by reading.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.billing.types import LineKind
from app.sandbox.connectwise import ConnectWiseSandbox
from app.sandbox.server import Fault
from app.services.psa.connectwise import ConnectWisePsa
from app.services.psa.port import NewLine, PsaMalformedResponse, PsaUnavailable, PsaUnreadableAnswer


@pytest.fixture
def seeded(sandbox: ConnectWiseSandbox):
    return sandbox.scenario([("Contoso Ltd", ["contoso.com"])])


def new_line(seeded, marker: str = "seatsync:0123456789ab") -> NewLine:
    return NewLine(agreement_id=str(seeded.agreements["Contoso Ltd"]), product_id=str(seeded.products["M365-BP"]),
                   kind=LineKind.MAIN, quantity=3, unit_price=Decimal("22.00"), start=date(2025, 3, 1), end=None,
                   description="Business Premium", marker=marker)


def plain(error: Exception) -> str:
    text = str(error)
    assert "Traceback" not in text and "sandbox-private" not in text and "<html" not in text.lower(), text
    return text


# -- reads -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "says"), [
    ("quantity", Decimal("1E+30"), "more seats than any tenant holds"),
    ("quantity", "three", "not a number"),
    ("quantity", [3], "not a number"),
    ("unitPrice", Decimal("1E+15"), "not an amount seatsync can bill"),
    ("unitPrice", {"amount": 22}, "not a number"),
    ("id", -4, "not a positive whole number"),
    ("id", "abc", "not a positive whole number"),
    ("effectiveDate", "2025-13-45T00:00:00Z", "not a date"),
    ("cancelledDate", 20250331, "not a date"),
    ("product", "M365-BP", "without its product"),
    ("product", {"id": 0}, "not a positive whole number"),
])
def test_an_addition_that_does_not_read_is_malformed(psa: ConnectWisePsa, server, sandbox, seeded, field, value,
                                                     says) -> None:
    line = psa.create_line(new_line(seeded))
    sandbox.additions[int(line.agreement_id)][int(line.id)][field] = value
    with pytest.raises(PsaMalformedResponse) as caught:
        psa.list_lines(line.agreement_id)
    assert says in plain(caught.value) and "ConnectWise" in str(caught.value)


@pytest.mark.parametrize(("table", "field", "value", "call", "says"), [
    ("companies", "status", "Active", "list_companies", "status of company"),
    ("companies", "id", -1, "list_companies", "not a positive whole number"),
    ("agreements", "billingCycle", "Monthly", "list_agreements", "billingCycle of agreement"),
    ("agreements", "startDate", "first of January", "list_agreements", "not a date"),
    ("agreements", "company", None, "list_agreements", "without its company"),
    ("catalog", "price", "free", "list_products", "not a number"),
    ("catalog", "cost", Decimal("-1E+20"), "list_products", "not an amount seatsync can bill"),
])
def test_a_record_that_does_not_read_is_malformed(psa: ConnectWisePsa, server, sandbox, seeded, table, field, value,
                                                  call, says) -> None:
    records = getattr(sandbox, table)
    records[next(iter(records))][field] = value
    with pytest.raises(PsaMalformedResponse) as caught:
        getattr(psa, call)()
    assert says in plain(caught.value)


@pytest.mark.parametrize(("kind", "says"), [("html", "an HTML page"), ("truncated_after", "JSON cut short")])
def test_a_read_answered_with_something_else_than_json_is_malformed(psa: ConnectWisePsa, server, seeded, kind,
                                                                    says) -> None:
    psa.list_companies()  # the codebase is known
    server.chaos.inject(Fault(kind, method="GET", path="/company/companies$"))
    with pytest.raises(PsaMalformedResponse) as caught:
        psa.list_companies()
    assert says in plain(caught.value) and "GET /company/companies" in str(caught.value)
    assert not isinstance(caught.value, PsaUnavailable)


def test_a_read_whose_answer_breaks_off_is_read_again(psa: ConnectWisePsa, server, seeded) -> None:
    psa.list_companies()
    server.chaos.inject(Fault("reset_after", method="GET", path="/company/companies$"))
    assert [c.name for c in psa.list_companies()] == ["Contoso Ltd"]
    assert server.request_count("GET", "/company/companies") == 3


# -- writes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "says"), [
    ("html_after", "an HTML page"),
    ("truncated_after", "JSON cut short"),
    ("reset_after", "the connection broke while the answer was being read"),
])
def test_a_write_whose_answer_cannot_be_read_may_have_been_applied(psa: ConnectWisePsa, server, sandbox, seeded,
                                                                   kind, says) -> None:
    server.chaos.inject(Fault(kind, method="POST", path="/additions$"))
    with pytest.raises(PsaUnreadableAnswer) as caught:
        psa.create_line(new_line(seeded))
    assert caught.value.maybe_applied is True and says in plain(caught.value)
    assert "POST /finance/agreements/{id}/additions" in str(caught.value)
    assert server.request_count("POST") == 1  # never sent again
    agreement = seeded.agreements["Contoso Ltd"]
    assert [line.marker for line in psa.list_lines(str(agreement))] == ["seatsync:0123456789ab"]


def test_an_html_page_before_the_write_is_unknown_too(psa: ConnectWisePsa, server, seeded) -> None:
    """A proxy's page says nothing of whether ConnectWise saw the request: the journal reads to find out."""
    line = psa.create_line(new_line(seeded))
    server.chaos.inject(Fault("html", method="PATCH"))
    with pytest.raises(PsaUnreadableAnswer) as caught:
        psa.set_quantity(line, 9, date(2025, 3, 10))
    assert caught.value.maybe_applied is True
    assert psa.list_lines(line.agreement_id)[0].quantity == 3  # not applied: the next sync writes it


def test_a_delete_answered_with_a_page_may_have_been_applied(psa: ConnectWisePsa, server, seeded) -> None:
    line = psa.create_line(new_line(seeded))
    server.chaos.inject(Fault("html_after", method="DELETE"))
    with pytest.raises(PsaUnreadableAnswer):
        psa.cancel_line(line, date(2025, 3, 1))
    assert psa.list_lines(line.agreement_id) == []


@pytest.mark.parametrize(("answer", "says"), [
    ({"quantity": 3, "product": {"id": 1}}, "without an id"),
    ({"id": 7, "quantity": "3 seats", "product": {"id": 1}}, "not a number"),
    ({"id": 7, "quantity": 3, "product": {"id": 1}, "effectiveDate": "soon"}, "not a date"),
    ({"id": -7, "quantity": 3, "product": {"id": 1}}, "not a positive whole number"),
    ([{"id": 7}], "instead of the addition"),
    (None, "instead of the addition"),
])
def test_a_write_answered_with_a_record_that_does_not_read_may_have_been_applied(
        psa: ConnectWisePsa, server, seeded, monkeypatch, answer, says) -> None:
    monkeypatch.setattr(psa.client, "post", lambda path, body: answer)
    with pytest.raises(PsaUnreadableAnswer) as caught:
        psa.create_line(new_line(seeded))
    assert caught.value.maybe_applied is True and says in plain(caught.value)
