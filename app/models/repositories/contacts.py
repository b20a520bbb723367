"""The contact sync's settings, matches and journal (app/models/contacts.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.models.connections import Company
from app.models.contacts import ContactMatch, ContactSyncSetting, ContactWrite
from app.models.records import RecordNotFound
from app.models.repositories._base import Repository

UNSETTLED = ("pending", "unknown")


@dataclass(frozen=True, kw_only=True)
class ContactSyncRecord:
    """A company's contact sync settings (the defaults when it has none yet)."""

    company_id: int
    enabled: bool = False
    licensed_only: bool = False
    exclude_shared: bool = False
    domains: tuple[str, ...] = ()
    previewed_at: datetime | None = None
    last_run_at: datetime | None = None
    last_result: str = ""
    updated_by: str = ""


@dataclass(frozen=True, kw_only=True)
class MatchRecord:
    tenant_id: str
    user_id: str
    contact_id: str


@dataclass(frozen=True, kw_only=True)
class ContactWriteRecord:
    op_key: str
    company_id: int
    kind: str
    state: str
    tenant_id: str = ""
    user_id: str = ""
    contact_id: str = ""
    email: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    actor: str = ""
    attempts: int = 0
    error: str = ""
    updated_at: datetime | None = None


def _settings(row: ContactSyncSetting) -> ContactSyncRecord:
    return ContactSyncRecord(company_id=row.company_id, enabled=row.enabled, licensed_only=row.licensed_only,
                             exclude_shared=row.exclude_shared, domains=tuple(row.domains),
                             previewed_at=row.previewed_at, last_run_at=row.last_run_at, last_result=row.last_result,
                             updated_by=row.updated_by)


def _write(row: ContactWrite) -> ContactWriteRecord:
    return ContactWriteRecord(op_key=row.op_key, company_id=row.company_id, kind=row.kind, state=row.state,
                              tenant_id=row.tenant_id, user_id=row.user_id, contact_id=row.contact_id,
                              email=row.email, fields=dict(row.fields), actor=row.actor, attempts=row.attempts,
                              error=row.error, updated_at=row.updated_at)


class ContactSync(Repository):
    def settings(self, company_id: int) -> ContactSyncRecord:
        row = ContactSyncSetting.get_or_none(ContactSyncSetting.company == company_id)
        return ContactSyncRecord(company_id=company_id) if row is None else _settings(row)

    def enabled_companies(self) -> list[int]:
        """The companies whose contacts are synced, in id order."""
        query = (ContactSyncSetting.select(ContactSyncSetting.company).where(ContactSyncSetting.enabled)
                 .order_by(ContactSyncSetting.company))
        return [company_id for (company_id,) in query.tuples()]

    def save(self, company_id: int, *, enabled: bool, licensed_only: bool, exclude_shared: bool,
             domains: tuple[str, ...], actor: str) -> ContactSyncRecord:
        return self._upsert(company_id, enabled=enabled, licensed_only=licensed_only, exclude_shared=exclude_shared,
                            domains=list(domains), updated_by=actor)

    def previewed(self, company_id: int, at: datetime) -> None:
        self._upsert(company_id, previewed_at=at)

    def finished(self, company_id: int, at: datetime, result: str) -> None:
        """How the company's last contact sync went, in words."""
        self._upsert(company_id, last_run_at=at, last_result=result)

    def _upsert(self, company_id: int, **values: Any) -> ContactSyncRecord:
        if Company.get_or_none(Company.id == company_id) is None:
            raise RecordNotFound(f"(PSA company {company_id})")
        with self.atomic():
            now = self._now()
            row = ContactSyncSetting.get_or_none(ContactSyncSetting.company == company_id)
            if row is None:
                row = ContactSyncSetting(company=company_id)
            for name, value in {**values, "updated_at": now}.items():
                setattr(row, name, value)
            row.save()
        return _settings(row)

    # -- matches -------------------------------------------------------------------------------------------

    def matches(self, company_id: int) -> list[MatchRecord]:
        query = ContactMatch.select().where(ContactMatch.company == company_id).order_by(ContactMatch.id)
        return [MatchRecord(tenant_id=r.tenant_id, user_id=r.user_id, contact_id=r.contact_id) for r in query]

    def match(self, company_id: int, tenant_id: str, user_id: str, contact_id: str) -> None:
        """Remember that ``user_id`` is the person of ``contact_id`` (replacing what was remembered)."""
        with self.atomic():
            row = ContactMatch.get_or_none((ContactMatch.company == company_id) & (ContactMatch.user_id == user_id))
            if row is not None and (row.tenant_id, row.contact_id) == (tenant_id, contact_id):
                return
            if row is None:
                row = ContactMatch(company=company_id, user_id=user_id)
            row.tenant_id, row.contact_id, row.matched_at = tenant_id, contact_id, self._now()
            row.save()

    # -- the journal ---------------------------------------------------------------------------------------

    def started(self, record: ContactWriteRecord) -> None:
        """Journal a write as pending before its request (a retry of the same key counts one more attempt)."""
        with self.atomic():
            now = self._now()
            row = ContactWrite.get_or_none(ContactWrite.op_key == record.op_key)
            if row is None:
                row = ContactWrite(op_key=record.op_key, created_at=now, attempts=0)
            row.company_id = record.company_id
            row.kind, row.state, row.tenant_id, row.user_id = record.kind, "pending", record.tenant_id, record.user_id
            row.contact_id, row.email, row.fields, row.actor = (record.contact_id, record.email, dict(record.fields),
                                                                record.actor)
            row.attempts, row.error, row.updated_at = row.attempts + 1, "", now
            row.save()

    def settle(self, op_key: str, state: str, *, contact_id: str = "", error: str = "") -> None:
        values: dict[Any, Any] = {ContactWrite.state: state, ContactWrite.error: error,
                                  ContactWrite.updated_at: self._now()}
        if contact_id:
            values[ContactWrite.contact_id] = contact_id
        ContactWrite.update(values).where(ContactWrite.op_key == op_key).execute()

    def unsettled(self, company_id: int) -> list[ContactWriteRecord]:
        """The company's writes whose outcome is not known (pending or unknown), oldest first."""
        query = (ContactWrite.select().where((ContactWrite.company == company_id)
                                             & ContactWrite.state.in_(UNSETTLED)).order_by(ContactWrite.id))
        return [_write(row) for row in query]

    def writes(self, company_id: int) -> list[ContactWriteRecord]:
        """Every write of the company, newest first."""
        query = (ContactWrite.select().where(ContactWrite.company == company_id)
                 .order_by(ContactWrite.updated_at.desc(), ContactWrite.id.desc()))
        return [_write(row) for row in query]
