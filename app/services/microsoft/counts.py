"""Counts for custom license rows, read from Graph (APIS.md §A4), as typed and checked values.

A custom row bills something Microsoft sells no SKU for: a tenant's enabled
member users, the users of a group (nested groups included), or its user or
shared mailboxes. Every function reads through ``GraphClient`` and returns
frozen values; an answer of another shape is ``MalformedResponse`` naming
the field, never a KeyError.

Mailboxes. The mailbox usage report lists a tenant's user and shared
mailboxes. It is read from Graph's beta endpoint as JSON
(``$format=application/json``), not from v1.0, whose answer is a 302 to a
pre-authenticated download on another host: seatsync's HTTP layer follows no
redirect (the credentials would go with it), and the JSON pages and checks
like every other Graph read. The cost: beta may change without notice; a
change of shape is a ``MalformedResponse``, not a wrong count.

Whether the report's rows say which kind each mailbox is is unverified
(APIS.md §A4), so a row's kind comes from its ``recipientType`` when it has
one, and otherwise from that mailbox's ``mailboxSettings/userPurpose``: one
more request per mailbox (1 resource unit each), made only when the rows
lack the type and only for rows not deleted. With concealed names
(``GET /admin/reportSettings``) the rows cannot be matched to users: the
count is still billable, the kinds and names are not known, and the result
says so (docs/permissions.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from app.services.microsoft.fields import Reader, shown
from app.services.microsoft.graph import GraphClient

#: A group member's fields a count needs.
MEMBER_FIELDS = ("id", "userPrincipalName", "displayName", "accountEnabled", "userType")
#: Exchange's userPurpose values (APIS.md §A4); "unknown" when the kind cannot be told.
MAILBOX_KINDS = frozenset({"user", "linked", "shared", "room", "equipment", "others", "unknownFutureValue"})
UNKNOWN = "unknown"
#: The report's recipient types (the admin center's "Shared" or "User") -> userPurpose's words.
_RECIPIENT_TYPES = {"user": "user", "shared": "shared", "usermailbox": "user", "sharedmailbox": "shared"}
PERIODS = ("D7", "D30", "D90", "D180")


@dataclass(frozen=True)
class DirectoryUser:
    """A user object; ``upn`` is empty when the app may not read users (Graph's limited information)."""

    id: str
    upn: str
    display_name: str = ""
    enabled: bool = True
    member: bool = True  # userType Member, not Guest


@dataclass(frozen=True)
class Group:
    id: str
    display_name: str


@dataclass(frozen=True)
class GroupUsers:
    """The users under a group, nested groups included."""

    group_id: str
    users: tuple[DirectoryUser, ...]
    #: Graph's @odata.count of the same query (from an index that can lag recent changes a little).
    reported_count: int

    @property
    def count(self) -> int:
        return len(self.users)

    @property
    def enabled_members(self) -> tuple[DirectoryUser, ...]:
        return tuple(u for u in self.users if u.enabled and u.member)

    @property
    def names_hidden(self) -> bool:
        """Graph gave ids only: the app lacks User.Read.All, so the count is right but names are unknown."""
        return any(not u.upn for u in self.users)


@dataclass(frozen=True)
class Mailbox:
    upn: str  # a concealed value when the tenant conceals report names
    display_name: str
    kind: str  # userPurpose's word, or UNKNOWN
    deleted: bool = False


@dataclass(frozen=True)
class Mailboxes:
    """A tenant's user and shared mailboxes from the usage report."""

    mailboxes: tuple[Mailbox, ...]
    #: The tenant conceals user names in reports: counts are billable, names and kinds are not known.
    concealed: bool

    def count(self, kind: str | None = None) -> int:
        """Mailboxes not deleted, of ``kind`` (any when None)."""
        return sum(1 for m in self.mailboxes if not m.deleted and (kind is None or m.kind == kind))

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(m.kind for m in self.mailboxes if not m.deleted))

    @property
    def note(self) -> str:
        """What a person must know of these counts, or ''."""
        if self.concealed:
            return ("This tenant conceals user names in reports: the number of mailboxes is right, but which "
                    "they are and their kinds are not known. Its admin can show names under Settings > Org "
                    "Settings > Services > Reports.")
        return ""


# -- users and groups ------------------------------------------------------------


def directory_user(item: Reader) -> DirectoryUser:
    return DirectoryUser(id=item.str("id"), upn=item.str("userPrincipalName", ""),
                         display_name=item.str("displayName", ""), enabled=item.bool("accountEnabled", True),
                         member=item.str("userType", "Member").lower() != "guest")


def enabled_members(graph: GraphClient, tenant: str) -> tuple[DirectoryUser, ...]:
    """The tenant's enabled member users (no guests, no disabled accounts): one users read, filtered by Graph."""
    items = graph.users(tenant, MEMBER_FIELDS, where="accountEnabled eq true and userType eq 'Member'")
    users = tuple(directory_user(i) for i in items)
    for item, user in zip(items, users, strict=True):
        if not user.enabled or not user.member:  # the filter was not applied: these would be billed
            raise item.fail("accountEnabled" if not user.enabled else "userType",
                            "contradicts the filter asked (enabled members only)")
    return users


def odata_text(value: str) -> str:
    """A string literal for a $filter: quoted, its quotes doubled (OData's escape)."""
    return "'" + value.replace("'", "''") + "'"


def groups_named(graph: GraphClient, tenant: str, name: str) -> tuple[Group, ...]:
    """Every group whose display name is ``name`` (display names are not unique: more than one can match)."""
    found = [group(i) for page in graph.group_pages(tenant, f"displayName eq {odata_text(name)}") for i in page]
    return tuple(found)


def group_pages(graph: GraphClient, tenant: str, page_size: int = 100) -> Iterator[tuple[Group, ...]]:
    """The tenant's groups for a picker, a page at a time (the next page is read when asked for)."""
    for page in graph.group_pages(tenant, page_size=page_size):
        yield tuple(group(i) for i in page)


def group(item: Reader) -> Group:
    return Group(id=item.str("id"), display_name=item.str("displayName", ""))


def group_users(graph: GraphClient, tenant: str, group_id: str) -> GroupUsers:
    """The users under a group, nested groups followed (``transitiveMembers/microsoft.graph.user``)."""
    items, reported = graph.group_member_users(tenant, group_id, MEMBER_FIELDS)
    users: dict[str, DirectoryUser] = {}
    for item in items:
        user = directory_user(item)
        users.setdefault(user.id, user)  # a user is listed once; a repeat across pages is not counted twice
    return GroupUsers(group_id=group_id, users=tuple(users.values()), reported_count=reported)


# -- mailboxes ---------------------------------------------------------------------


def concealed_names(graph: GraphClient, tenant: str) -> bool:
    """Whether the tenant's reports conceal user names (``adminReportSettings.displayConcealedNames``)."""
    body = graph.report_settings(tenant)
    # The documentation's example wraps the object in "value"; the resource is the object itself.
    inner = body.obj_at("value") if isinstance(body.obj.get("value"), dict) else body
    assert inner is not None
    return inner.bool("displayConcealedNames")


def mailbox_kind(graph: GraphClient, tenant: str, user: str) -> str | None:
    """A mailbox's userPurpose (user, shared, room, ...), or None when the user has no mailbox.

    Microsoft's pages show the value both as a plain string and as ``{"value": ...}``: either is read.
    """
    body = graph.user_purpose(tenant, user)
    if body is None:
        return None
    value = body.obj.get("value")
    holder = body.obj_at("value") if isinstance(value, dict) else body
    assert holder is not None
    kind = holder.str("value")
    if kind not in MAILBOX_KINDS:
        raise holder.fail("value", f"is {shown(kind)}, not a mailbox kind ({', '.join(sorted(MAILBOX_KINDS))})")
    return kind


def mailboxes(graph: GraphClient, tenant: str, period: str = "D7") -> Mailboxes:
    """The tenant's user and shared mailboxes, each with its kind when it can be told (see the module's doc)."""
    if period not in PERIODS:
        raise ValueError(f"the report's period is one of {', '.join(PERIODS)}, not {period!r}")
    concealed = concealed_names(graph, tenant)
    rows = graph.mailbox_usage(tenant, period)
    out = []
    for row in rows:
        upn, deleted = row.str("userPrincipalName"), row.bool("isDeleted", False)
        kind = _recipient_type(row)
        if kind is None and not concealed and not deleted:
            kind = mailbox_kind(graph, tenant, upn) or UNKNOWN
        out.append(Mailbox(upn=upn, display_name=row.str("displayName", ""), kind=kind or UNKNOWN, deleted=deleted))
    return Mailboxes(mailboxes=tuple(out), concealed=concealed)


def _recipient_type(row: Reader) -> str | None:
    text = row.str("recipientType", "")
    if not text:
        return None
    kind = _RECIPIENT_TYPES.get(text.replace(" ", "").lower())
    if kind is None:
        raise row.fail("recipientType", f"is {shown(text)}, not User or Shared")
    return kind
