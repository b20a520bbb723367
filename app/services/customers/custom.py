"""Custom licenses: rows of a tenant's own, counted by a rule (app/billing/custom.py; docs/billing.md, "Custom
licenses").

Adding one, or changing its name or rule, counts it first, with the
tenant's other custom licenses, in a full read of the tenant (which also
keeps the tenant's snapshot, so the row shows in the license table at once
with its count). A rule that cannot be counted, or a read that fails,
stores nothing and says why. A change keeps the row, so its mapping bills
the new count from the next sync. A custom license a mapping or a sum still
names cannot be removed: removing it would cancel its line, so the mapping
goes first, on purpose.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from app.billing.custom import CUSTOM_PREFIX, CountRule, CustomLicense
from app.errors import SeatsyncError
from app.services.providers import MicrosoftProvider
from app.services.sync.inventory import InventoryRefused
from app.services.uow import UnitOfWork, connected


class CustomRefused(SeatsyncError):
    """This custom license cannot be added, changed or removed."""


@dataclass(frozen=True, kw_only=True)
class CustomAdded:
    custom: CustomLicense
    seats: int  # its count now
    mapped: bool = False  # a mapping bills it (a changed one's)


@dataclass(frozen=True, kw_only=True)
class CustomEdit:
    custom: CustomLicense
    version: int
    group_name: str = ""  # the group a "members of a group" row counts, as it was named when chosen


class CustomLicenseService:
    def __init__(self, uow: UnitOfWork, microsoft: MicrosoftProvider) -> None:
        self.uow = uow
        self.microsoft = microsoft

    def of_tenant(self, tenant_id: str) -> list[CustomLicense]:
        with connected():
            return self.uow.custom_licenses.of_tenants([tenant_id]).get(tenant_id, [])

    def groups(self, tenant_id: str) -> list[tuple[str, str]]:
        """The tenant's groups, (id, name) sorted by name, to choose the one a row counts (reads Graph)."""
        reads = self.microsoft.custom_reads(self.microsoft.tenant_partner(tenant_id))
        return sorted(reads.groups(tenant_id), key=lambda group: group[1].casefold())

    def add(self, tenant_id: str, *, name: str, rule: CountRule, param: str = "",
            terms: Sequence[tuple[int, str]] = (), group_name: str = "", actor: str = "") -> CustomAdded:
        """Count the new custom license in a read of the tenant, then keep it; ``CustomRefused`` when it cannot
        be counted (nothing is kept)."""
        custom = _custom(uuid.uuid4().hex, tenant_id, name, rule, param, terms)
        seats = self._counted(custom, "was not added")
        with connected():
            self.uow.custom_licenses.add(custom, group_name=group_name.strip(), actor=actor)
        return CustomAdded(custom=custom, seats=seats)

    def editing(self, custom_id: str) -> CustomEdit:
        """A custom license as its editor opens it, with the version ``change`` names."""
        with connected():
            found = self.uow.custom_licenses.find(custom_id)
            if found is None:
                raise CustomRefused(f"(custom license {custom_id} was removed)")
            return CustomEdit(custom=found, version=self.uow.custom_licenses.version(custom_id),
                              group_name=self.uow.custom_licenses.group_names(found.tenant_id).get(custom_id, ""))

    def change(self, custom_id: str, *, name: str, rule: CountRule, param: str = "",
               terms: Sequence[tuple[int, str]] = (), group_name: str = "", expected_version: int | None = None,
               actor: str = "") -> CustomAdded:
        """Give a custom license another name or rule, counted first as ``add`` counts a new one. It keeps its
        row, so its mapping bills the new count from the next sync as any change of seats (no line cancelled or
        made again). ``EditConflict`` when someone changed it since ``expected_version``."""
        with connected():
            found = self.uow.custom_licenses.find(custom_id)
            if found is not None:  # refused before the tenant is read, when someone saved it since
                self.uow.custom_licenses.current(custom_id, expected_version)
        if found is None:
            raise CustomRefused(f"(custom license {custom_id} was removed)")
        custom = _custom(custom_id, found.tenant_id, name, rule, param, terms)
        seats = self._counted(custom, "was not changed")
        with connected():
            self.uow.custom_licenses.change(custom, group_name=group_name.strip(), expected_version=expected_version,
                                            actor=actor)
            mapped = any(m.sku_id.lower() == custom.sku_id for m in self.uow.mappings.for_tenant(custom.tenant_id))
        return CustomAdded(custom=custom, seats=seats, mapped=mapped)

    def _counted(self, custom: CustomLicense, not_done: str) -> int:
        """Its count now, in a read of its tenant with the tenant's other custom licenses (which keeps the
        tenant's snapshot); ``CustomRefused`` when it cannot be counted. A sum counts the tenant's licenses and
        the custom licenses added before it."""
        with connected():
            existing = self.uow.custom_licenses.of_tenants([custom.tenant_id]).get(custom.tenant_id, [])
            tenant = self.uow.tenants.find(custom.tenant_id)
            snapshot = self.uow.inventory.latest(custom.tenant_id)
        if tenant is None:
            raise CustomRefused(f"(no tenant {custom.tenant_id})")
        clash = next((c for c in existing if c.name.casefold() == custom.name.casefold() and c.id != custom.id), None)
        if clash is not None:
            raise CustomRefused(f"({tenant.name} already has a custom license named {clash.name!r})")
        position = next((n for n, c in enumerate(existing) if c.id == custom.id), len(existing))
        known = {c.sku_id for c in existing[:position]}
        if snapshot is not None:
            known |= {lic.sku_id.lower() for lic in snapshot.licenses if not lic.sku_id.startswith(CUSTOM_PREFIX)}
        missing = [sku for _, sku in custom.terms if sku.lower() not in known]
        if missing:
            names = {c.sku_id: c.name for c in existing}
            raise CustomRefused(f"({tenant.name} has no license {', '.join(names.get(s, s) for s in missing)} to "
                                "count before this one)")
        customs = [*existing[:position], custom, *existing[position + 1:]]
        try:
            inventory = self.microsoft.inventory_service(tenant.partner_id).fetch(custom.tenant_id, name=tenant.name,
                                                                                  custom=customs)
        except InventoryRefused as error:
            raise CustomRefused(f"({custom.name} {not_done}: {error.detail or error})") from error
        counted = inventory.license(custom.sku_id)
        return counted.assigned if counted else 0

    def remove(self, custom_id: str, *, actor: str = "") -> bool:
        """Remove it (False: there was none); ``CustomRefused`` while a mapping or a sum names it."""
        with connected():
            found = self.uow.custom_licenses.find(custom_id)
            if found is None:
                return False
            if any(m.sku_id.lower() == found.sku_id for m in self.uow.mappings.for_tenant(found.tenant_id)):
                raise CustomRefused(f"({found.name} is mapped: remove its mapping first, which cancels its line "
                                    "at the next sync)")
            summing = [c.name for c in self.uow.custom_licenses.of_tenants([found.tenant_id])[found.tenant_id]
                       if any(sku.lower() == found.sku_id for _, sku in c.terms)]
            if summing:
                raise CustomRefused(f"({found.name} is counted by {', '.join(summing)}: remove that first)")
            return self.uow.custom_licenses.remove(custom_id, actor=actor)


def _custom(custom_id: str, tenant_id: str, name: str, rule: CountRule, param: str,
            terms: Sequence[tuple[int, str]]) -> CustomLicense:
    try:
        return CustomLicense(id=custom_id, tenant_id=tenant_id, name=name.strip(), rule=rule, param=param.strip(),
                             terms=tuple(terms))
    except ValueError as error:
        raise CustomRefused(f"({error})") from error
