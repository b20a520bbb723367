"""The slice of OData query options the Graph sandbox understands (APIS.md §A1).

``$select`` (a comma list), ``$top``, a ``$filter`` of the forms seatsync and
common tools use — ``assignedLicenses/any(x:x/skuId eq <guid>)``,
``<prop> eq 'text'``, ``<prop> eq true``, ``startswith(<prop>,'text')``, joined
by ``and``/``or`` — and an opaque, signed ``$skiptoken`` cursor. Anything else
is refused with Graph's ``Request_UnsupportedQuery``, as Graph does for
queries it cannot run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]


class QueryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_select(value: str | None, known: set[str]) -> list[str] | None:
    if value is None:
        return None
    fields = [f.strip() for f in value.split(",") if f.strip()]
    for f in fields:
        if f not in known:
            raise QueryError("Request_BadRequest", f"Could not find a property named '{f}' on type "
                                                   "'microsoft.graph.user'.")
    return fields


def parse_top(value: str | None, default: int, maximum: int = 999) -> int:
    if value is None:
        return default
    if not value.strip().lstrip("-").isdigit():
        raise QueryError("Request_BadRequest", f"Invalid page size specified: '{value}'.")
    top = int(value)
    if not 1 <= top <= maximum:
        raise QueryError("Request_UnsupportedQuery",
                         f"Invalid page size specified: '{value}'. Must be between 1 and {maximum} inclusive.")
    return top


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12})|(?P<punct>[(),:])|(?P<word>[A-Za-z_][A-Za-z0-9_/]*))")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise QueryError("Request_UnsupportedQuery", f"Invalid filter clause near '{text[pos:pos + 20]}'.")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def parse_filter(text: str | None, string_fields: set[str], bool_fields: set[str]) -> Predicate | None:
    """A predicate over a user's JSON (with assignedLicenses), or None without a filter."""
    if text is None or not text.strip():
        return None
    tokens = _tokens(text)
    pos = 0

    def peek(value: str | None = None) -> bool:
        return pos < len(tokens) and (value is None or tokens[pos][1].lower() == value)

    def take(value: str | None = None) -> str:
        nonlocal pos
        if not peek(value):
            raise QueryError("Request_UnsupportedQuery", "Invalid filter clause.")
        pos += 1
        return tokens[pos - 1][1]

    def literal(field: str) -> Any:
        kind, raw = tokens[pos] if pos < len(tokens) else ("", "")
        take()
        if field in bool_fields and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        if field in string_fields and kind == "str":
            return raw[1:-1].replace("''", "'")
        raise QueryError("Request_UnsupportedQuery", f"Unsupported literal {raw!r} for '{field}'.")

    def atom() -> Predicate:
        if peek("("):
            take("(")
            inner = expr()
            take(")")
            return inner
        word = take()
        if word.lower() == "startswith":
            take("(")
            field = take()
            take(",")
            if field not in string_fields:
                raise QueryError("Request_UnsupportedQuery", f"Unsupported property '{field}' in startswith.")
            prefix = str(literal(field)).lower()
            take(")")
            return lambda u: str(u.get(field) or "").lower().startswith(prefix)
        if word == "assignedLicenses/any":
            take("(")
            var = take()
            take(":")
            if take().lower() != f"{var.lower()}/skuid":
                raise QueryError("Request_UnsupportedQuery", "Only x/skuId can be tested inside any().")
            take("eq")
            guid = tokens[pos][1].lower() if pos < len(tokens) and tokens[pos][0] == "guid" else None
            if guid is None:
                raise QueryError("Request_UnsupportedQuery", "assignedLicenses/any needs an unquoted GUID.")
            take()
            take(")")
            return lambda u: any(a["skuId"] == guid for a in u.get("assignedLicenses", ()))
        if word not in string_fields | bool_fields:
            raise QueryError("Request_UnsupportedQuery", f"Unsupported or invalid query filter clause '{word}'.")
        op = take().lower()
        if op != "eq":  # ne, not, endsWith ... need ConsistencyLevel: eventual (advanced queries)
            raise QueryError("Request_UnsupportedQuery", f"Unsupported query operator '{op}'.")
        value = literal(word)
        if isinstance(value, str):
            value = value.lower()
            return lambda u: str(u.get(word) or "").lower() == value
        return lambda u: u.get(word) is value

    def expr() -> Predicate:
        left = term()
        while peek("or"):
            take("or")
            right = term()
            left = (lambda a, b: lambda u: a(u) or b(u))(left, right)
        return left

    def term() -> Predicate:
        left = atom()
        while peek("and"):
            take("and")
            right = atom()
            left = (lambda a, b: lambda u: a(u) and b(u))(left, right)
        return left

    predicate = expr()
    if pos != len(tokens):
        raise QueryError("Request_UnsupportedQuery", "Invalid filter clause.")
    return predicate


class Cursor:
    """Opaque, signed paging tokens: nobody can forge or edit a position."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def make(self, position: str, context: str) -> str:
        sig = hmac.new(self._key, f"{position}|{context}".encode(), hashlib.sha256).hexdigest()[:16]
        return base64.urlsafe_b64encode(f"{position}|{sig}".encode()).decode().rstrip("=")

    def read(self, token: str, context: str) -> str | None:
        """The position a token holds, or None when it is not one of ours for this query."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        position, _, sig = raw.rpartition("|")
        good = hmac.new(self._key, f"{position}|{context}".encode(), hashlib.sha256).hexdigest()[:16]
        return position if position and hmac.compare_digest(sig, good) else None
