"""The billing core's Operation as canonical JSON, for the journal and held operations.

The shape is the billing core's own (``app.billing.serialize``) plus a format
version; money is a decimal string read back as the same Decimal, dates are
ISO 8601. ``operation_from_json(operation_to_json(op)) == op``.
"""

from __future__ import annotations

import json
from typing import Any

from app.billing.operations import Operation
from app.billing.serialize import operation_from_data, to_data
from app.errors import SeatsyncError
from app.models.fields import dump_json

FORMAT_VERSION = 1


class UnreadableOperation(SeatsyncError):
    """A stored operation could not be read back; it was written by another version or damaged."""


def operation_to_dict(op: Operation) -> dict[str, Any]:
    return {"v": FORMAT_VERSION, **to_data(op)}


def operation_to_json(op: Operation) -> str:
    return dump_json(operation_to_dict(op), "operation")


def operation_from_dict(data: dict[str, Any]) -> Operation:
    if data.get("v") != FORMAT_VERSION:
        raise UnreadableOperation(f"(format version {data.get('v')!r}, expected {FORMAT_VERSION})")
    try:
        return operation_from_data(data)
    except (KeyError, TypeError, ValueError, ArithmeticError) as error:
        raise UnreadableOperation(f"({type(error).__name__}: {error})") from None


def operation_from_json(text: str) -> Operation:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnreadableOperation(f"(not JSON: {error})") from None
    if not isinstance(data, dict):
        raise UnreadableOperation("(not a JSON object)")
    return operation_from_dict(data)
