"""Seeding the ConnectWise sandbox for tests, the demo and the benchmark.

``seed`` (``CwStore.scenario``) adds the catalog's products (once each),
then per company: the company, a billing contact and one monthly
"Microsoft 365" agreement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.sandbox.connectwise.store import CwStore

DEFAULT_PRODUCTS = (
    ("M365-BP", "Microsoft 365 Business Premium", "22.00", "18.70"),
    ("M365-BS", "Microsoft 365 Business Standard", "12.50", "10.63"),
    ("M365-E3", "Microsoft 365 E3", "36.00", "30.60"),
    ("EXO-P1", "Exchange Online (Plan 1)", "4.00", "3.40"),
)


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """Ids of what ``seed`` created, by company name and product identifier."""

    companies: dict[str, int]
    contacts: dict[str, int]
    agreements: dict[str, int]
    products: dict[str, int]


def seed(store: CwStore, companies: Iterable[tuple[str, Iterable[str]]] = (), *,
         products: Iterable[tuple[str, str, str, str]] = DEFAULT_PRODUCTS,
         start: date = date(2024, 1, 1), prorate: bool = True) -> Scenario:
    """Products, then per company (name, domains): a contact and one monthly "Microsoft 365" agreement."""
    with store.lock:
        product_ids = {}
        for identifier, description, price, cost in products:
            existing = next((p["id"] for p in store.catalog.values() if p["identifier"] == identifier), None)
            product_ids[identifier] = existing or store.add_product(
                identifier, description=description, price=price, cost=cost)
        company_ids, contact_ids, agreement_ids = {}, {}, {}
        for name, domains in companies:
            cid = store.add_company(name, domains=domains)
            company_ids[name] = cid
            contact_ids[name] = store.add_contact(cid)
            agreement_ids[name] = store.add_agreement(cid, start=start, prorate=prorate,
                                                      contact_id=contact_ids[name])
        return Scenario(companies=company_ids, contacts=contact_ids, agreements=agreement_ids,
                        products=product_ids)
