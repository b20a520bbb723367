"""Reading Microsoft's JSON without KeyError, TypeError or None leaks.

``json_body`` decodes an answer's body; every accessor of ``Reader`` names
the path of a missing or mistyped field and the tenant in a
``MalformedResponse``. Values from Microsoft appear in a message only
through ``shown`` (a short repr: control characters, bidirectional marks and
lone surrogates escaped) or ``said`` (Microsoft's own words, on one line,
escaped and clipped), so no message carries what could drive a terminal or
reorder a line.
"""

from __future__ import annotations

import builtins
import json
from datetime import date, datetime
from typing import Any

import requests

from app.services.http import describe_body
from app.services.microsoft.errors import MalformedResponse

_MISSING = object()
#: More seats than any tenant holds of one license (as the PSA side's bound, app/services/psa/limits.py).
MAX_SEATS = 10_000_000
#: How many characters of one value a message quotes.
SHOWN = 40


def shown(value: Any, limit: int = SHOWN) -> str:
    """A value from Microsoft as a message quotes it: its repr (which escapes what is not printable), clipped."""
    text = repr(value) if not isinstance(value, (dict, list)) else f"{type(value).__name__} of {len(value)}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def said(text: Any, limit: int = 300) -> str:
    """Microsoft's own words (an error's description) for a message: the first line, every character that
    is not printable escaped as ``\\uXXXX`` (control characters, bidirectional marks, lone surrogates),
    clipped to ``limit``."""
    lines = str(text).strip().splitlines()
    line = lines[0].strip() if lines else ""
    out = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}"
                  for c in line[: limit + 1])
    return out if len(out) <= limit else out[: limit - 1] + "…"


def json_body(response: requests.Response, what: str, tenant_id: str = "") -> Any:
    """The JSON of an answer, or ``MalformedResponse`` saying what ``what``'s body holds instead."""
    try:
        return json.loads(response.content)
    except RecursionError:
        kind = "JSON nested too deeply to read"
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        kind = describe_body(response.content, response.headers.get("Content-Type") or "")
    raise MalformedResponse(f"({what} answered {response.status_code} with {kind}{_of(tenant_id)})",
                            tenant_id=tenant_id)


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

    # Each reader below is named after the type it reads; in the signatures after it, that type is
    # builtins.<name>.
    def str(self, key: str, default: str | None = None) -> str:
        value = self._get(key, default is None)
        if value is _MISSING:
            return default  # type: ignore[return-value]
        if not isinstance(value, str):
            raise self.fail(key, f"is {type(value).__name__}, not text")
        return value

    def int(self, key: builtins.str, default: int | None = None) -> int:
        value = self._get(key, default is None)
        if value is _MISSING:
            return default  # type: ignore[return-value]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"is {type(value).__name__} {shown(value)}, not a whole number")
        return value

    def count(self, key: builtins.str, default: builtins.int | None = None) -> builtins.int:
        """A number of seats: a whole number from 0 to ``MAX_SEATS``."""
        value = self.int(key, default)
        if not 0 <= value <= MAX_SEATS:
            raise self.fail(key, f"is {shown(value)}, not a number of seats (0 to {MAX_SEATS:,})")
        return value

    def bool(self, key: builtins.str, default: bool | None = None) -> bool:
        value = self._get(key, default is None)
        if value is _MISSING:
            return default  # type: ignore[return-value]
        if not isinstance(value, bool):
            raise self.fail(key, f"is {type(value).__name__}, not true/false")
        return value

    def list(self, key: builtins.str, required: builtins.bool = True) -> list[Any]:
        value = self._get(key, required)
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"is {type(value).__name__}, not a list")
        return value

    def obj_at(self, key: builtins.str, required: builtins.bool = True) -> Reader | None:
        value = self._get(key, required)
        if value is _MISSING:
            return None
        return Reader(value, f"{self.where}.{key}", self.tenant_id)

    def date(self, key: builtins.str) -> date | None:
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
                raise self.fail(key, f"is {shown(value)}, not a date") from None


def items(obj: Any, key: str, where: str, tenant_id: str = "") -> list[Reader]:
    """The objects of a collection envelope (Graph ``value``, Partner Center ``items``)."""
    envelope = Reader(obj, where, tenant_id)
    return [Reader(item, f"{where}.{key}[{i}]", tenant_id) for i, item in enumerate(envelope.list(key))]


def _of(tenant_id: str) -> str:
    return f", tenant {tenant_id}" if tenant_id else ""
