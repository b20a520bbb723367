"""The exclusions of many tenants, looked up by tenant without going through them all.

``Exclusion.covers`` answers for one exclusion; a read over every tenant (the
reconciliation report, a mapping rule's preview) asks for thousands of tenants
and would otherwise test every exclusion for each.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.billing.types import Exclusion


class Exclusions:
    def __init__(self, exclusions: Iterable[Exclusion]) -> None:
        self._everywhere: list[Exclusion] = []
        self._of: dict[str, list[Exclusion]] = {}
        for exclusion in exclusions:
            if exclusion.tenant_id is None:
                self._everywhere.append(exclusion)
            else:
                self._of.setdefault(exclusion.tenant_id, []).append(exclusion)
        self._skus = {e.sku_id.lower() for e in self._everywhere}
        self._tenant_skus = {(tenant, e.sku_id.lower()) for tenant, found in self._of.items() for e in found}

    def applying_to(self, tenant_id: str) -> list[Exclusion]:
        """The exclusions of everywhere, then the tenant's own."""
        return [*self._everywhere, *self._of.get(tenant_id, ())]

    def covers(self, tenant_id: str, sku_id: str) -> bool:
        """Whether one of them covers the tenant's license (``Exclusion.covers``)."""
        sku = sku_id.lower()
        return sku in self._skus or (tenant_id, sku) in self._tenant_skus
