"""A seeded HaloPSA instance for the demo and the benchmark.

``seed(halo, companies)`` adds an item catalogue of Microsoft 365 products
and, for each company (a name and its domains, or just a count), a client
with a monthly "Microsoft 365" contract; every 10th client also has an
annual contract, every 5th contract does not prorate, every 20th client has
an expired contract too. The same input gives the same instance.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from app.billing.types import Cycle
from app.sandbox.halopsa.app import HaloSandbox

#: (item name, monthly price, cost): NCE monthly-term list prices, rounded.
CATALOGUE: tuple[tuple[str, str, str], ...] = (
    ("Microsoft 365 Business Basic", "7.20", "6.00"),
    ("Microsoft 365 Business Standard", "15.00", "12.50"),
    ("Microsoft 365 Business Premium", "26.40", "22.00"),
    ("Office 365 E3", "27.60", "23.00"),
    ("Microsoft 365 E3", "43.20", "36.00"),
    ("Microsoft 365 E5", "68.40", "57.00"),
    ("Exchange Online (Plan 1)", "4.80", "4.00"),
    ("Microsoft Teams Phone Standard", "12.00", "10.00"),
    ("Power BI Pro", "16.80", "14.00"),
    ("Microsoft 365 Apps for business", "9.90", "8.25"),
)


@dataclass(frozen=True)
class HaloSeed:
    items: dict[str, int] = field(default_factory=dict)  # item name -> id
    clients: dict[str, int] = field(default_factory=dict)  # client name -> id
    contracts: dict[int, int] = field(default_factory=dict)  # client id -> its monthly M365 contract


def seed(halo: HaloSandbox, companies: Iterable[tuple[str, Sequence[str]]] | int, *, rng_seed: int = 0,
         start: date = date(2024, 1, 1)) -> HaloSeed:
    """Seed ``halo``; ``companies`` is (name, domains) pairs or a number to invent."""
    rng = random.Random(rng_seed)
    if isinstance(companies, int):
        companies = [(f"Customer {i:04}", (f"customer{i:04}.example",)) for i in range(1, companies + 1)]
    result = HaloSeed()
    for name, price, cost in CATALOGUE:
        result.items[name] = halo.add_item(name, price=Decimal(price), cost=Decimal(cost))
    halo.add_item("Office 365 E1 (retired)", price=Decimal("9.60"), inactive=True)
    for i, (name, domains) in enumerate(companies, start=1):
        client = halo.add_client(name, domains=domains, ref=f"C{i:05}")
        result.clients[name] = client
        anchor = start.replace(day=rng.choice((1, 1, 1, 15)))
        result.contracts[client] = halo.add_contract(client, ref="Microsoft 365", start=anchor,
                                                     prorates=i % 5 != 0)
        if i % 10 == 0:
            halo.add_contract(client, ref="Microsoft 365 (annual)", start=anchor, cycle=Cycle.ANNUAL)
        if i % 20 == 0:
            halo.add_contract(client, ref="Managed services (ended)", start=date(2021, 1, 1),
                              end=date(2023, 12, 31), active=False)
    return result
