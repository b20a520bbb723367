"""What FakePsa offers beyond the contract: history, failure injection, thread safety."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date

import pytest

from app.services.psa.fake import FAKE_CAPABILITIES, FakePsa
from app.services.psa.port import ContactChange, NewContact, PsaPort, PsaUnavailable
from tests.contract.psa_contract import CHANGE, main_line
from tests.contract.test_fake_contract import fake_env


def test_fake_is_a_psa_port() -> None:
    assert isinstance(fake_env().psa, PsaPort)


def test_quantity_changes_are_kept_with_their_dates() -> None:
    env = fake_env()
    line = env.psa.create_line(main_line(env))
    env.psa.set_quantity(line, 8, CHANGE)
    assert env.psa.quantity_history(line.id) == [(date(2025, 3, 1), 5), (CHANGE, 8)]  # type: ignore[attr-defined]


def test_a_lost_response_applies_the_write_and_raises() -> None:
    env = fake_env()
    psa = env.psa
    assert isinstance(psa, FakePsa)
    psa.fail_next("create_line", PsaUnavailable("no answer", maybe_applied=True), apply=True)
    with pytest.raises(PsaUnavailable) as caught:
        psa.create_line(main_line(env))
    assert caught.value.maybe_applied is True
    assert [line.marker for line in psa.list_lines(env.agreement_prorating)] == ["seatsync:a1b2c3d4e5f6"]


def test_a_failure_before_applying_changes_nothing() -> None:
    env = fake_env()
    psa = env.psa
    assert isinstance(psa, FakePsa)
    psa.fail_next("create_line", PsaUnavailable("refused"))
    with pytest.raises(PsaUnavailable) as caught:
        psa.create_line(main_line(env))
    assert caught.value.maybe_applied is False
    assert psa.list_lines(env.agreement_prorating) == []
    psa.create_line(main_line(env))  # the failure was for one call only
    assert psa.write_count == 2


def test_concurrent_writers_never_lose_a_line() -> None:
    env = fake_env()

    def write(n: int) -> None:
        for i in range(50):
            env.psa.create_line(main_line(env, marker=f"seatsync:{n:02d}{i:010d}"))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = env.psa.list_lines(env.agreement_prorating)
    assert len(lines) == 400 and len({line.id for line in lines}) == 400


def test_a_contact_field_the_psa_lacks_is_refused_before_sending() -> None:
    psa = FakePsa(capabilities=replace(FAKE_CAPABILITIES, contact_fields=frozenset(
        {"first_name", "last_name", "email", "title", "phone"})))
    company = psa.add_company("Contoso Ltd")
    with pytest.raises(ValueError, match="no contact field mobile"):
        psa.create_contact(NewContact(company_id=company, first_name="A", last_name="B", email="a@contoso.com",
                                      mobile="+1 555 0199"))
    created = psa.create_contact(NewContact(company_id=company, first_name="A", last_name="B",
                                            email="a@contoso.com", phone="+1 555 0100"))
    with pytest.raises(ValueError, match="no contact field mobile"):
        psa.update_contact(created, ContactChange(mobile="+1 555 0199"))
    assert psa.list_contacts(company) == [created] and psa.write_count == 1


def test_a_lost_contact_answer_is_settled_by_reading_back() -> None:
    psa = FakePsa()
    company = psa.add_company("Contoso Ltd")
    psa.fail_next("create_contact", PsaUnavailable("lost", maybe_applied=True), apply=True)
    with pytest.raises(PsaUnavailable):
        psa.create_contact(NewContact(company_id=company, first_name="A", last_name="B", email="a@contoso.com"))
    assert [c.email for c in psa.list_contacts(company) if c.has_email("A@Contoso.com")] == ["a@contoso.com"]
