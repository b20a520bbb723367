"""Contacts in the sandbox (``/company/contacts``): ConnectWise's validation on write.

Field names are the vendor's (tests/specs/connectwise.subset.json, Contact
and ContactCommunicationItem). ``firstName`` is required (30 characters,
``lastName`` 30, ``title`` 50: ConnectWise's screen limits [S]) and the
company must exist. Each communication item names its type by id or name
among the types a new site has (``COMMUNICATION_TYPES``), which gives its
``communicationType``; an e-mail item's value must be an address. One item
per communicationType is the default: the first flagged, else the first.
A PATCH takes replace/add/remove operations on the writable fields; a
``communicationItems`` value replaces the whole list (items keep the ids
they are sent with).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from app.sandbox.connectwise.errors import ApiError, invalid, missing, not_found, patch_op

if TYPE_CHECKING:
    from app.sandbox.connectwise.store import CwStore

RESOURCE = "contact"
#: The communication types of a new ConnectWise site: id -> (name, communicationType).
COMMUNICATION_TYPES = {1: ("Email", "Email"), 2: ("Direct", "Phone"), 3: ("Cell", "Phone"), 4: ("Fax", "Fax"),
                       5: ("Home", "Phone"), 6: ("Pager", "Phone")}
TEXTS = {"firstName": 30, "lastName": 30, "title": 50}
WRITABLE = {*TEXTS, "company", "inactiveFlag", "communicationItems"}
READ_ONLY = {"id", "_info", "types"}
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class ContactRules:
    """Creates, replaces and patches contacts with ConnectWise's validation."""

    def __init__(self, store: CwStore) -> None:
        self.store = store

    def create(self, body: Any) -> dict[str, Any]:
        with self.store.lock:
            record = self._validated({}, _object(body), partial=False)
            record["id"] = self.store._next("contact")
            self.store.contacts[record["id"]] = record
            return record

    def replace(self, contact_id: int, body: Any) -> dict[str, Any]:
        with self.store.lock:
            self.contact(contact_id)
            record = self._validated({}, _object(body), partial=False)
            record["id"] = contact_id
            self.store.contacts[contact_id] = record
            return record

    def patch(self, contact_id: int, ops: Any) -> dict[str, Any]:
        if not isinstance(ops, list) or not ops:
            raise ApiError(400, "InvalidObject", "The request body must be a non-empty array of patch operations.")
        with self.store.lock:
            current = self.contact(contact_id)
            changes = dict(_patch_op(op) for op in ops)
            record = self._validated(current, changes, partial=True)
            self.store.contacts[contact_id] = record
            return record

    def contact(self, contact_id: int) -> dict[str, Any]:
        try:
            return self.store.contacts[contact_id]
        except KeyError:
            raise not_found("Contact", contact_id) from None

    def _validated(self, current: dict[str, Any], changes: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        unknown = sorted(k for k in changes if k not in WRITABLE and k not in READ_ONLY)
        if unknown:
            raise invalid(RESOURCE, unknown[0], f"{unknown[0]} is not a writable field of a contact.")
        record = {k: v for k, v in current.items()}
        record.update({k: v for k, v in changes.items() if k in WRITABLE})
        if not partial:
            record.setdefault("inactiveFlag", False)
        for name, limit in TEXTS.items():
            value = record.get(name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise invalid(RESOURCE, name, f"{name} must be text.")
            if len(value) > limit:
                raise invalid(RESOURCE, name, f"{name} can be at most {limit} characters.")
        if not str(record.get("firstName") or "").strip():
            raise missing(RESOURCE, "firstName")
        if not isinstance(record.get("inactiveFlag"), bool):
            raise invalid(RESOURCE, "inactiveFlag", "inactiveFlag must be true or false.")
        record["company"] = self._company(record.get("company"))
        record["communicationItems"] = _items(record.get("communicationItems"), self.store)
        record["_info"] = self.store.info()
        return record

    def _company(self, ref: Any) -> dict[str, Any]:
        if not isinstance(ref, dict) or ref.get("id") is None:
            raise missing(RESOURCE, "company")
        company_id = ref["id"]
        if isinstance(company_id, bool) or not isinstance(company_id, int) or company_id not in self.store.companies:
            raise invalid(RESOURCE, "company", f"Company with id {company_id} was not found.", code="InvalidReference")
        return self.store.company_ref(self.store.companies[company_id])


def _items(raw: Any, store: CwStore) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(i, dict) for i in raw):
        raise invalid(RESOURCE, "communicationItems", "communicationItems must be a list of items.")
    items = []
    for given in raw:
        type_id, (type_name, kind) = _type(given.get("type"))
        value = given.get("value")
        if not isinstance(value, str) or not value.strip():
            raise missing(RESOURCE, "communicationItems/value")
        if kind == "Email" and not _ADDRESS.fullmatch(value):
            raise invalid(RESOURCE, "communicationItems/value", f"{value!r} is not a valid e-mail address.")
        item_id = given.get("id")
        items.append({"id": item_id if isinstance(item_id, int) and not isinstance(item_id, bool)
                      else store._next("communication"),
                      "type": {"id": type_id, "name": type_name}, "value": value,
                      "defaultFlag": given.get("defaultFlag") is True, "communicationType": kind})
    for communication in {i["communicationType"] for i in items}:
        same = [i for i in items if i["communicationType"] == communication]
        default = next((i for i in same if i["defaultFlag"]), same[0])
        for item in same:
            item["defaultFlag"] = item is default
    return items


def _type(ref: Any) -> tuple[int, tuple[str, str]]:
    if not isinstance(ref, dict):
        raise missing(RESOURCE, "communicationItems/type")
    for type_id, (name, kind) in COMMUNICATION_TYPES.items():
        if ref.get("id") == type_id or (ref.get("id") is None and str(ref.get("name", "")).casefold() ==
                                        name.casefold()):
            return type_id, (name, kind)
    raise invalid(RESOURCE, "communicationItems/type", f"Communication type {ref} was not found.",
                  code="InvalidReference")


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "InvalidObject", "The request body must be a contact object.")
    return body


def _patch_op(op: Any) -> tuple[str, Any]:
    path, value = patch_op(op)
    name = next((known for known in (*WRITABLE, *READ_ONLY) if known.lower() == path.lower()), path)
    if name in READ_ONLY:
        raise invalid(RESOURCE, name, f"{name} cannot be changed.")
    return name, value
