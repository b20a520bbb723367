"""Throttling, server errors and lost answers: what reaches the sync engine."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.billing.types import LineKind
from app.sandbox.connectwise import ConnectWiseSandbox
from app.sandbox.server import Fault
from app.services.psa.connectwise import ConnectWisePsa
from app.services.psa.port import NewContact, NewLine, PsaUnavailable
from tests.connectwise.spec import validate


@pytest.fixture
def seeded(sandbox: ConnectWiseSandbox):
    return sandbox.scenario([("Contoso Ltd", ["contoso.com"])])


def new_line(seeded) -> NewLine:
    return NewLine(agreement_id=str(seeded.agreements["Contoso Ltd"]), product_id=str(seeded.products["M365-BP"]),
                   kind=LineKind.MAIN, quantity=3, unit_price=Decimal("22.00"), start=date(2025, 3, 1), end=None,
                   description="Business Premium", marker="seatsync:0123456789ab")


def test_a_lost_answer_to_a_create_is_maybe_applied(psa: ConnectWisePsa, server, sandbox, seeded) -> None:
    server.chaos.inject(Fault("drop_after", method="POST", path="/additions$"))
    with pytest.raises(PsaUnavailable) as caught:
        psa.create_line(new_line(seeded))
    assert caught.value.maybe_applied is True
    assert server.request_count("POST") == 1  # never blindly sent again
    agreement = seeded.agreements["Contoso Ltd"]
    assert [a["serialNumber"] for a in sandbox.additions[agreement].values()] == ["seatsync:0123456789ab"]
    # Reading the PSA tells the journal what happened.
    assert [line.marker for line in psa.list_lines(str(agreement))] == ["seatsync:0123456789ab"]


def test_a_lost_answer_to_a_patch_is_maybe_applied(psa: ConnectWisePsa, server, sandbox, seeded) -> None:
    created = psa.create_line(new_line(seeded))
    server.chaos.inject(Fault("drop_after", method="PATCH"))
    with pytest.raises(PsaUnavailable) as caught:
        psa.set_quantity(created, 9, date(2025, 3, 10))
    assert caught.value.maybe_applied is True
    assert server.request_count("PATCH") == 1
    assert sandbox.addition(int(created.agreement_id), int(created.id))["quantity"] == 9


def test_a_server_error_after_applying_a_write_is_maybe_applied(psa: ConnectWisePsa, server, seeded) -> None:
    server.chaos.inject(Fault("status_after", method="POST", status=500))
    with pytest.raises(PsaUnavailable) as caught:
        psa.add_dated_line(NewLine(agreement_id=str(seeded.agreements["Contoso Ltd"]),
                                   product_id=str(seeded.products["M365-BP"]), kind=LineKind.PRORATE, quantity=2,
                                   unit_price=Decimal("22.00"), start=date(2025, 3, 10), end=date(2025, 3, 31),
                                   description="", marker="seatsync:0123456789ab:p", amount=Decimal("31.23")))
    assert caught.value.maybe_applied is True and "HTTP 500" in str(caught.value)
    assert server.request_count("POST") == 1


def test_a_lost_answer_to_a_delete_is_maybe_applied(psa: ConnectWisePsa, server, seeded) -> None:
    created = psa.create_line(new_line(seeded))
    server.chaos.inject(Fault("drop_after", method="DELETE"))
    with pytest.raises(PsaUnavailable) as caught:
        psa.cancel_line(created, date(2025, 3, 1))
    assert caught.value.maybe_applied is True
    assert psa.list_lines(created.agreement_id) == []


def test_reads_retry_server_errors_and_lost_answers(psa: ConnectWisePsa, server, seeded) -> None:
    server.chaos.inject(Fault("status", method="GET", path="/company/companies", status=503))
    server.chaos.inject(Fault("drop", method="GET", path="/company/companies"))
    assert [c.name for c in psa.list_companies()] == ["Contoso Ltd"]
    assert server.request_count("GET", "/company/companies") == 3


def test_throttling_honours_retry_after_for_writes_too(sandbox, tls, seeded) -> None:
    from app.sandbox.server import SandboxServer
    from app.services.psa.connectwise import ConnectWiseClient
    from tests.connectwise.conftest import credentials_for

    waits: list[float] = []
    with SandboxServer(sandbox, tls=tls) as server:
        client = ConnectWiseClient(credentials_for(server), verify=tls.ca, sleep=waits.append)
        try:
            server.chaos.inject(Fault("status", method="POST", status=429, retry_after=7, times=2))
            created = ConnectWisePsa(client).create_line(new_line(seeded))
        finally:
            client.close()
        assert created.quantity == 3 and waits == [7.0, 7.0]
        assert server.request_count("POST") == 3  # 429 means not applied: safe to send again
        assert len(sandbox.additions[seeded.agreements["Contoso Ltd"]]) == 1


def test_throttling_beyond_the_budget_is_unavailable_not_applied(psa: ConnectWisePsa, server, seeded) -> None:
    server.chaos.inject(Fault("status", method="POST", status=429, retry_after=1, times=10))
    with pytest.raises(PsaUnavailable, match="kept throttling") as caught:
        psa.create_line(new_line(seeded))
    assert caught.value.maybe_applied is False


def test_throttle_and_server_error_bodies_use_the_connectwise_shape(client, server, seeded) -> None:
    url = client.url("/company/companies")  # discovers the codebase first
    server.chaos.inject(Fault("status", method="GET", status=429, retry_after=3))
    response = client.http.session.get(url)
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    validate("ErrorResponseMessage", response.json())
    server.chaos.inject(Fault("status", method="GET", status=500))
    response = client.http.session.get(url)
    assert response.status_code == 500
    validate("ErrorResponseMessage", response.json())


def test_a_contact_whose_answer_was_lost_is_found_by_email(server, sandbox, psa) -> None:
    company = sandbox.add_company("Contoso Ltd")
    server.chaos.inject(Fault("drop_after", method="POST", path="/company/contacts$"))
    with pytest.raises(PsaUnavailable) as lost:
        psa.create_contact(NewContact(company_id=str(company), first_name="Alice", last_name="Smith",
                                      email="alice@contoso.com"))
    assert lost.value.maybe_applied
    found = [c for c in psa.list_contacts(str(company)) if c.has_email("ALICE@contoso.com")]
    assert len(found) == 1 and found[0].first_name == "Alice"


def test_contact_reads_are_retried_after_throttling(server, sandbox, psa) -> None:
    company = sandbox.add_company("Contoso Ltd")
    sandbox.add_contact(company, "Bob", "Jones", emails=("bob@contoso.com",))
    server.chaos.inject(Fault("status", method="GET", path="/company/contacts", status=429, retry_after=1))
    assert [c.email for c in psa.list_contacts(str(company))] == ["bob@contoso.com"]
