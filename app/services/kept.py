"""What seatsync keeps of each PSA connection (its agreements, products and companies), read once per use.

A service that names many agreements, products or companies (the
reconciliation report, the lines an exclusion would cancel) asks a ``Kept``
instead of the repositories: each connection's records are read at the first
question, in one query a kind, rather than one query an agreement.
"""

from __future__ import annotations

from app.billing.types import Agreement, Product
from app.models.records import CompanyRecord
from app.services.uow import UnitOfWork


class Kept:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self._agreements: dict[int, dict[str, Agreement]] = {}
        self._products: dict[int, dict[str, Product]] = {}
        self._companies: dict[int, dict[str, CompanyRecord]] = {}

    def agreement(self, connection_id: int, psa_id: str) -> Agreement | None:
        if connection_id not in self._agreements:
            self._agreements[connection_id] = {a.id: a for a in self.uow.catalog.agreements(connection_id)}
        return self._agreements[connection_id].get(psa_id)

    def product(self, connection_id: int, psa_id: str) -> Product | None:
        if connection_id not in self._products:
            self._products[connection_id] = {p.id: p for p in self.uow.catalog.products(connection_id)}
        return self._products[connection_id].get(psa_id)

    def company(self, connection_id: int, psa_id: str) -> CompanyRecord | None:
        if connection_id not in self._companies:
            self._companies[connection_id] = {c.psa_id: c for c in self.uow.companies.all(connection_id)}
        return self._companies[connection_id].get(str(psa_id))
