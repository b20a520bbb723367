"""The shared PSA contract (tests/contract/psa_contract.py), run against the
Autotask adapter on the Autotask sandbox over TLS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from tests.autotask.conftest import TODAY, World
from tests.contract.psa_contract import PsaContract, PsaEnv


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
