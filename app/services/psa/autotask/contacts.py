"""Autotask contacts behind the PSA port (entity Contacts, tests/specs/autotask.subset.json ContactModel).

- a company's contacts: ``Contacts/query`` with ``companyID eq N``, page
  after page (``nextPageUrl``), active and inactive alike;
- fields: ``firstName``, ``lastName``, ``emailAddress`` (``emailAddress2``
  and ``emailAddress3`` are the other addresses), ``title``, ``phone``,
  ``mobilePhone``; ``isActive`` is an int32 in the vendor's model (1 active,
  0 inactive), unlike the booleans of Companies and Services;
- writes go through the parent company, ``Companies/{companyID}/Contacts``:
  POST creates (firstName, lastName and isActive are required), PATCH with
  the id writes only the fields sent; both answer ``{"itemId"}`` only, so the
  adapter reads the contact back (``Contacts/{id}``).
"""

from __future__ import annotations

from typing import Any

from app.services.psa.autotask.client import AutotaskClient
from app.services.psa.autotask.errors import AutotaskMalformedResponse
from app.services.psa.autotask.query import eq
from app.services.psa.autotask.records import decoded
from app.services.psa.port import ContactChange, NewContact, PsaContact

#: The port's contact fields and Autotask's.
FIELDS = {"first_name": "firstName", "last_name": "lastName", "email": "emailAddress", "title": "title",
          "phone": "phone", "mobile": "mobilePhone"}
OTHER_EMAILS = ("emailAddress2", "emailAddress3")
PAGE_SIZE = 500


def list_contacts(client: AutotaskClient, company_id: int, *, page_size: int = PAGE_SIZE) -> list[PsaContact]:
    records = client.query("Contacts", [eq("companyID", company_id)], page_size=page_size)
    return [decoded(f"contact {r['id']}", contact_from, r) for r in sorted(records, key=lambda r: r["id"])]


def create_contact(client: AutotaskClient, company_id: int, contact: NewContact) -> int:
    body: dict[str, Any] = {"companyID": company_id, "isActive": 1}
    body.update({FIELDS[name]: value for name, value in contact.given().items()})
    return client.create(f"V1.0/Companies/{company_id}/Contacts", body, endpoint="Contacts")


def update_contact(client: AutotaskClient, company_id: int, contact_id: int, change: ContactChange) -> None:
    body: dict[str, Any] = {"id": contact_id}
    body.update({FIELDS[name]: value for name, value in change.given().items()})
    client.update(f"V1.0/Companies/{company_id}/Contacts", body, endpoint="Contacts")


def set_active(client: AutotaskClient, company_id: int, contact_id: int, active: bool) -> None:
    client.update(f"V1.0/Companies/{company_id}/Contacts", {"id": contact_id, "isActive": int(active)},
                  endpoint="Contacts")


def read_contact(client: AutotaskClient, contact_id: int) -> PsaContact | None:
    record = client.get("Contacts", contact_id)
    return None if record is None else decoded(f"contact {contact_id}", contact_from, record)


def contact_from(record: dict[str, Any]) -> PsaContact:
    active = record.get("isActive")
    if active not in (0, 1) or isinstance(active, bool):
        raise AutotaskMalformedResponse(f"contact {record.get('id')} has isActive {str(active)[:20]!r}, not 1 or 0")
    texts = {name: _text(record, field) for name, field in FIELDS.items()}
    company = record.get("companyID")
    if isinstance(company, bool) or not isinstance(company, int):
        raise ValueError(f"its companyID is not a record id: {str(company)[:40]!r}")
    others = tuple(value for field in OTHER_EMAILS if (value := _text(record, field)))
    return PsaContact(id=str(record["id"]), company_id=str(company), other_emails=others, active=active == 1,
                      **texts)


def _text(record: dict[str, Any], field: str) -> str:
    value = record.get(field)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"its {field} is not text: {str(value)[:40]!r}")
    return value
