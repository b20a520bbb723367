"""The shared PSA contract (tests/contract/psa_contract.py), run against the
Autotask adapter on the Autotask sandbox over TLS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from tests.autotask.conftest import TODAY, World
from tests.contract.psa_contract import ContactContract, ContactEnv, PsaContract, PsaEnv


class TestAutotaskContract(PsaContract):
    @pytest.fixture
    def psa_env(self, world: World) -> Iterator[PsaEnv]:
        from app.services.psa.autotask import AutotaskPsa

        store = world.app.store
        client = world.client()
        ids = world.ids

        def edit(line_id: str, quantity: int) -> None:
            # A person adjusting the units in Autotask, effective today (Autotask prorates it).
            store.set_units(int(line_id), quantity, TODAY)

        def foreign(agreement_id: str, product_id: str, quantity: int) -> str:
            return str(store.add_contract_service(int(agreement_id), int(product_id), units=quantity,
                                                  start=date(2025, 3, 1), invoice_description="Added by hand"))

        try:
            yield PsaEnv(psa=AutotaskPsa(client, today=lambda: TODAY), company_id=str(ids["company"]),
                         agreement_prorating=str(ids["prorating"]), agreement_flat=str(ids["flat"]),
                         agreement_inactive=str(ids["inactive"]), product_id=str(ids["product"]),
                         product_other=str(ids["product_other"]), inactive_product_id=str(ids["inactive_product"]),
                         edit_line_quantity=edit, add_foreign_line=foreign)
        finally:
            client.close()


class TestAutotaskContactContract(ContactContract):
    @pytest.fixture
    def contact_env(self, world: World) -> Iterator[ContactEnv]:
        from app.services.psa.autotask import AutotaskPsa

        store = world.app.store
        client = world.client()

        def add_contact(company_id: str, *, first_name: str, last_name: str, email: str,
                        other_emails: tuple[str, ...], active: bool) -> str:
            return str(store.add_contact(int(company_id), first_name, last_name, email=email,
                                         other_emails=other_emails, active=active))

        try:
            yield ContactEnv(psa=AutotaskPsa(client, today=lambda: TODAY, contact_page_size=4),
                             company_id=str(store.add_company("Contoso Contacts Ltd")),
                             other_company_id=str(store.add_company("Fabrikam Contacts Inc")), page_size=4,
                             add_contact=add_contact)
        finally:
            client.close()


def test_a_contact_whose_answer_was_lost_is_found_by_email(world: World) -> None:
    from app.sandbox.server import Fault
    from app.services.psa.autotask import AutotaskPsa
    from app.services.psa.port import NewContact, PsaUnavailable

    company = world.app.store.add_company("Contoso Contacts Ltd")
    world.server.chaos.inject(Fault("drop_after", method="POST", path="/Contacts$"))
    with world.client() as client:
        psa = AutotaskPsa(client, today=lambda: TODAY)
        with pytest.raises(PsaUnavailable) as lost:
            psa.create_contact(NewContact(company_id=str(company), first_name="Alice", last_name="Smith",
                                          email="alice@contoso.com"))
        assert lost.value.maybe_applied
        found = [c for c in psa.list_contacts(str(company)) if c.has_email("ALICE@contoso.com")]
        assert len(found) == 1 and found[0].first_name == "Alice"
