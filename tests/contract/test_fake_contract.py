"""The PSA contract, run against the in-memory FakePsa."""

from __future__ import annotations

from datetime import date

import pytest

from app.billing.types import AgreementStatus
from app.services.psa.fake import FakePsa
from tests.contract.psa_contract import ContactContract, ContactEnv, PsaContract, PsaEnv


def fake_env() -> PsaEnv:
    psa = FakePsa()
    company = psa.add_company("Contoso Ltd", domains=["contoso.com"])
    other = psa.add_company("Fabrikam Inc", domains=["fabrikam.com"])
    prorating = psa.add_agreement(company, name="Microsoft 365", start=date(2024, 1, 1), prorates=True)
    flat = psa.add_agreement(company, name="Microsoft 365 (no proration)", start=date(2024, 1, 1), prorates=False)
    inactive = psa.add_agreement(company, name="Old agreement", status=AgreementStatus.CANCELLED)
    psa.add_agreement(other, name="Fabrikam managed services")
    product = psa.add_product("M365-BP", description="Microsoft 365 Business Premium", price="22.00")
    product_other = psa.add_product("M365-E3", description="Microsoft 365 E3", price="36.00")
    inactive_product = psa.add_product("O365-E1-OLD", description="Office 365 E1 (retired)", price="8.00",
                                       active=False)
    return PsaEnv(
        psa=psa, company_id=company, agreement_prorating=prorating, agreement_flat=flat,
        agreement_inactive=inactive, product_id=product, product_other=product_other,
        inactive_product_id=inactive_product, edit_line_quantity=psa.edit_line_quantity,
        add_foreign_line=lambda agreement, product_id, qty: psa.add_foreign_line(agreement, product_id, qty).id,
    )


class TestFakeContract(PsaContract):
    @pytest.fixture
    def psa_env(self) -> PsaEnv:
        return fake_env()


class TestFakeContactContract(ContactContract):
    @pytest.fixture
    def contact_env(self) -> ContactEnv:
        psa = FakePsa()
        company = psa.add_company("Contoso Ltd", domains=["contoso.com"])
        other = psa.add_company("Fabrikam Inc", domains=["fabrikam.com"])
        return ContactEnv(psa=psa, company_id=company, other_company_id=other, page_size=3,
                          add_contact=psa.add_contact)
