"""The audit log: one entry per write to a PSA, queried for the history view and reports.

Entries are only ever added. They hold identifiers as text and never a
secret: the reason is the plan's explanation, not a request or response.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from app.billing.money import to_money
from app.models.records import AuditRecord
from app.models.repositories._base import Repository
from app.models.sync import AuditEntry


def _record(row: AuditEntry) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        at=row.at,
        actor=row.actor,
        tenant_id=row.tenant_id,
        company_id=row.company_id,
        company_name=row.company_name,
        agreement_id=row.agreement_id,
        product_id=row.product_id,
        action=row.action,
        before_quantity=row.before_quantity,
        after_quantity=row.after_quantity,
        before_amount=row.before_amount,
        after_amount=row.after_amount,
        reason=row.reason,
        psa_record_id=row.psa_record_id,
        op_key=row.op_key,
        connection_id=row.connection_id,
    )


def _money(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else to_money(value)


class AuditLog(Repository):
    def record(
        self,
        *,
        actor: str,
        at: datetime | None = None,
        tenant_id: str = "",
        company_id: str = "",
        company_name: str = "",
        agreement_id: str = "",
        product_id: str = "",
        action: str = "",
        before_quantity: int | None = None,
        after_quantity: int | None = None,
        before_amount: Decimal | int | str | None = None,
        after_amount: Decimal | int | str | None = None,
        reason: str = "",
        psa_record_id: str = "",
        op_key: str = "",
        connection_id: int | None = None,
    ) -> AuditRecord:
        if not actor.strip():
            raise ValueError("an audit entry needs its actor (who or what made the change)")
        row = AuditEntry.create(
            at=at or self._now(),
            actor=actor.strip(),
            tenant_id=tenant_id,
            company_id=str(company_id),
            company_name=company_name,
            agreement_id=str(agreement_id),
            product_id=str(product_id),
            action=action,
            before_quantity=before_quantity,
            after_quantity=after_quantity,
            before_amount=_money(before_amount),
            after_amount=_money(after_amount),
            reason=reason,
            psa_record_id=str(psa_record_id),
            op_key=op_key,
            connection_id=connection_id,
        )
        return _record(AuditEntry.get_by_id(row.id))

    def query(
        self,
        *,
        connection: int | None = None,
        company: str | None = None,
        agreement: str | None = None,
        product: str | None = None,
        tenant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        """Entries matching every filter given, in [since, until), oldest first.

        ``company``, ``agreement`` and ``product`` are PSA ids, of the PSA ``connection`` when given (an
        entry whose connection is not known matches any); ``tenant`` a tenant GUID.
        """
        query = AuditEntry.select()
        if connection is not None:
            query = query.where((AuditEntry.connection_id == connection) | AuditEntry.connection_id.is_null())
        if company is not None:
            query = query.where(AuditEntry.company_id == str(company))
        if agreement is not None:
            query = query.where(AuditEntry.agreement_id == str(agreement))
        if product is not None:
            query = query.where(AuditEntry.product_id == str(product))
        if tenant is not None:
            query = query.where(AuditEntry.tenant_id == tenant)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if until is not None:
            query = query.where(AuditEntry.at < until)
        query = query.order_by(AuditEntry.at, AuditEntry.id)
        if limit is not None:
            query = query.limit(limit)
        return [_record(row) for row in query]
