"""Descriptions: product text or override, usernames, "N unassigned", "+N more" (DESIGN §2)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.billing.description import line_description

HEAD = "Microsoft 365 Business Premium"


@pytest.mark.parametrize(
    ("names", "unassigned", "limit", "expected"),
    [
        (None, 0, 6000, HEAD),
        (["zoe@c.com", "Adam@c.com", "bob@c.com"], 0, 6000, f"{HEAD}\nAdam@c.com\nbob@c.com\nzoe@c.com"),
        (None, 3, 6000, f"{HEAD}\n3 unassigned"),
        (["a@c.com"], 2, 6000, f"{HEAD}\na@c.com\n2 unassigned"),
        # past the limit: names dropped from the end, counted in "+N more"
        (["a@c.com", "b@c.com", "c@c.com", "d@c.com"], 0, len(HEAD) + 16, f"{HEAD}\na@c.com\n+3 more"),
        (["a@c.com", "b@c.com", "c@c.com"], 1, len(HEAD) + 32, f"{HEAD}\na@c.com\n+2 more\n1 unassigned"),
        (["a@c.com", "b@c.com"], 0, len(HEAD) + 8, f"{HEAD}\n+2 more"),
        # not even the head fits beside the summary: the head is shortened
        (["a@c.com", "b@c.com"], 0, 20, "Microsoft 3…\n+2 more"),
    ],
)
def test_line_description(names, unassigned, limit, expected):
    assert line_description(HEAD, names, unassigned, limit) == expected


names = st.lists(st.from_regex(r"[a-z]{1,12}@[a-z]{1,8}\.com", fullmatch=True), max_size=60)


@given(names, st.integers(min_value=0, max_value=50), st.integers(min_value=1, max_value=400))
def test_never_longer_than_the_limit_and_never_fails(people, unassigned, limit):
    text = line_description(HEAD, people, unassigned, limit)
    assert len(text) <= limit
    if len(text) < len("\n".join([HEAD, *people])) and people and "+" in text:
        kept = [line for line in text.split("\n") if "@" in line]
        assert f"+{len(people) - len(kept)} more" in text
