"""What people decided about the lines other tools wrote (app/billing/foreign.py), per PSA connection.

A decision is keyed by the PSA connection and the PSA's line id; deciding
again replaces it, and forgetting it makes the line undecided again (its
rows are held). Every change is a configuration change in History.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.billing.foreign import ForeignAction, ForeignDecision
from app.models.billing import ForeignLineDecision
from app.models.repositories._base import Repository
from app.models.repositories.versions import record_change

KIND = "foreign_line"


@dataclass(frozen=True, kw_only=True)
class ForeignLineRecord:
    """A decision with the line as the person saw it when deciding."""

    connection_id: int
    agreement_id: str
    product_id: str
    reference: str  # what the line carried in seatsync's marker field (another tool's text, or "")
    quantity: int
    decision: ForeignDecision
    decided_by: str = ""
    decided_at: datetime | None = None

    @property
    def line_id(self) -> str:
        return self.decision.line_id


def _record(row: ForeignLineDecision) -> ForeignLineRecord:
    return ForeignLineRecord(
        connection_id=row.connection_id, agreement_id=row.agreement_psa_id, product_id=row.product_psa_id,
        reference=row.reference, quantity=row.quantity, decided_by=row.decided_by, decided_at=row.decided_at,
        decision=ForeignDecision(line_id=row.line_psa_id, action=ForeignAction(row.action),
                                 decided_on=row.decided_on, last_day=row.last_day))


def _doc(record: ForeignLineRecord) -> dict[str, Any]:
    d = record.decision
    return {"agreement": record.agreement_id, "product": record.product_id, "reference": record.reference,
            "quantity": record.quantity, "action": d.action.value, "decided_on": d.decided_on.isoformat(),
            "last_day": d.last_day.isoformat() if d.last_day else None}


def _key(connection_id: int, line_id: str) -> str:
    return f"{connection_id}:{line_id}"


class ForeignDecisions(Repository):
    def of_connection(self, connection_id: int) -> dict[str, ForeignDecision]:
        """The connection's decisions by line id: what its syncs give the planner."""
        query = ForeignLineDecision.select().where(ForeignLineDecision.connection == connection_id)
        return {row.line_psa_id: _record(row).decision for row in query}

    def all(self, connection_id: int | None = None) -> list[ForeignLineRecord]:
        query = ForeignLineDecision.select().order_by(ForeignLineDecision.connection, ForeignLineDecision.id)
        if connection_id is not None:
            query = query.where(ForeignLineDecision.connection == connection_id)
        return [_record(row) for row in query]

    def decide(self, records: Iterable[ForeignLineRecord], *, actor: str = "") -> int:
        """Store each decision (replacing the line's earlier one), in one transaction; how many changed."""
        changed = 0
        with self.atomic():
            for record in records:
                d = record.decision
                row = ForeignLineDecision.get_or_none((ForeignLineDecision.connection == record.connection_id)
                                                      & (ForeignLineDecision.line_psa_id == d.line_id))
                before = None if row is None else _doc(_record(row))
                if before == _doc(record):
                    continue
                now = self._now()
                values = {"connection": record.connection_id, "line_psa_id": d.line_id,
                          "agreement_psa_id": record.agreement_id, "product_psa_id": record.product_id,
                          "reference": record.reference, "quantity": record.quantity, "action": d.action.value,
                          "decided_on": d.decided_on, "last_day": d.last_day, "decided_by": actor,
                          "decided_at": now}
                if row is None:
                    ForeignLineDecision.create(**values)
                else:
                    ForeignLineDecision.update(values).where(ForeignLineDecision.id == row.id).execute()
                record_change(kind=KIND, key=_key(record.connection_id, d.line_id),
                              action="created" if row is None else "changed", before=before, after=_doc(record),
                              actor=actor, at=now)
                changed += 1
        return changed

    def forget(self, connection_id: int, line_ids: Iterable[str], *, actor: str = "") -> int:
        """Make these lines undecided again (their rows are held until decided anew); how many were decided."""
        forgotten = 0
        with self.atomic():
            for line_id in line_ids:
                row = ForeignLineDecision.get_or_none((ForeignLineDecision.connection == connection_id)
                                                      & (ForeignLineDecision.line_psa_id == line_id))
                if row is None:
                    continue
                record_change(kind=KIND, key=_key(connection_id, line_id), action="removed",
                              before=_doc(_record(row)), after=None, actor=actor, at=self._now())
                row.delete_instance()
                forgotten += 1
        return forgotten
