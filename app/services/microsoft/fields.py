"""Reading fields of Microsoft's JSON without KeyError or None leaks.

Every accessor names the path of a missing or mistyped field and the tenant
in a ``MalformedResponse``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from app.services.microsoft.errors import MalformedResponse

_MISSING = object()


class Reader:
    """Typed access to one JSON object at ``where`` (e.g. "subscribedSkus[2]")."""

    def __init__(self, obj: Any, where: str, tenant_id: str = "") -> None:
        if not isinstance(obj, dict):
            raise MalformedResponse(f"({where} is {type(obj).__name__}, not an object{_of(tenant_id)})",
                                    tenant_id=tenant_id)
        self.obj = obj
        self.where = where
        self.tenant_id = tenant_id

    def fail(self, key: str, problem: str) -> MalformedResponse:
        return MalformedResponse(f"({self.where}.{key} {problem}{_of(self.tenant_id)})", tenant_id=self.tenant_id)

    def _get(self, key: str, required: bool) -> Any:
        value = self.obj.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                raise self.fail(key, "is missing")
            return _MISSING
        return value

    def str(self, key: str, default: str | None = None) -> str:
        value = self._get(key, default is None)
        if value is _MISSING:
            return default  # type: ignore[return-value]
        if not isinstance(value, str):
            raise self.fail(key, f"is {type(value).__name__}, not text")
        return value

    def int(self, key: str, default: int | None = None) -> int:
        value = self._get(key, default is None)
        if value is _MISSING:
            return default  # type: ignore[return-value]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"is {type(value).__name__}, not a whole number")
        return value

    def bool(self, key: str, default: bool | None = None) -> bool:
        value = self._get(key, default is None)
        if value is _MISSING:
            return default  # type: ignore[return-value]
        if not isinstance(value, bool):
            raise self.fail(key, f"is {type(value).__name__}, not true/false")
        return value

    def list(self, key: str, required: bool = True) -> list[Any]:
        value = self._get(key, required)
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"is {type(value).__name__}, not a list")
        return value

    def obj_at(self, key: str, required: bool = True) -> Reader | None:
        value = self._get(key, required)
        if value is _MISSING:
            return None
        return Reader(value, f"{self.where}.{key}", self.tenant_id)

    def date(self, key: str) -> date | None:
        """An ISO-8601 date or date-time (UTC) as a date; absent -> None."""
        value = self._get(key, False)
        if value is _MISSING or value == "":
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"is {type(value).__name__}, not a date")
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        except ValueError:
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                raise self.fail(key, f"is {value!r}, not a date") from None


def items(obj: Any, key: str, where: str, tenant_id: str = "") -> list[Reader]:
    """The objects of a collection envelope (Graph ``value``, Partner Center ``items``)."""
    envelope = Reader(obj, where, tenant_id)
    return [Reader(item, f"{where}.{key}[{i}]", tenant_id) for i, item in enumerate(envelope.list(key))]


def _of(tenant_id: str) -> str:
    return f", tenant {tenant_id}" if tenant_id else ""
