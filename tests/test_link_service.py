"""Tenants billed to several companies by a user filter: the links and the rule that no user bills twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from app.billing.markers import main_marker
from app.billing.operations import Operation, OpKind
from app.billing.types import FilterField, Mapping, UserFilter
from app.bootstrap import open_context
from app.services.customers.links import LinkRefused, check_links
from tests.ui.seed import SPB, Seed


def office(value: str) -> UserFilter:
    return UserFilter(field=FilterField.OFFICE, value=value)


@pytest.fixture
def context(data_dir):
    ctx = open_context(data_dir)
    yield ctx
    ctx.close()


@pytest.fixture
def world(context):
    """Contoso's tenant billed to Contoso Dental for every user; a mapped license; Contoso Labs unlinked."""
    seed = Seed(context)
    dental, labs = seed.company("Contoso Dental"), seed.company("Contoso Labs")
    tenant = seed.tenant(dental, "Contoso")
    agreement = seed.agreement(dental, "Dental - Managed 365")
    seed.agreement(labs, "Labs - Managed 365")
    profile = seed.profile("M365 BP", identifier="M365-BP", description="Microsoft 365 Business Premium",
                           price="22.00")
    mapping = context.uow.mappings.save(Mapping(tenant_id=tenant, sku_id=SPB, profile=profile,
                                            agreement_id=agreement.id))
    return dental, labs, tenant, mapping


CHECKS = [
    ("one link for all users", [("A", None)], None),
    ("licenses shared out between two companies", [("A", None), ("B", None)], None),
    ("two links on one field, different values", [("A", office("Leeds")), ("B", office("York"))], None),
    ("a second link beside one for all users", [("A", None), ("B", office("York"))], "bills all its users to A"),
    ("two fields could overlap", [("A", office("Leeds")), ("B", UserFilter(field=FilterField.CITY, value="York"))],
     "filter on city and office"),
    ("the same users twice", [("A", office("Leeds")), ("B", office(" leeds "))], "already bill to A"),
    ("a filter without a value", [("A", office("  "))], "type the office"),
]


@pytest.mark.parametrize(("name", "links", "refusal"), CHECKS, ids=[c[0] for c in CHECKS])
def test_the_links_of_one_tenant_never_bill_a_user_twice(name, links, refusal):
    if refusal is None:
        check_links("Contoso", links)
    else:
        with pytest.raises(LinkRefused, match=refusal):
            check_links("Contoso", links)


def test_splitting_a_tenant_narrows_the_first_link_and_its_mappings_then_links_the_second(context, world):
    dental, labs, tenant, mapping = world
    service = context.links
    whole = context.uow.tenants.links_of_tenant(tenant)[0]
    with pytest.raises(LinkRefused, match="bills all its users to Contoso Dental"):
        service.link(tenant, labs.id, office("York"))

    service.link(tenant, dental.id, office("Leeds "), replacing=whole)
    service.link(tenant, labs.id, office("York"))

    links = {(k.company_name, k.user_filter.value) for k in context.uow.tenants.links_of_tenant(tenant)}
    assert links == {("Contoso Dental", "Leeds"), ("Contoso Labs", "York")}
    [moved] = context.uow.mappings.for_tenant(tenant)
    assert moved.user_filter == office("Leeds") and moved.agreement_id == mapping.agreement_id
    view = service.links(labs.id)
    assert [(r.link.company_name, r.users, r.mappings) for r in view.rows] == [
        ("Contoso Labs", "users whose office is York", 0), ("Contoso Dental", "users whose office is Leeds", 1)]


def test_a_refused_change_changes_nothing(context, world):
    dental, labs, tenant, mapping = world
    service = context.links
    service.link(tenant, dental.id, office("Leeds"), replacing=context.uow.tenants.links_of_tenant(tenant)[0])
    service.link(tenant, labs.id, office("York"))
    leeds = next(k for k in context.uow.tenants.links_of_tenant(tenant) if k.company_id == dental.id)
    with pytest.raises(LinkRefused, match="already bill to Contoso Labs"):
        service.link(tenant, dental.id, office("york"), replacing=leeds)
    with pytest.raises(LinkRefused, match="bills all its users"):
        service.link(tenant, dental.id, None, replacing=leeds)
    assert {k.user_filter.value for k in context.uow.tenants.links_of_tenant(tenant)} == {"Leeds", "York"}
    assert [m.user_filter for m in context.uow.mappings.for_tenant(tenant)] == [office("Leeds")]


def test_unlinking_removes_the_mappings_the_link_carried(context, world):
    dental, labs, tenant, mapping = world
    service = context.links
    [whole] = context.uow.tenants.links_of_tenant(tenant)
    assert service.unlink(whole) == 1
    assert context.uow.tenants.links_of_tenant(tenant) == [] and context.uow.mappings.for_tenant(tenant) == []


def test_unlinking_is_refused_while_seatsync_still_bills_a_line_of_the_link(context, world):
    dental, labs, tenant, mapping = world
    [whole] = context.uow.tenants.links_of_tenant(tenant)
    written = Operation(key="v1-create", kind=OpKind.CREATE_LINE, row=mapping.row, agreement_id=mapping.agreement_id,
                        product_id=mapping.profile.product.id, marker=main_marker(mapping.row),
                        effective=date(2026, 11, 1), quantity=10)
    context.uow.journal.begin(written)
    context.uow.journal.mark_done(written.key, psa_record_id="9001")
    with pytest.raises(LinkRefused, match=r"1 line.* of Contoso on Contoso Dental's agreements are still billed"):
        context.links.unlink(whole)
    uow = context.uow
    assert uow.tenants.links_of_tenant(tenant) == [whole] and uow.mappings.for_tenant(tenant) == [mapping]

    # The mapping removed and synced: the line is cancelled from the next period, and the link may go.
    context.uow.mappings.delete(mapping.row)
    cancel = replace(written, key="v1-cancel", kind=OpKind.CANCEL_LINE, line_id="9001", quantity=0, before=10)
    context.uow.journal.begin(cancel)
    context.uow.journal.mark_done(cancel.key)
    assert context.links.unlink(whole) == 0
    assert context.uow.tenants.links_of_tenant(tenant) == []


def test_two_companies_share_a_tenants_licenses_without_filters_each_row_mapped_once(context, world):
    dental, labs, tenant, mapping = world
    context.links.link(tenant, labs.id, None)
    assert {k.company_name for k in context.uow.tenants.links_of_tenant(tenant)} == {"Contoso Dental", "Contoso Labs"}
    labs_agreement = context.uow.catalog.agreements(labs.connection_id, labs.psa_id)[0]
    context.uow.mappings.save(replace(mapping, agreement_id=labs_agreement.id))  # the license moves to Labs
    assert [m.agreement_id for m in context.uow.mappings.for_tenant(tenant)] == [labs_agreement.id]


def test_a_company_gets_a_second_tenant(context, world):
    dental, labs, tenant, _ = world
    other = Seed(context).tenant(None, "Fabrikam", tenant_id="f0000000-0000-4000-8000-000000000001")
    service = context.links
    service.link(other, dental.id, None)
    with pytest.raises(LinkRefused, match="already bills all users to Contoso Dental"):
        service.link(other, dental.id, None)
    assert {r.tenant_name for r in service.links(dental.id).rows} == {"Contoso", "Fabrikam"}
