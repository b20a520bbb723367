"""The shared PSA contract (tests/contract/psa_contract.py), run against the
HaloPSA adapter on its sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from app.billing.types import Cycle
from app.sandbox.halopsa import HaloSandbox
from app.sandbox.server import Fault
from app.services.psa.halopsa import HaloClient, HaloPsaAdapter
from app.services.psa.port import NewContact, PsaUnavailable
from tests.contract.psa_contract import ContactContract, ContactEnv, PsaContract, PsaEnv


def seed_env(halo: HaloSandbox, adapter: HaloPsaAdapter) -> PsaEnv:
    company = halo.add_client("Contoso Ltd", domains=["contoso.com"],
                              azure_tenants=[("6f1c6b4e-0000-4000-8000-000000000001", "contoso.onmicrosoft.com")])
    other = halo.add_client("Fabrikam Inc", domains=["fabrikam.com"])
    prorating = halo.add_contract(company, ref="Microsoft 365", start=date(2024, 1, 1), prorates=True)
    flat = halo.add_contract(company, ref="Microsoft 365 (no proration)", start=date(2024, 1, 1), prorates=False)
    inactive = halo.add_contract(company, ref="Old agreement", start=date(2022, 1, 1), active=False)
    halo.add_contract(other, ref="Fabrikam managed services", start=date(2024, 1, 1), cycle=Cycle.ANNUAL)
    product = halo.add_item("Microsoft 365 Business Premium", price="22.00", cost="18.70")
    product_other = halo.add_item("Microsoft 365 E3", price="36.00", cost="30.60")
    retired = halo.add_item("Office 365 E1 (retired)", price="8.00", inactive=True)

    def add_foreign_line(agreement_id: str, product_id: str, quantity: int) -> str:
        return str(halo.add_line(int(agreement_id), int(product_id), quantity))

    return PsaEnv(
        psa=adapter, company_id=str(company), agreement_prorating=str(prorating), agreement_flat=str(flat),
        agreement_inactive=str(inactive), product_id=str(product), product_other=str(product_other),
        inactive_product_id=str(retired),
        edit_line_quantity=lambda line_id, quantity: halo.edit_line(int(line_id), qty_order=quantity),
        add_foreign_line=add_foreign_line,
    )


class TestHaloContract(PsaContract):
    @pytest.fixture
    def psa_env(self, halo: HaloSandbox, make_client: Callable[..., HaloClient]) -> PsaEnv:
        adapter = HaloPsaAdapter(make_client(), today=lambda: date(2025, 3, 10))
        return seed_env(halo, adapter)


class TestHaloContactContract(ContactContract):
    @pytest.fixture
    def contact_env(self, halo: HaloSandbox, make_client: Callable[..., HaloClient]) -> ContactEnv:
        def add_contact(company_id: str, *, first_name: str, last_name: str, email: str,
                        other_emails: tuple[str, ...], active: bool) -> str:
            return str(halo.add_user(int(company_id), first_name, last_name, email=email, other_emails=other_emails,
                                     inactive=not active))

        return ContactEnv(psa=HaloPsaAdapter(make_client(page_size=4)),
                          company_id=str(halo.add_client("Contoso Ltd", domains=["contoso.com"])),
                          other_company_id=str(halo.add_client("Fabrikam Inc", domains=["fabrikam.com"])),
                          page_size=4, add_contact=add_contact)


def test_a_contact_whose_answer_was_lost_is_found_by_email(halo: HaloSandbox, server,
                                                           make_client: Callable[..., HaloClient]) -> None:
    company = halo.add_client("Contoso Ltd")
    adapter = HaloPsaAdapter(make_client())
    server.chaos.inject(Fault("drop_after", method="POST", path="/api/Users$"))
    with pytest.raises(PsaUnavailable) as lost:
        adapter.create_contact(NewContact(company_id=str(company), first_name="Alice", last_name="Smith",
                                          email="alice@contoso.com"))
    assert lost.value.maybe_applied
    found = [c for c in adapter.list_contacts(str(company)) if c.has_email("ALICE@contoso.com")]
    assert len(found) == 1 and found[0].first_name == "Alice"
