"""Entries kept once per tenant or once for every tenant, each with a reason: exclusions (a license never
billed, by SKU id) and ignored accounts (a UPN pattern whose accounts' licenses are never billed).

An entry's row names its tenant (NULL: every tenant) and its name; two names are the same entry when their
``same`` forms are equal. Each change is checked against the version its editor read and audited
(versions.py): the configuration history names an entry ``<tenant id, or * for every tenant>|<name>``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from peewee import JOIN, Field, fn

from app.models.connections import Tenant
from app.models.database import BaseModel
from app.models.repositories._base import Repository
from app.models.repositories.customers import tenant_row
from app.models.repositories.versions import (
    check_version,
    conflict,
    delete_versioned,
    record_change,
    update_versioned,
)


class ScopedEntries(Repository):
    #: The entries' name in the configuration history, their table and the column of their name.
    KIND: ClassVar[str]
    MODEL: ClassVar[type[BaseModel]]
    NAME: ClassVar[str]
    #: How a person calls one entry: "<TITLE> <name> in <tenant>".
    TITLE: ClassVar[str]

    @staticmethod
    def same(name: str) -> str:
        """The form in which two names of one entry are equal (and the history names it)."""
        return name.lower()

    @classmethod
    def key(cls, name: str, tenant_id: str | None) -> str:
        """The entry's name in the configuration history."""
        return f"{tenant_id or '*'}|{cls.same(name)}"

    def _changed(self, tenant_id: str | None) -> None:
        """An entry of ``tenant_id`` (None: of every tenant) came or went."""

    def _put(self, name: str, tenant_id: str | None, reason: str, *, expected_version: int | None,
             actor: str) -> Any:
        """Keep the entry, or change its reason; ``EditConflict`` when someone saved it since
        ``expected_version`` (0: the editor saw no such entry). Its row."""
        model, kind, key = self.MODEL, self.KIND, self.key(name, tenant_id)
        tenant = None if tenant_id is None else tenant_row(tenant_id)
        what = lambda: self._what(name, tenant)  # noqa: E731
        with self.atomic():
            row = self._row(name, tenant_id)
            check_version(row, expected_version, kind=kind, key=key, what=what)
            now = self._now()
            if row is None:
                row = model.create(tenant=tenant, **{self.NAME: name}, reason=reason, created_at=now, version=1,
                                   updated_by=actor)
                record_change(kind=kind, key=key, action="created", before=None, after=self._doc(row),
                              actor=actor, at=now)
                self._changed(tenant_id)
            elif row.reason != reason:
                before = self._doc(row)
                if not update_versioned(model, row, {model.reason: reason}, actor=actor):
                    raise conflict(kind, key, what(), self._row(name, tenant_id))
                row.reason = reason
                record_change(kind=kind, key=key, action="changed", before=before, after=self._doc(row),
                              actor=actor, at=now)
        return row

    def remove(self, name: str, tenant_id: str | None = None, *, expected_version: int | None = None,
               actor: str = "") -> bool:
        """Remove the entry (False: there was none); ``EditConflict`` when someone saved it since
        ``expected_version``."""
        kind, key = self.KIND, self.key(name, tenant_id)
        with self.atomic():
            row = self._row(name, tenant_id)
            tenant = None if tenant_id is None else Tenant.get_or_none(Tenant.tenant_id == tenant_id)
            what = lambda: self._what(name, tenant)  # noqa: E731
            check_version(row, expected_version, kind=kind, key=key, what=what)
            if row is None:
                return False
            before = self._doc(row)
            if not delete_versioned(self.MODEL, row):
                raise conflict(kind, key, what(), self._row(name, tenant_id))
            record_change(kind=kind, key=key, action="removed", before=before, after=None, actor=actor,
                          at=self._now())
            self._changed(tenant_id)
        return True

    def versions(self) -> dict[tuple[str | None, str], int]:
        """Each entry's version, by (tenant id or None, its ``same`` name), for an editor of the list."""
        model = self.MODEL
        query = (model.select(self._name(), model.version, Tenant.tenant_id)
                 .join(Tenant, join_type=JOIN.LEFT_OUTER).tuples())
        return {(tenant_id, self.same(name)): version for name, version, tenant_id in query}

    def _rows(self) -> Any:
        """Every entry with its tenant, oldest first."""
        model = self.MODEL
        return model.select(model, Tenant).join(Tenant, join_type=JOIN.LEFT_OUTER).order_by(model.id)

    def _applying_to(self, tenant_id: str) -> Any:
        """The tenant's own entries and every tenant's, oldest first."""
        return self._rows().where(self.MODEL.tenant.is_null() | (Tenant.tenant_id == tenant_id))

    def _name(self) -> Field:
        return getattr(self.MODEL, self.NAME)

    def _row(self, name: str, tenant_id: str | None) -> Any:
        query = self.MODEL.select().where(fn.LOWER(self._name()) == self.same(name))
        if tenant_id is None:
            query = query.where(self.MODEL.tenant.is_null())
        else:
            query = query.join(Tenant).where(Tenant.tenant_id == tenant_id)
        return query.first()

    def _doc(self, row: Any) -> dict[str, Any]:
        tenant = _tenant(row)
        return {"tenant_id": tenant.tenant_id if tenant else None, "tenant": tenant.name if tenant else "",
                self.NAME: getattr(row, self.NAME), "reason": row.reason}

    def _what(self, name: str, tenant: Tenant | None) -> str:
        return f"{self.TITLE} {name} in {tenant.name if tenant else 'every tenant'}"


def _tenant(row: Any) -> Tenant | None:
    """The row's tenant (None: every tenant), as its query joined it."""
    return None if row.tenant_id is None else row.tenant


def entry_tenant_id(row: Any) -> str | None:
    """The tenant id an entry's row names (None: every tenant)."""
    tenant = _tenant(row)
    return None if tenant is None else tenant.tenant_id
