"""ConnectWise contacts behind the PSA port (``/company/contacts``, APIS.md §B1).

How the port's contact fields map (tests/specs/connectwise.subset.json,
schemas Contact and ContactCommunicationItem):

- names and title are ``firstName``, ``lastName``, ``title``; inactive is
  ``inactiveFlag``;
- e-mail and phones are ``communicationItems``, each a communication type
  (a reference by name, e.g. "Email", "Direct", "Cell") with a value and a
  ``defaultFlag``; ConnectWise derives ``communicationType`` (Email, Phone,
  Fax) from the type. ``email`` is the default e-mail item (else the first),
  ``other_emails`` the other e-mail items; ``phone`` the "Direct" item and
  ``mobile`` the "Cell" (or "Mobile") item, the types a new ConnectWise site
  has;
- a company's contacts are ``conditions=company/id=N``, every page;
- a change PATCHes the names and title it gives, and, when it gives an e-mail
  or a phone, the whole ``communicationItems`` list read just before with
  only those items' values changed (a PATCH replaces the list: the items the
  change does not name keep their ids and values).
"""

from __future__ import annotations

from typing import Any

from app.services.psa.connectwise.client import ConnectWiseClient
from app.services.psa.connectwise.wire import _flag, _id, _ref_id, _text, decoded
from app.services.psa.port import (
    ContactChange,
    NewContact,
    PsaContact,
    PsaMalformedResponse,
    PsaNotFound,
    PsaUnreadableAnswer,
)

CONTACTS = "/company/contacts"
CONTACT_FIELDS = "id,firstName,lastName,title,company,inactiveFlag,communicationItems"
#: The port's names and title and ConnectWise's.
NAMES = {"first_name": "firstName", "last_name": "lastName", "title": "title"}
#: The port's phone fields, the communication type each is written as, and the type names read as it.
PHONES = {"phone": ("Direct", ("direct",)), "mobile": ("Cell", ("cell", "mobile"))}


def list_contacts(client: ConnectWiseClient, company_id: str) -> list[PsaContact]:
    if not company_id.isdigit():
        return []
    records = client.list(CONTACTS, conditions=f"company/id={int(company_id)}", fields=CONTACT_FIELDS)
    return [decoded("a contact", contact_from, r) for r in records]


def create_contact(client: ConnectWiseClient, contact: NewContact) -> PsaContact:
    if not contact.company_id.isdigit():
        raise PsaNotFound(f"company {contact.company_id!r} is not a ConnectWise company id")
    body: dict[str, Any] = {"firstName": contact.first_name, "lastName": contact.last_name,
                            "company": {"id": int(contact.company_id)}, "inactiveFlag": False,
                            "communicationItems": [_item("Email", contact.email, "Email", default=True)]}
    if contact.title:
        body["title"] = contact.title
    for port_name, (type_name, _) in PHONES.items():
        value = getattr(contact, port_name)
        if value:
            body["communicationItems"].append(_item(type_name, value, "Phone", default=port_name == "phone"))
    return _written(client.post(CONTACTS, body), f"POST {CONTACTS} (the contact {contact.email})")


def update_contact(client: ConnectWiseClient, contact: PsaContact, change: ContactChange) -> PsaContact:
    path = _path(contact)
    given = change.given()
    operations: list[dict[str, Any]] = [{"op": "replace", "path": NAMES[name], "value": value}
                                        for name, value in given.items() if name in NAMES]
    if given.keys() - NAMES.keys():
        current = client.get(path, {"fields": "id,communicationItems"})
        items = current.get("communicationItems") if isinstance(current, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            items = []
        operations.append({"op": "replace", "path": "communicationItems",
                           "value": _changed_items(items, given)})
    return _written(client.patch(path, operations), f"PATCH {CONTACTS}/{{id}} (contact {contact.id})")


def set_contact_active(client: ConnectWiseClient, contact: PsaContact, active: bool) -> PsaContact:
    record = client.patch(_path(contact), [{"op": "replace", "path": "inactiveFlag", "value": not active}])
    return _written(record, f"PATCH {CONTACTS}/{{id}} (contact {contact.id})")


def contact_from(record: dict[str, Any]) -> PsaContact:
    cid = _id(record, "a contact")
    what = f"contact {cid}"
    items = record.get("communicationItems") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise PsaMalformedResponse(f"ConnectWise sent the communicationItems of {what} as something other "
                                   "than a list of items")
    emails = [i for i in items if _is_email(i) and _text(i, "value", what)]
    emails.sort(key=lambda i: not _flag(i, "defaultFlag", what))  # the default address first, else in order
    addresses = [_text(i, "value", what) for i in emails]
    phones = {name: next((_text(i, "value", what) for i in items if _type_name(i) in read_as), "")
              for name, (_, read_as) in PHONES.items()}
    return PsaContact(id=cid, company_id=_ref_id(record, "company", what), first_name=_text(record, "firstName", what),
                      last_name=_text(record, "lastName", what), email=addresses[0] if addresses else "",
                      other_emails=tuple(addresses[1:]), title=_text(record, "title", what),
                      phone=phones["phone"], mobile=phones["mobile"], active=not _flag(record, "inactiveFlag", what))


def _changed_items(items: list[dict[str, Any]], given: dict[str, str]) -> list[dict[str, Any]]:
    """The communication items with the e-mail and phones ``given`` written over (or added)."""
    out = [dict(i) for i in items]
    if "email" in given:
        emails = [i for i in out if _is_email(i)]
        default = next((i for i in emails if i.get("defaultFlag") is True), emails[0] if emails else None)
        if default is None:
            out.append(_item("Email", given["email"], "Email", default=True))
        else:
            default["value"] = given["email"]
    for port_name, (type_name, read_as) in PHONES.items():
        if port_name in given:
            found = next((i for i in out if _type_name(i) in read_as), None)
            if found is None:
                a_default = any(i.get("defaultFlag") is True and not _is_email(i) for i in out)
                out.append(_item(type_name, given[port_name], "Phone", default=not a_default))
            else:
                found["value"] = given[port_name]
    return out


def _item(type_name: str, value: str, kind: str, *, default: bool) -> dict[str, Any]:
    return {"type": {"name": type_name}, "value": value, "defaultFlag": default, "communicationType": kind}


def _is_email(item: dict[str, Any]) -> bool:
    return item.get("communicationType") == "Email" or _type_name(item) == "email"


def _type_name(item: dict[str, Any]) -> str:
    ref = item.get("type")
    name = ref.get("name") if isinstance(ref, dict) else None
    return name.casefold() if isinstance(name, str) else ""


def _path(contact: PsaContact) -> str:
    if not contact.id.isdigit():
        raise PsaNotFound(f"contact {contact.id!r} is not a ConnectWise contact id")
    return f"{CONTACTS}/{int(contact.id)}"


def _written(record: object, request: str) -> PsaContact:
    """The contact a write answered with; an answer that does not read as one leaves the write's
    outcome unknown (ConnectWise has the request and may have applied it)."""
    if not isinstance(record, dict):
        raise PsaUnreadableAnswer(f"ConnectWise answered {request} with {str(record)[:60]!r} instead of the contact")
    try:
        return decoded("the contact", contact_from, record)
    except PsaMalformedResponse as error:
        raise PsaUnreadableAnswer(f"ConnectWise answered {request} with a contact seatsync cannot read: "
                                  f"{error.detail}") from None
