"""JSON with exact numbers: Decimal written digit for digit, numbers with a fraction read as Decimal.

``dumps`` writes a Decimal as a JSON number, as ``str`` gives it (``"exact"``:
exponent and trailing zeros kept, e.g. ``1E+1``, ``8.50``) or in positional
notation (``"plain"``: ``format(d, "f")``, e.g. ``10``), or as a JSON string
(``"text"``, the database's form). A Decimal that is not finite is refused
(JSON has no NaN), and so is a float (money never passes through a binary
float) unless ``floats=True``. Types JSON lacks go through ``default``, as
with ``json.dumps``. ``compact`` writes no spaces after separators;
``ensure_ascii``, ``sort_keys``: as ``json.dumps``.

``loads`` reads every number with a fraction or an exponent as an exact
Decimal (integers stay int). NaN, Infinity and -Infinity, which JSON does not
have, raise ``NotANumber`` unless ``nan=True`` (then floats, as ``json.loads``
reads them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any, Literal

DecimalForm = Literal["exact", "plain", "text"]
_CONSTANTS = {None: "null", True: "true", False: "false"}


class NotANumber(ValueError):
    """NaN, Infinity or -Infinity where JSON has numbers."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is not a JSON number")
        self.name = name


def dumps(value: Any, *, decimals: DecimalForm = "exact", default: Callable[[Any], Any] | None = None,
          compact: bool = True, ensure_ascii: bool = True, sort_keys: bool = False, floats: bool = False,
          where: str = "value") -> str:
    """``value`` as JSON text; ``where`` names it in the message of a value refused."""
    parts: list[str] = []
    text = encode_basestring_ascii if ensure_ascii else encode_basestring
    item_separator, key_separator = (",", ":") if compact else (", ", ": ")

    def key_text(key: Any, path: tuple[Any, ...]) -> str:
        if isinstance(key, str):
            return text(key)
        if key is None or isinstance(key, bool):
            return text(_CONSTANTS[key])
        if isinstance(key, int):
            return text(int.__repr__(key))
        raise TypeError(f"{_path(path)}: a key must be text, not {type(key).__name__}")

    def write(item: Any, path: tuple[Any, ...]) -> None:
        if isinstance(item, str):
            parts.append(text(item))
        elif item is None or isinstance(item, bool):
            parts.append(_CONSTANTS[item])
        elif isinstance(item, int):
            parts.append(int.__repr__(item))
        elif isinstance(item, Decimal):
            if not item.is_finite():
                raise ValueError(f"{_path(path)}: a non-finite amount is not a JSON number: {item}")
            if decimals == "text":
                parts.append(text(str(item)))
            else:
                parts.append(str(item) if decimals == "exact" else format(item, "f"))
        elif isinstance(item, float):
            if not floats:
                raise TypeError(f"{_path(path)}: a float is never written (money is Decimal): {item!r}")
            parts.append(json.dumps(item))
        elif isinstance(item, dict):
            entries = sorted(item.items()) if sort_keys else item.items()
            parts.append("{")
            for index, (key, member) in enumerate(entries):
                if index:
                    parts.append(item_separator)
                parts.append(key_text(key, path))
                parts.append(key_separator)
                write(member, (path, key))
            parts.append("}")
        elif isinstance(item, (list, tuple)):
            parts.append("[")
            for index, member in enumerate(item):
                if index:
                    parts.append(item_separator)
                write(member, (path, index))
            parts.append("]")
        elif default is not None:
            write(default(item), path)
        else:
            raise TypeError(f"{_path(path)}: cannot write {type(item).__name__} as JSON")

    write(value, (where,))
    return "".join(parts)


def _path(path: tuple[Any, ...]) -> str:
    """``(((root,), "a"), 1)`` as ``root.a[1]``."""
    steps: list[Any] = []
    while len(path) == 2:
        path, step = path
        steps.append(step)
    return str(path[0]) + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in reversed(steps))


def loads(text: str | bytes, *, nan: bool = False) -> Any:
    """JSON text with every number that has a fraction or an exponent as an exact Decimal."""
    return json.loads(text, parse_float=Decimal, parse_constant=None if nan else _not_a_number)


def _not_a_number(name: str) -> Any:
    raise NotANumber(name)
