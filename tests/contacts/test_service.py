"""The contact sync service on seatsync's database and the fake PSA: enabling after a preview, a lost answer
settled before anything is written again, and one company's failure kept from the others."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.billing.types import User
from app.bootstrap import open_context
from app.services.contacts.plan import Options, Person
from app.services.contacts.service import ContactSyncRefused, ContactSyncService
from app.services.psa.fake import FakePsa
from app.services.psa.port import PsaCompany, PsaUnavailable, PsaValidationError
from tests.ui.seed import Seed

NOW = datetime(2026, 1, 16, 9, 0, tzinfo=UTC)


def person(n: int, tenant_id: str, **kw) -> Person:
    user = User(id=f"u{n}", upn=f"user{n}@contoso.example", display_name=f"User {n}", sku_ids=frozenset({"sku"}))
    return Person(user=user, tenant_id=tenant_id, first_name=f"First{n}", last_name=f"Last{n}", **kw)


@pytest.fixture
def world(data_dir):
    context = open_context(data_dir)
    seed = Seed(context)
    psa = FakePsa()
    ids = [psa.add_company("Contoso"), psa.add_company("Fabrikam")]
    companies = context.uow.companies.replace(seed.connection_id, [PsaCompany(id=ids[0], name="Contoso"),
                                                                   PsaCompany(id=ids[1], name="Fabrikam")])
    contoso, fabrikam = sorted(companies, key=lambda c: c.name)
    tenants = {contoso.id: seed.tenant(contoso, "Contoso"), fabrikam.id: seed.tenant(fabrikam, "Fabrikam")}
    users = {tenants[contoso.id]: [person(n, tenants[contoso.id]) for n in range(3)],
             tenants[fabrikam.id]: [person(n, tenants[fabrikam.id]) for n in range(10, 12)]}

    def read(tenant_id: str, with_mailboxes: bool) -> list[Person]:
        if isinstance(users[tenant_id], Exception):
            raise users[tenant_id]
        return list(users[tenant_id])

    class Psas:
        def psa(self, connection_id: int) -> FakePsa:
            return psa

    service = ContactSyncService(context.uow, psas=Psas(), read_people=read, now=lambda: NOW)
    yield service, psa, contoso, fabrikam, users, tenants
    context.close()


def enable(service: ContactSyncService, company_id: int) -> None:
    service.preview(company_id)
    service.save_settings(company_id, enabled=True, options=Options(), actor="amy")


def test_enabling_needs_a_preview_first(world):
    service, _, contoso, *_ = world
    with pytest.raises(ContactSyncRefused, match="preview"):
        service.save_settings(contoso.id, enabled=True, options=Options(), actor="amy")
    assert not service.settings(contoso.id).enabled
    preview = service.preview(contoso.id)
    assert [op.kind.value for op in preview.ops] == ["create"] * 3 and preview.users == 3
    saved = service.save_settings(contoso.id, enabled=True, options=Options(licensed_only=True), actor="amy")
    assert saved.enabled and saved.licensed_only and saved.previewed_at == NOW and saved.updated_by == "amy"


def test_a_create_whose_answer_was_lost_is_settled_by_reading_back_never_made_twice(world):
    service, psa, contoso, *_ = world
    enable(service, contoso.id)
    psa.fail_next("create_contact", PsaUnavailable("connection reset", maybe_applied=True), apply=True)
    first = service.apply(contoso.id, actor="sync")
    assert (len(first.done), len(first.unknown)) == (0, 1)  # the PSA stopped answering: the rest wait
    states = [w.state for w in service.uow.contact_sync.writes(contoso.id)]
    assert states == ["unknown"]

    second = service.apply(contoso.id, actor="sync")
    assert second.settled == 1 and len(second.done) == 2 and not second.unknown
    emails = sorted(c.email for c in psa.list_contacts(contoso.psa_id))
    assert emails == [f"user{n}@contoso.example" for n in range(3)]
    assert {w.state for w in service.uow.contact_sync.writes(contoso.id)} == {"done"}
    audited = [e for e in service.uow.audit.query(company=contoso.psa_id) if e.action == "contact_create"]
    assert len(audited) == 3 and any("lost" in e.reason for e in audited)
    assert len(service.uow.contact_sync.matches(contoso.id)) == 3
    assert service.apply(contoso.id, actor="sync").done == ()


def test_a_write_the_psa_refuses_is_failed_and_the_others_go_on(world):
    service, psa, contoso, *_ = world
    enable(service, contoso.id)
    psa.fail_next("create_contact", PsaValidationError("title too long"))
    result = service.apply(contoso.id, actor="sync")
    assert len(result.done) == 2 and len(result.failed) == 1 and "title too long" in result.failed[0][1]
    assert result.words.startswith("contacts: 2 created; 1 refused (") and "title too long" in result.words
    assert len(service.apply(contoso.id, actor="sync").done) == 1  # tried again: nothing was made


def test_one_company_failing_never_stops_the_others(world):
    service, psa, contoso, fabrikam, users, tenants = world
    enable(service, contoso.id)
    enable(service, fabrikam.id)
    users[tenants[contoso.id]] = RuntimeError("Graph is down")
    said = service.after_billing(None, actor="sync")
    assert said == ["Contoso: contact sync failed: Graph is down", "Fabrikam: contacts: 2 created"]
    assert service.settings(contoso.id).last_result == "contact sync failed: Graph is down"
    assert len(psa.list_contacts(fabrikam.psa_id)) == 2
    assert service.after_billing([fabrikam.id], actor="sync") == []  # nothing new: nothing said
