"""What FakePsa offers beyond the contract: history, failure injection, thread safety."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from app.services.psa.fake import FakePsa
from app.services.psa.port import PsaPort, PsaUnavailable
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
