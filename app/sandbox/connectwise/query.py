"""List queries as ConnectWise answers them: conditions, orderBy, fields, paging, Link headers.

APIS.md §B1 "Condition syntax": ``lastUpdated`` names ``_info/lastUpdated``
on every resource that has ``_info`` (ConnectWise's own incremental-sync
example is ``conditions=lastUpdated > [2025-01-01T00:00:00Z]``). A condition
on a field the resource does not have answers 400 with code
``ApiFindCondition`` and "<field> is not a recognized name.", as ConnectWise
does (e.g. LabtechConsulting/ConnectWise-Manage-Powershell issue #4);
conditions that do not parse answer ``InvalidObject``.

APIS.md §B1 "Common list query params" and "Pagination": ``page`` is
1-based, ``pageSize`` defaults to 25 and is capped at 1,000 (larger values
are served as 1,000); navigable paging answers with a Link header carrying
rel="first"/"prev"/"next"/"last"; with the request header
``pagination-type: forward-only`` the results come in id order, ``pageId``
acts as ``id > pageId`` and the Link header carries only rel="next" with
the last id of the page.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from app.sandbox.connectwise.conditions import ConditionError, UnknownField, parse
from app.sandbox.connectwise.errors import ApiError
from app.sandbox.server import Request

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000


def lookup(record: Any, path: str) -> Any:
    """The value at ``a/b/c`` in a record, matching names case-insensitively; None if absent."""
    value = record
    for part in path.split("/"):
        if not isinstance(value, dict):
            return None
        if part in value:
            value = value[part]
            continue
        lowered = part.lower()
        value = next((v for k, v in value.items() if k.lower() == lowered), None)
    return value


#: Names ConnectWise accepts in conditions and orderBy for a field under ``_info``.
ALIASES = {"lastupdated": "_info/lastUpdated"}


def _resolve(path: str, fields: frozenset[str]) -> str:
    """The record path a condition's field name stands for (an alias of an ``_info`` field, or itself)."""
    alias = ALIASES.get(path.lower())
    return alias if alias is not None and "_info" in fields and path not in fields else path


def _known(fields: frozenset[str]) -> Callable[[str], bool]:
    lowered = {f.lower() for f in fields}
    return lambda path: _resolve(path, fields).split("/")[0].lower() in lowered


def bad_request(message: str) -> ApiError:
    return ApiError(400, "InvalidObject", message)


def filtered(records: Iterable[dict[str, Any]], request: Request, fields: frozenset[str]) -> list[dict[str, Any]]:
    """Records matching ``conditions``, in ``orderBy`` order (id ascending by default)."""
    rows = list(records)
    text = request.arg("conditions")
    if text:
        try:
            test = parse(text, _known(fields))
        except UnknownField as error:
            raise ApiError(400, "ApiFindCondition", f"{error.field} is not a recognized name.") from None
        except ConditionError as error:
            raise bad_request(f"Invalid conditions: {error}") from None

        def getter(record: Any) -> Callable[[str], Any]:
            return lambda path: lookup(record, _resolve(path, fields))

        rows = [r for r in rows if test(getter(r))]
    order = request.arg("orderBy") or "id asc"
    keys = []
    for part in reversed([p.strip() for p in order.split(",") if p.strip()]):
        words = part.split()
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise bad_request(f"Invalid orderBy clause {part!r}: use 'field asc' or 'field desc'.")
        if not _known(fields)(words[0]):
            raise bad_request(f"Invalid orderBy: unknown field {words[0]!r}.")
        keys.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    rows.sort(key=lambda r: r.get("id", 0))
    for name, descending in keys:  # stable sorts, least significant key first
        path = _resolve(name, fields)
        rows.sort(key=lambda r: _sort_key(lookup(r, path)), reverse=descending)
    return rows


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        return (1, value.casefold())
    if isinstance(value, dict):
        return (1, str(value.get("name") or value.get("id") or ""))
    return (1, value)


def project(record: dict[str, Any], request: Request) -> dict[str, Any]:
    """Keep only the ``fields`` asked for (``a,b/c``): a partial response."""
    text = request.arg("fields")
    if not text:
        return record
    out: dict[str, Any] = {}
    for path in (p.strip() for p in text.split(",") if p.strip()):
        parts = path.split("/")
        source: Any = record
        target = out
        for i, part in enumerate(parts):
            if not isinstance(source, dict):
                break
            name = next((k for k in source if k.lower() == part.lower()), None)
            if name is None or source[name] is None:
                break
            if i == len(parts) - 1:
                target[name] = copy.deepcopy(source[name])
            else:
                target = target.setdefault(name, {})
                source = source[name]
    return out


def page_size(request: Request) -> int:
    raw = request.arg("pageSize")
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    try:
        size = int(raw)
    except ValueError:
        raise bad_request(f"pageSize must be a whole number, not {raw!r}.") from None
    if size < 1:
        raise bad_request("pageSize must be at least 1.")
    return min(size, MAX_PAGE_SIZE)


def _int_arg(request: Request, name: str, default: int) -> int:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"{name} must be a whole number, not {raw!r}.") from None


def _link(request: Request, **changes: int) -> str:
    params = {k: v[-1] for k, v in request.query.items() if k.lower() not in {c.lower() for c in changes}}
    params.update({k: str(v) for k, v in changes.items()})
    return f"{request.base_url}{request.path}?{urlencode(params)}"


def paged(rows: list[dict[str, Any]], request: Request) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One page of ``rows`` and the Link header for the others."""
    size = page_size(request)
    if (request.headers.get("pagination-type") or "").lower() == "forward-only":
        after = _int_arg(request, "pageId", 0)
        remaining = sorted((r for r in rows if r.get("id", 0) > after), key=lambda r: r["id"])
        chunk = remaining[:size]
        links = []
        if len(remaining) > size:
            links.append(f'<{_link(request, pageSize=size, pageId=chunk[-1]["id"])}>; rel="next"')
        return chunk, ({"Link": ", ".join(links)} if links else {})
    number = _int_arg(request, "page", 1)
    if number < 1:
        raise bad_request("page must be at least 1.")
    last = max(1, math.ceil(len(rows) / size))
    chunk = rows[(number - 1) * size: number * size]
    links = []
    if number > 1:
        links.append(f'<{_link(request, pageSize=size, page=min(number - 1, last))}>; rel="prev"')
    if number < last:
        links.append(f'<{_link(request, pageSize=size, page=number + 1)}>; rel="next"')
    links.append(f'<{_link(request, pageSize=size, page=1)}>; rel="first"')
    links.append(f'<{_link(request, pageSize=size, page=last)}>; rel="last"')
    return chunk, {"Link": ", ".join(links)}
