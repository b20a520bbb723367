"""Each sandbox world's PSA side (app/sandbox/*/side.py) seeds contacts as a person would and
reads them back as the PSA holds them, alike for every PSA."""

from __future__ import annotations

from datetime import date

import pytest

from app.sandbox.autotask.side import AutotaskSide
from app.sandbox.connectwise.side import ConnectWiseSide
from app.sandbox.halopsa.side import HaloSide

SIDES = [ConnectWiseSide, AutotaskSide, HaloSide]


@pytest.mark.parametrize("side_class", SIDES, ids=lambda s: s.kind)
def test_a_side_seeds_and_reads_contacts(side_class) -> None:
    side = side_class(lambda: date(2025, 3, 10))
    company = side.add_company("Contoso Ltd", domains=["contoso.com"])
    other = side.add_company("Fabrikam Inc", domains=["fabrikam.com"])
    bob = side.add_contact(company, first_name="Bob", last_name="Jones", email="bob@contoso.com",
                           other_emails=("robert@contoso.com",))
    carol = side.add_contact(company, first_name="Carol", last_name="White", email="carol@contoso.com", active=False)
    side.add_contact(other, first_name="Dan", last_name="Brown", email="dan@fabrikam.com")
    assert side.contacts(company) == [
        {"id": bob, "first_name": "Bob", "last_name": "Jones", "email": "bob@contoso.com", "active": True},
        {"id": carol, "first_name": "Carol", "last_name": "White", "email": "carol@contoso.com", "active": False},
    ]
    assert [c["email"] for c in side.contacts(other)] == ["dan@fabrikam.com"]
