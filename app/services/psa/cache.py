"""Copy a PSA's companies, agreements and catalog into the local cache.

The window lists and maps from the cache (fast, offline); a sync reads the
PSA itself. Refreshed after a successful connection test and on Refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.bootstrap import Context


@dataclass(frozen=True)
class CacheCounts:
    companies: int
    agreements: int
    products: int


def refresh_psa_cache(context: Context, connection_id: int) -> CacheCounts:
    psa = context.psa(connection_id)
    companies = psa.list_companies()
    agreements = psa.list_agreements()
    products = psa.list_products()
    context.companies.replace(connection_id, companies)
    context.catalog.replace_agreements(connection_id, agreements)
    context.catalog.replace_products(connection_id, products)
    return CacheCounts(len(companies), len(agreements), len(products))
