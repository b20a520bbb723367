"""The PSA contract, run against the ConnectWise adapter on its sandbox."""

from __future__ import annotations

from datetime import date

import pytest

from app.sandbox.connectwise import ConnectWiseSandbox
from app.services.psa.connectwise import ConnectWiseClient, ConnectWisePsa
from tests.contract.psa_contract import ContactContract, ContactEnv, PsaContract, PsaEnv


def cw_env(sandbox: ConnectWiseSandbox, psa: ConnectWisePsa) -> PsaEnv:
    scenario = sandbox.scenario([("Contoso Ltd", ["contoso.com"]), ("Fabrikam Inc", ["fabrikam.com"])])
    company = scenario.companies["Contoso Ltd"]
    flat = sandbox.add_agreement(company, name="Microsoft 365 (no proration)", prorate=False)
    inactive = sandbox.add_agreement(company, name="Old agreement", status="Cancelled")
    retired = sandbox.add_product("O365-E1-OLD", description="Office 365 E1 (retired)", price="8.00", inactive=True)

    def edit_line_quantity(line_id: str, quantity: int) -> None:
        agreement_id, _ = sandbox.find_addition(int(line_id))
        sandbox.edit_addition(agreement_id, int(line_id), quantity=quantity)

    def add_foreign_line(agreement_id: str, product_id: str, quantity: int) -> str:
        return str(sandbox.add_addition(int(agreement_id), int(product_id), quantity, effective=date(2025, 1, 1)))

    return PsaEnv(
        psa=psa, company_id=str(company), agreement_prorating=str(scenario.agreements["Contoso Ltd"]),
        agreement_flat=str(flat), agreement_inactive=str(inactive),
        product_id=str(scenario.products["M365-BP"]), product_other=str(scenario.products["M365-E3"]),
        inactive_product_id=str(retired), edit_line_quantity=edit_line_quantity, add_foreign_line=add_foreign_line,
    )


class TestConnectWiseContract(PsaContract):
    @pytest.fixture
    def psa_env(self, sandbox: ConnectWiseSandbox, psa: ConnectWisePsa) -> PsaEnv:
        return cw_env(sandbox, psa)


class TestConnectWiseContactContract(ContactContract):
    @pytest.fixture
    def contact_env(self, sandbox: ConnectWiseSandbox, make_client) -> ContactEnv:
        def add_contact(company_id: str, *, first_name: str, last_name: str, email: str,
                        other_emails: tuple[str, ...], active: bool) -> str:
            return str(sandbox.add_contact(int(company_id), first_name, last_name, emails=(email, *other_emails),
                                           inactive=not active))

        company = sandbox.add_company("Contoso Ltd", domains=["contoso.com"])
        other = sandbox.add_company("Fabrikam Inc", domains=["fabrikam.com"])
        client: ConnectWiseClient = make_client(page_size=4)
        return ContactEnv(psa=ConnectWisePsa(client), company_id=str(company), other_company_id=str(other),
                          page_size=4, add_contact=add_contact)
