"""Exclusions: licenses never billed, in one tenant or in every tenant, by SKU id (compared without case);
each change is checked against the version its editor read and audited (scoped.py)."""

from __future__ import annotations

from app.billing import types as core
from app.models.billing import Exclusion
from app.models.repositories import summaries
from app.models.repositories.scoped import ScopedEntries, entry_tenant_id


class Exclusions(ScopedEntries):
    KIND = "exclusion"
    MODEL = Exclusion
    NAME = "sku_id"
    TITLE = "Exclusion of"

    def add(self, exclusion: core.Exclusion, *, expected_version: int | None = None,
            actor: str = "") -> core.Exclusion:
        """Exclude the license, or change the reason of its exclusion; ``EditConflict`` when someone saved
        it since ``expected_version`` (0: the editor saw no such exclusion)."""
        return _core(self._put(exclusion.sku_id, exclusion.tenant_id, exclusion.reason,
                               expected_version=expected_version, actor=actor))

    def all(self) -> list[core.Exclusion]:
        return [_core(row) for row in self._rows()]

    def for_tenant(self, tenant_id: str) -> list[core.Exclusion]:
        """The tenant's own exclusions and the global ones."""
        return [_core(row) for row in self._applying_to(tenant_id)]

    def _changed(self, tenant_id: str | None) -> None:
        """The Companies list's figures of the tenant's companies, or of every company for an exclusion in
        every tenant."""
        if tenant_id is None:
            summaries.refresh_all()
        else:
            summaries.refresh_tenants([tenant_id])


def _core(row: Exclusion) -> core.Exclusion:
    return core.Exclusion(sku_id=row.sku_id, tenant_id=entry_tenant_id(row), reason=row.reason)
