"""The ConnectWise ``conditions`` query language: a tokenizer, a parser and an evaluator.

Grammar (APIS.md §B1 "Condition syntax"; keywords are case-insensitive)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := unary ("and" unary)*
    unary      := "not" unary | "(" expr ")" | comparison
    comparison := field op value
                | field ["not"] "in" "(" value ("," value)* ")"
                | field ["not"] ("like" | "contains") string
    op         := "=" | "!=" | "<" | "<=" | ">" | ">="
    value      := "string" | number | true | false | null | [yyyy-mm-ddThh:mm:ssZ]
    field      := name ("/" name)*          e.g. company/id

Evaluation follows SQL Server, which ConnectWise runs on: text compares
case-insensitively, ``like`` takes ``*`` (and ``%``) as wildcards, and a
comparison with a missing (null) value is false except ``= null`` and
``!= null``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


class ConditionError(ValueError):
    """The conditions string is not valid."""


class UnknownField(ConditionError):
    """A condition names a field the resource does not have."""

    def __init__(self, field: str, pos: int) -> None:
        super().__init__(f"unknown field {field!r} at position {pos}")
        self.field = field


@dataclass(frozen=True)
class Token:
    kind: str  # "name" "string" "number" "date" "op" "(" ")" ","
    text: str
    pos: int
    value: Any = None


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<date>\[[^\]]*\])
  | (?P<number>-?\d+(?:\.\d+)?(?![\w/]))
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<paren>[(),])
  | (?P<name>[A-Za-z_][\w]*(?:/[A-Za-z_][\w]*)*)
""", re.VERBOSE)

KEYWORDS = {"and", "or", "not", "in", "like", "contains", "true", "false", "null"}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ConditionError(f"unexpected character {text[pos]!r} at position {pos}")
        kind = match.lastgroup
        raw = match.group()
        if kind == "string":
            tokens.append(Token("string", raw, pos, re.sub(r"\\(.)", r"\1", raw[1:-1])))
        elif kind == "date":
            tokens.append(Token("date", raw, pos, parse_datetime(raw[1:-1], pos)))
        elif kind == "number":
            tokens.append(Token("number", raw, pos, Decimal(raw)))
        elif kind == "op":
            tokens.append(Token("op", "!=" if raw == "<>" else raw, pos))
        elif kind == "paren":
            tokens.append(Token(raw, raw, pos))
        elif kind == "name":
            tokens.append(Token("name", raw, pos))
        pos = match.end()
    return tokens


def parse_datetime(text: str, pos: int = 0) -> datetime:
    value = text.strip()
    try:
        if len(value) == 10:
            parsed = datetime.fromisoformat(value)
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConditionError(f"invalid date [{text}] at position {pos}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# A node of the parsed condition: evaluated against one record.
Node = Callable[[Callable[[str], Any]], bool]


class _Parser:
    def __init__(self, tokens: list[Token], known: Callable[[str], bool]) -> None:
        self.tokens = tokens
        self.i = 0
        self.known = known

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token and token.kind == "name" and token.text.lower() in words:
            self.i += 1
            return token.text.lower()
        return None

    def expect(self, kind: str, what: str) -> Token:
        token = self.peek()
        if token is None or token.kind != kind:
            where = f"at position {token.pos}" if token else "at the end"
            raise ConditionError(f"expected {what} {where}")
        self.i += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise ConditionError("empty conditions")
        node = self.expr()
        if self.peek() is not None:
            token = self.peek()
            assert token is not None
            raise ConditionError(f"unexpected {token.text!r} at position {token.pos}")
        return node

    def expr(self) -> Node:
        parts = [self.and_expr()]
        while self.keyword("or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda get: any(p(get) for p in parts))

    def and_expr(self) -> Node:
        parts = [self.unary()]
        while self.keyword("and"):
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda get: all(p(get) for p in parts))

    def unary(self) -> Node:
        if self.keyword("not"):
            inner = self.unary()
            return lambda get: not inner(get)
        token = self.peek()
        if token is not None and token.kind == "(":
            self.i += 1
            inner = self.expr()
            self.expect(")", "')'")
            return inner
        return self.comparison()

    def comparison(self) -> Node:
        field_token = self.expect("name", "a field name")
        field = field_token.text
        if field.lower() in KEYWORDS:
            raise ConditionError(f"expected a field name at position {field_token.pos}, found {field!r}")
        if not self.known(field):
            raise UnknownField(field, field_token.pos)
        negate = bool(self.keyword("not"))
        word = self.keyword("in", "like", "contains")
        if word == "in":
            self.expect("(", "'(' after in")
            values = [self.value()]
            while self.peek() is not None and self.peek().kind == ",":  # type: ignore[union-attr]
                self.i += 1
                values.append(self.value())
            self.expect(")", "')' after the in list")
            test: Node = lambda get: any(_equals(get(field), v) for v in values)  # noqa: E731
        elif word in ("like", "contains"):
            pattern = self.expect("string", f"a quoted string after {word}").value
            matcher = _like(pattern) if word == "like" else _contains(pattern)
            test = lambda get: isinstance(get(field), str) and matcher(get(field))  # noqa: E731
        elif negate:
            raise ConditionError(f"expected in, like or contains after not at position {field_token.pos}")
        else:
            op = self.expect("op", f"an operator after {field}").text
            value = self.value()
            test = _compare(field, op, value)
        return (lambda get: not test(get)) if negate else test

    def value(self) -> Any:
        token = self.peek()
        if token is None:
            raise ConditionError("expected a value at the end")
        self.i += 1
        if token.kind in ("string", "number", "date"):
            return token.value
        if token.kind == "name" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        if token.kind == "name" and token.text.lower() == "null":
            return None
        raise ConditionError(f"expected a value at position {token.pos}, found {token.text!r}")


def parse(text: str, known: Callable[[str], bool] = lambda field: True) -> Node:
    """Parse ``text``; ``known(field)`` says whether a field exists on the resource."""
    return _Parser(tokenize(text), known).parse()


# -- evaluation ----------------------------------------------------------------


def _coerce(record_value: Any, literal: Any) -> tuple[Any, Any] | None:
    """Both sides in one comparable type, or None when they cannot compare."""
    if record_value is None or literal is None:
        return None
    if isinstance(literal, bool) or isinstance(record_value, bool):
        return (record_value, literal) if isinstance(record_value, bool) and isinstance(literal, bool) else None
    if isinstance(literal, datetime):
        if isinstance(record_value, str):
            try:
                return parse_datetime(record_value), literal
            except ConditionError:
                return None
        return None
    if isinstance(literal, Decimal):
        if isinstance(record_value, (int, Decimal)):
            return Decimal(record_value), literal
        if isinstance(record_value, str):
            try:
                return Decimal(record_value), literal
            except InvalidOperation:
                return None
        return None
    if isinstance(literal, str):
        if isinstance(record_value, str):
            return record_value.casefold(), literal.casefold()
        if isinstance(record_value, (int, Decimal)):
            return str(record_value), literal
    return None


def _equals(record_value: Any, literal: Any) -> bool:
    pair = _coerce(record_value, literal)
    return pair is not None and pair[0] == pair[1]


def _compare(field: str, op: str, literal: Any) -> Node:
    if literal is None:
        if op not in ("=", "!="):
            raise ConditionError(f"null can only be compared with = or != (field {field})")
        return (lambda get: get(field) is None) if op == "=" else (lambda get: get(field) is not None)

    def test(get: Callable[[str], Any]) -> bool:
        pair = _coerce(get(field), literal)
        if pair is None:
            return False
        left, right = pair
        if op == "=":
            return left == right
        if op == "!=":
            return left != right
        if isinstance(left, bool):
            return False
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]

    return test


def _like(pattern: str) -> Callable[[str], bool]:
    regex = "".join(".*" if ch in "*%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    compiled = re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL)
    return lambda value: compiled.match(value) is not None


def _contains(needle: str) -> Callable[[str], bool]:
    folded = needle.casefold()
    return lambda value: folded in value.casefold()
