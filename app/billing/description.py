"""The description of a line (DESIGN §2).

The product's description (or the mapping's override), then, when chosen,
the assigned users' names sorted one per line, then "N unassigned" when
unassigned seats are billed. A PSA's length limit is met by dropping names
from the end and saying "+N more", never by failing.
"""

from __future__ import annotations

from collections.abc import Sequence

ELLIPSIS = "…"


def line_description(head: str, usernames: Sequence[str] | None = None, unassigned: int = 0,
                     max_length: int = 6000) -> str:
    """Compose a line's description within ``max_length`` characters."""
    if max_length < 1:
        raise ValueError("the maximum description length must be at least 1")
    if not usernames and unassigned <= 0 and len(head) <= max_length:
        return head  # the common case: the product's description alone
    names = sorted(usernames or (), key=str.casefold)
    tail = [f"{unassigned} unassigned"] if unassigned > 0 else []
    full = "\n".join([head, *names, *tail])
    if len(full) <= max_length:
        return full
    # Keep as many names as fit together with "+N more" and the tail.
    for keep in range(len(names) - 1, -1, -1):
        text = "\n".join([head, *names[:keep], f"+{len(names) - keep} more", *tail])
        if len(text) <= max_length:
            return text
    # Even the head does not fit beside the summary: shorten the head itself.
    extra = ([f"+{len(names)} more"] if names else []) + tail
    room = max_length - len("\n".join(extra)) - (1 if extra else 0)
    if room < 1:  # a limit shorter than the summary: cut the whole text
        return _cut(full, max_length)
    return "\n".join([_cut(head, room), *extra])


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + ELLIPSIS
