"""ConnectWise's error shape: {code, message, errors[{code, message, resource, field}]}.

APIS.md §B1 "Errors and rate limits": the field names are the vendor's
(schema ErrorResponseMessage / ValidationError); the code strings are the
ones seen in practice and client libraries, not a published list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class FieldError:
    code: str
    message: str
    resource: str
    field: str

    def body(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "resource": self.resource, "field": self.field}


@dataclass
class ApiError(Exception):
    """An error answer of the sandbox API, raised from anywhere in a request."""

    status: int
    code: str
    message: str
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors:
            out["errors"] = [e.body() for e in self.errors]
        return out


def invalid(resource: str, field_name: str, message: str, code: str = "InvalidField") -> ApiError:
    """A 400 for one bad field, as ConnectWise words a rejected object."""
    return ApiError(400, "InvalidObject", f"{resource} object is invalid",
                    [FieldError(code=code, message=message, resource=resource, field=field_name)])


def missing(resource: str, field_name: str) -> ApiError:
    return invalid(resource, field_name, f"{field_name} is required.", code="MissingRequiredField")


def not_found(resource: str, record_id: object) -> ApiError:
    return ApiError(404, "NotFound", f"{resource} with id {record_id} was not found.")


def patch_op(op: Any) -> tuple[str, Any]:
    """(path, value) of one JSON Patch operation ConnectWise takes (add, replace, remove: value None); a 400 for
    anything else."""
    if not isinstance(op, dict) or not isinstance(op.get("path"), str):
        raise ApiError(400, "InvalidObject", "Each patch operation needs an op and a path.")
    kind = str(op.get("op", "")).lower()
    path = op["path"].lstrip("/")
    if kind not in ("add", "replace", "remove"):
        raise ApiError(400, "InvalidObject", f"Unsupported patch op {op.get('op')!r}: use add, replace or remove.")
    if "value" not in op and kind != "remove":
        raise ApiError(400, "InvalidObject", f"Patch operation on {path} needs a value.")
    return path, None if kind == "remove" else op["value"]
