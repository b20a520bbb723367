"""Answers ConnectWise sends that seatsync cannot read: typed errors with a plain sentence.

A read that cannot be decoded (not JSON, a field of the wrong type, a
number out of range, a date that does not parse) is ``PsaMalformedResponse``
naming the record and the field; never a KeyError, TypeError or ValueError.
A write whose answer cannot be read is ``PsaUnreadableAnswer``, maybe
applied: ConnectWise had the request, and the journal settles it by reading.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pytest

from app.billing.types import LineKind
from app.sandbox.connectwise import ConnectWiseSandbox
from app.sandbox.server import Fault, Response
from app.services.psa.connectwise import ConnectWisePsa
from app.services.psa.port import (
    NewLine,
    PsaAuthError,
    PsaError,
    PsaMalformedResponse,
    PsaUnavailable,
    PsaUnreadableAnswer,
    PsaValidationError,
)


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
    ("serialNumber", ["seatsync:0123456789ab"], "the serialNumber of addition"),
    ("invoiceDescription", {"text": "x"}, "not text"),
    ("agreementId", "seven", "not a positive whole number"),
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
    ("catalog", "cost", Decimal("1E+999999"), "list_products", "not an amount seatsync can bill"),
    ("catalog", "inactiveFlag", "false", "list_products", "the inactiveFlag of product"),
    ("companies", "name", ["Contoso"], "list_companies", "the name of company"),
    ("companies", "customFields", {"caption": "M365 Domains"}, "list_companies", "not a list"),
    ("agreements", "prorateFlag", "true", "list_agreements", "not true or false"),
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


# -- every endpoint family, over HTTP ------------------------------------------------------------

BODIES = {
    "an HTML page with status 200": (b"<html><head><title>Maintenance</title></head><body>Back soon</body></html>",
                                     "text/html"),
    "JSON cut short": (b'[{"id": 1, "name": "Contoso', "application/json"),
    "an empty body": (b"", "application/json"),
    "a value of another type": (b'{"id": "one", "count": [1], "Codebase": 7}', "application/json"),
    "NaN": (b'[{"id": 1, "price": NaN, "count": NaN}]', "application/json"),
}
FAMILIES = {
    "companies": (r"/company/companies$", lambda psa, seeded: psa.list_companies()),
    "agreements": (r"/finance/agreements$", lambda psa, seeded: psa.list_agreements()),
    "catalog": (r"/procurement/catalog$", lambda psa, seeded: psa.list_products()),
    "additions": (r"/additions$", lambda psa, seeded: psa.list_lines(str(seeded.agreements["Contoso Ltd"]))),
    "count": (r"/count$", lambda psa, seeded: psa.test_connection()),
    "companyinfo": (r"/login/companyinfo/", lambda psa, seeded: psa.test_connection()),
    "addition written": (r"/additions$", lambda psa, seeded: psa.create_line(new_line(seeded))),
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
def test_a_broken_body_is_a_typed_error_in_every_family(psa: ConnectWisePsa, server, sandbox, seeded, monkeypatch,
                                                        family, body) -> None:
    path, call = FAMILIES[family]
    method = "POST" if family == "addition written" else "GET"
    answering(monkeypatch, sandbox, method, path, *BODIES[body])
    with pytest.raises(PsaError) as caught:
        call(psa, seeded)
    if family == "addition written":
        assert isinstance(caught.value, PsaUnreadableAnswer)
    elif family == "companyinfo":
        assert isinstance(caught.value, (PsaMalformedResponse, PsaAuthError))
    else:
        assert isinstance(caught.value, PsaMalformedResponse) and not isinstance(caught.value, PsaUnavailable)
    assert "Maintenance" not in plain(caught.value) or body.startswith("an HTML")


def test_a_lone_surrogate_reads_as_the_replacement_character(psa: ConnectWisePsa, server, sandbox, seeded,
                                                             monkeypatch) -> None:
    """JSON's "\\ud800" is no character: it reads as U+FFFD, and one in a field seatsync does not use stops nothing."""
    body = (b'[{"id": 5, "name": "Contoso \\ud800Ltd", "identifier": "C\\udfff", "status": {"id": 1, '
            b'"name": "Active"}, "addressLine1": "\\udbff", "customFields": []}]')
    answering(monkeypatch, sandbox, "GET", r"/company/companies$", body, "application/json")
    [company] = psa.list_companies()
    assert (company.name, company.identifier) == ("Contoso \ufffdLtd", "C\ufffd")
    company.name.encode("utf-8")  # storable


def test_connectwise_words_are_quoted_plain(psa: ConnectWisePsa, server, sandbox, seeded, monkeypatch) -> None:
    resolve = sandbox.resolve
    said = {"code": "InvalidObject", "message": "bad \u202eevil\x1b[2J \ud800",
            "errors": [{"field": "quantity", "message": {"nested": True}}]}
    monkeypatch.setattr(sandbox, "resolve", lambda method, path: (
        "x", lambda request: Response(400, json.dumps(said).encode(), {"Content-Type": "application/json"}), {})
        if path.endswith("/company/companies") else resolve(method, path))
    with pytest.raises(PsaValidationError) as caught:
        psa.list_companies()
    text = plain(caught.value)
    assert "bad \\u202eevil\\x1b[2J \ufffd" in text and "quantity: {'nested': True}" in text
    assert all(ch.isprintable() for ch in text)


def test_a_retry_after_of_digits_that_are_not_ascii_is_waited_out_as_any_other(psa: ConnectWisePsa, server, sandbox,
                                                                              seeded, monkeypatch) -> None:
    """Found by the schema fuzz (tests/connectwise/fuzz.py): "80³" is digits to str.isdigit, and float()
    refused it. Retry-After counts seconds in ASCII digits; anything else waits the usual back-off."""
    resolve = sandbox.resolve
    throttled = Response(429, b'{"code": "TooManyRequests", "message": "slow down"}',
                         {"Content-Type": "application/json", "Retry-After": "80\u00b3"})
    monkeypatch.setattr(sandbox, "resolve", lambda method, path: ("x", lambda request: throttled, {})
                        if path.endswith("/company/companies") else resolve(method, path))
    with pytest.raises(PsaUnavailable) as caught:
        psa.list_companies()
    assert "throttling" in plain(caught.value)
