"""HaloPSA end users (``/api/Users``, schema Users of tests/specs/halopsa.subset.json) as the port's contacts.

- a client's users: ``GET /Users?client_id=N&includeinactive=true`` (Halo
  lists only active users unless asked), page after page (``users``);
- fields: ``firstname``, ``surname``, ``emailaddress`` (``email2`` and
  ``email3`` are the other addresses), ``title``, ``phonenumber``,
  ``mobilenumber``; inactive is the boolean ``inactive``;
- writes are Halo's upsert, ``POST /Users`` with an array: without ``id``
  it creates (with ``client_id``, which places the user on the client's main
  site [U: Halo's API documentation names site_id; the client's main site
  is what its screens choose]), with ``id`` it writes only the fields sent.
  The display ``name`` is written with the names ("first last"), as Halo's
  screens keep it. Halo answers the saved user.
"""

from __future__ import annotations

from typing import Any

from app.services.psa.halopsa.client import HaloClient
from app.services.psa.halopsa.errors import HaloMalformedResponse, HaloUnreadableAnswer
from app.services.psa.halopsa.wire import decoded
from app.services.psa.port import ContactChange, NewContact, PsaContact, contact_changed

USERS = "/Users"
#: The port's contact fields and Halo's.
FIELDS = {"first_name": "firstname", "last_name": "surname", "email": "emailaddress", "title": "title",
          "phone": "phonenumber", "mobile": "mobilenumber"}
OTHER_EMAILS = ("email2", "email3")


def list_contacts(client: HaloClient, company_id: int) -> list[PsaContact]:
    records = client.list(USERS, "users", {"client_id": company_id, "includeinactive": "true",
                                           "includeactive": "true"})
    # Halo filters by client_id; checked again so a user of another client is never taken for this one's.
    return [decoded("user", contact_from, r) for r in records if r.get("client_id") == company_id]


def create_contact(client: HaloClient, company_id: int, contact: NewContact) -> PsaContact:
    body: dict[str, Any] = {"client_id": company_id, "inactive": False,
                            "name": f"{contact.first_name} {contact.last_name}"}
    body.update({FIELDS[name]: value for name, value in contact.given().items()})
    return _saved(client.post(USERS, [body])[0], f"POST {USERS} (the user {contact.email})")


def update_contact(client: HaloClient, contact_id: int, contact: PsaContact, change: ContactChange) -> PsaContact:
    given = change.given()
    body: dict[str, Any] = {"id": contact_id, **{FIELDS[name]: value for name, value in given.items()}}
    if given.keys() & {"first_name", "last_name"}:
        named = contact_changed(contact, change)
        body["name"] = f"{named.first_name} {named.last_name}".strip()
    return _saved(client.post(USERS, [body])[0], f"POST {USERS} (user {contact_id})")


def set_active(client: HaloClient, contact_id: int, active: bool) -> PsaContact:
    return _saved(client.post(USERS, [{"id": contact_id, "inactive": not active}])[0],
                  f"POST {USERS} (user {contact_id})")


def contact_from(record: dict[str, Any]) -> PsaContact:
    company = record.get("client_id")
    if isinstance(company, bool) or not isinstance(company, int):
        raise ValueError("client_id")
    inactive = record.get("inactive")
    if inactive is not None and not isinstance(inactive, bool):
        raise ValueError("inactive")
    uid = record.get("id")
    if isinstance(uid, bool) or not isinstance(uid, int):
        raise ValueError("id")
    others = tuple(value for field in OTHER_EMAILS if (value := _text(record, field)))
    return PsaContact(id=str(uid), company_id=str(company), other_emails=others, active=not inactive,
                      **{name: _text(record, field) for name, field in FIELDS.items()})


def _text(record: dict[str, Any], field: str) -> str:
    value = record.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(field)
    return value


def _saved(record: dict[str, Any], request: str) -> PsaContact:
    """The user a write answered with; one that does not read leaves the write's outcome unknown."""
    try:
        return decoded("user", contact_from, record)
    except HaloMalformedResponse as error:
        raise HaloUnreadableAnswer(f"({request} answered with a user seatsync cannot read: "
                                   f"{error.detail.strip('()')})") from None
