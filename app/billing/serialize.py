"""Plans and operations as JSON-ready dicts, and back (money as strings, dates ISO).

The journal stores operations this way, ``plan --json`` prints them, and an
operation read back is equal to the one written.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

from app.billing.operations import Basis, Finding, FindingKind, Operation, OpKind, Plan
from app.billing.types import BillingOption, RowKey


def to_data(value: Any) -> Any:
    """Dataclasses, enums, dates and Decimals as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    return value


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def operation_from_data(data: dict[str, Any]) -> Operation:
    basis = dict(data.get("basis") or {})
    for name in ("period_start", "period_end"):
        basis[name] = _date(basis.get(name))
    return Operation(
        key=data["key"], kind=OpKind(data["kind"]), row=RowKey(**data["row"]), agreement_id=data["agreement_id"],
        product_id=data["product_id"], marker=data["marker"], effective=date.fromisoformat(data["effective"]),
        line_id=data.get("line_id", ""), end=_date(data.get("end")), quantity=int(data["quantity"]),
        before=int(data["before"]), unit_price=Decimal(data["unit_price"]), amount=Decimal(data["amount"]),
        description=data.get("description", ""), billing_option=BillingOption(data["billing_option"]),
        basis=Basis(**basis))


def plan_to_data(plan: Plan) -> dict[str, Any]:
    return {"operations": to_data(plan.operations), "findings": to_data(plan.findings)}


def plan_from_data(data: dict[str, Any]) -> Plan:
    return Plan(operations=tuple(operation_from_data(op) for op in data["operations"]),
                findings=tuple(Finding(**{**f, "kind": FindingKind(f["kind"])}) for f in data["findings"]))
