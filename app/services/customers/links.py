"""Which tenants bill to a company, and for which of their users (DESIGN §1.4).

One tenant may bill to several PSA companies, each for the users a filter
selects (office, department, city, state, UPN domain); one company may have
several tenants. The rule that keeps every seat billed once: either no link
of a tenant has a filter (its licenses are shared out by mapping: a license
row has one mapping, so it bills to one company), or every link filters on
the same field with different values, so no user matches two links.

Changing a link's filter re-keys the company's mappings of that tenant that
followed the old filter, in one transaction; the planner then stops the
lines of the old rows at the end of their period and starts the new rows
the day after (docs/billing.md, "Retired rows"). Unlinking removes the
link's mappings, and is refused while seatsync still bills lines of it: a
sync reaches a tenant only through its links.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.billing.operations import OpKind
from app.billing.types import FilterField, Mapping, UserFilter
from app.errors import SeatsyncError
from app.models.records import CompanyLink, CompanyRecord, JournalState
from app.services.uow import UnitOfWork, connected

FIELD_LABELS = {
    FilterField.OFFICE: "office",
    FilterField.DEPARTMENT: "department",
    FilterField.CITY: "city",
    FilterField.STATE: "state",
    FilterField.UPN_DOMAIN: "UPN domain",
}


class LinkRefused(SeatsyncError):
    """This link would bill a seat twice, or is not complete."""


def describe(user_filter: UserFilter | None) -> str:
    if user_filter is None:
        return "all users"
    return f"users whose {FIELD_LABELS[user_filter.field]} is {user_filter.value}"


@dataclass(frozen=True, kw_only=True)
class TenantChoice:
    tenant_id: str
    name: str


@dataclass(frozen=True, kw_only=True)
class CompanyChoice:
    id: int
    name: str
    connection: str


@dataclass(frozen=True, kw_only=True)
class LinkRow:
    """One link of a tenant that bills to the company being edited (links to other companies included)."""

    link: CompanyLink
    tenant_name: str
    mappings: int  # the company's mappings of the tenant this link carries

    @property
    def users(self) -> str:
        return describe(self.link.user_filter)


@dataclass(frozen=True, kw_only=True)
class CompanyLinks:
    company: CompanyRecord
    rows: tuple[LinkRow, ...]
    tenants: tuple[TenantChoice, ...]
    companies: tuple[CompanyChoice, ...]


def _same(a: UserFilter | None, b: UserFilter | None) -> bool:
    return (a.key if a else "") == (b.key if b else "")


def check_links(tenant_name: str, filters: list[tuple[str, UserFilter | None]]) -> None:
    """Refuse a set of links of one tenant (company name, filter) that could bill a user twice."""
    for company, user_filter in filters:
        if user_filter is not None and not user_filter.value.strip():
            raise LinkRefused(f"(type the {FIELD_LABELS[user_filter.field]} of the users {tenant_name} bills to "
                              f"{company})")
    if len(filters) < 2:
        return
    unfiltered = [company for company, user_filter in filters if user_filter is None]
    if len(unfiltered) == len(filters):
        return  # each license row has one mapping: it bills to one of the companies
    if unfiltered:
        raise LinkRefused(f"({tenant_name} bills all its users to {unfiltered[0]}: give that link a filter first, "
                          "so no user is billed to two companies)")
    fields = {user_filter.field for _, user_filter in filters if user_filter is not None}
    if len(fields) > 1:
        named = " and ".join(sorted(FIELD_LABELS[f] for f in fields))
        raise LinkRefused(f"(the links of {tenant_name} filter on {named}: filter every link on the same field, "
                          "so no user matches two)")
    seen: dict[str, str] = {}
    for company, user_filter in filters:
        assert user_filter is not None
        if user_filter.key in seen:
            raise LinkRefused(f"({describe(user_filter)} of {tenant_name} already bill to {seen[user_filter.key]})")
        seen[user_filter.key] = company


class LinkService:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def links(self, company_id: int) -> CompanyLinks:
        with connected():
            company = self.uow.companies.get(company_id)
            tenants = {t.tenant_id: t for t in self.uow.tenants.all()}
            own = {link.tenant_id for link in self.uow.tenants.links_of_company(company_id)}
            rows = []
            for link in self.uow.tenants.all_links():
                if link.tenant_id in own:
                    count = len(self._carried(link))
                    rows.append(LinkRow(link=link, tenant_name=tenants[link.tenant_id].name, mappings=count))
            connections = {c.id: c.name for c in self.uow.psa_connections.all()}
            companies = tuple(CompanyChoice(id=c.id, name=c.name, connection=connections.get(c.connection_id, ""))
                              for c in self.uow.companies.all() if c.active or c.id == company_id)
        rows.sort(key=lambda r: (r.tenant_name.lower(), r.link.company_id != company_id, r.link.company_name.lower()))
        return CompanyLinks(company=company, rows=tuple(rows), companies=companies,
                            tenants=tuple(TenantChoice(tenant_id=t.tenant_id, name=t.name) for t in tenants.values()))

    def link(self, tenant_id: str, company_id: int, user_filter: UserFilter | None,
             replacing: CompanyLink | None = None, *, actor: str = "") -> CompanyLink:
        """Link the tenant to the company for the users ``user_filter`` selects (None: all of them).

        With ``replacing`` (a link of the same tenant and company), its filter changes and the mappings it
        carried follow the new filter.
        """
        if user_filter is not None:
            user_filter = UserFilter(field=user_filter.field, value=user_filter.value.strip())
        with self.uow:
            tenant = self.uow.tenants.get(tenant_id)
            company = self.uow.companies.get(company_id)
            links = self.uow.tenants.links_of_tenant(tenant_id)
            if replacing is not None and (replacing.tenant_id, replacing.company_id) != (tenant_id, company_id):
                raise LinkRefused("(a link changes its filter only: unlink it and link the other company instead)")
            if replacing is None and any(k.company_id == company_id and _same(k.user_filter, user_filter)
                                         for k in links):
                raise LinkRefused(f"({tenant.name} already bills {describe(user_filter)} to {company.name})")
            kept = [k for k in links if not (replacing is not None and k.company_id == replacing.company_id
                                             and _same(k.user_filter, replacing.user_filter))]
            check_links(tenant.name, [(k.company_name, k.user_filter) for k in kept]
                        + [(company.name, user_filter)])
            if replacing is not None:
                carried = self._carried(replacing)
                self.uow.tenants.unlink(tenant_id, company_id, replacing.user_filter)
                for mapping in carried:
                    self.uow.mappings.delete(mapping.row, actor=actor)
                    self.uow.mappings.save(replace(mapping, user_filter=user_filter), actor=actor)
            return self.uow.tenants.link(tenant_id, company_id, user_filter)

    def unlink(self, link: CompanyLink, *, actor: str = "") -> int:
        """Remove the link and the mappings it carried; refused while seatsync still bills lines of it.

        A sync reaches a tenant through its links: once unlinked, lines it left open on the company's
        agreements would never be stopped. Removing the mappings and syncing stops them first.
        """
        with self.uow:
            billing = self._open_lines(link)
            if billing:
                tenant, company = self.uow.tenants.get(link.tenant_id), self.uow.companies.get(link.company_id)
                raise LinkRefused(f"({billing} line(s) of {tenant.name} on {company.name}'s agreements are still "
                                  "billed by seatsync: remove their mappings in the license table and sync, so the "
                                  "lines stop at the end of the period; then unlink)")
            carried = self._carried(link)
            for mapping in carried:
                self.uow.mappings.delete(mapping.row, actor=actor)
            self.uow.tenants.unlink(link.tenant_id, link.company_id, link.user_filter)
        return len(carried)

    def _agreements(self, link: CompanyLink) -> set[str]:
        company = self.uow.companies.get(link.company_id)
        return {a.id for a in self.uow.catalog.agreements(company.connection_id, company.psa_id)}

    def _carried(self, link: CompanyLink) -> list[Mapping]:
        """The company's mappings of the link's tenant that follow the link's filter."""
        agreements = self._agreements(link)
        return [m for m in self.uow.mappings.for_tenant(link.tenant_id)
                if m.agreement_id in agreements and _same(m.user_filter, link.user_filter)]

    def _open_lines(self, link: CompanyLink) -> int:
        """Main lines seatsync created for the link's rows on the company's agreements and never cancelled."""
        agreements, key = self._agreements(link), link.user_filter.key if link.user_filter else None
        open_markers: set[str] = set()
        for record in self.uow.journal.in_state(JournalState.DONE, tenant_id=link.tenant_id):
            op = record.operation()
            if op.agreement_id not in agreements or (key is not None and op.row.filter_key != key):
                continue
            if op.kind is OpKind.CREATE_LINE:
                open_markers.add(op.marker)
            elif op.kind is OpKind.CANCEL_LINE:
                open_markers.discard(op.marker)
        return len(open_markers)
