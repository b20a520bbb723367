"""PSA companies, Microsoft tenants, and which tenant bills to which company."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from app.billing.types import FilterField, UserFilter
from app.models.connections import Company, MicrosoftConnection, PsaConnection, Tenant, TenantCompany
from app.models.records import (
    CompanyLink,
    CompanyRecord,
    ConsentStatus,
    RecordNotFound,
    TenantAccessCheck,
    TenantRecord,
)
from app.models.repositories import summaries
from app.models.repositories._base import Repository, in_chunks
from app.models.repositories.versions import record_change
from app.models.sync import TenantFinding, TenantSyncOutcome

#: ``config_change.kind`` of a tenant's change (the partner connection it is read through).
TENANT_KIND = "tenant"


class CompanyLike(Protocol):
    """What a PSA adapter reports of a company (app.services.psa.port.Company fits)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def identifier(self) -> str: ...
    @property
    def domains(self) -> Sequence[str]: ...
    @property
    def active(self) -> bool: ...


def _company(row: Company) -> CompanyRecord:
    return CompanyRecord(
        id=row.id,
        connection_id=row.connection_id,
        psa_id=row.psa_id,
        name=row.name,
        identifier=row.identifier,
        domains=tuple(row.domains),
        active=row.active,
    )


#: What a PSA's list of companies says of each (the rest of the row is seatsync's: the list's figures).
_PSA_FIELDS = [Company.name, Company.identifier, Company.domains, Company.active]


class Companies(Repository):
    def replace(self, connection_id: int, companies: Iterable[CompanyLike]) -> list[CompanyRecord]:
        """Store the PSA's companies as read now. Companies no longer listed are kept,
        marked inactive, because tenants may still be linked to them."""
        if PsaConnection.get_or_none(PsaConnection.id == connection_id) is None:
            raise RecordNotFound(f"(PSA connection {connection_id})")
        with self.atomic():
            existing = {row.psa_id: row for row in Company.select().where(Company.connection == connection_id)}
            seen = set()
            for company in companies:
                psa_id = str(company.id)
                seen.add(psa_id)
                row = existing.get(psa_id) or Company(connection=connection_id, psa_id=psa_id)
                row.name = company.name
                row.identifier = company.identifier
                row.domains = sorted({d.lower() for d in company.domains})
                row.active = company.active
                # The PSA's own fields only: the list's figures on the row are kept by the writes that change them.
                row.save(only=_PSA_FIELDS if row.id is not None else None)
            for psa_id, row in existing.items():
                if psa_id not in seen and row.active:
                    row.active = False
                    row.save(only=[Company.active])
        return self.all(connection_id)

    def all(self, connection_id: int | None = None) -> list[CompanyRecord]:
        query = Company.select().order_by(Company.name, Company.id)
        if connection_id is not None:
            query = query.where(Company.connection == connection_id)
        return [_company(row) for row in query]

    def get(self, company_id: int) -> CompanyRecord:
        row = Company.get_or_none(Company.id == company_id)
        if row is None:
            raise RecordNotFound(f"(PSA company {company_id})")
        return _company(row)

    def by_psa_id(self, connection_id: int, psa_id: str) -> CompanyRecord | None:
        row = Company.get_or_none((Company.connection == connection_id) & (Company.psa_id == str(psa_id)))
        return None if row is None else _company(row)


def _tenant(row: Tenant) -> TenantRecord:
    return TenantRecord(
        tenant_id=row.tenant_id,
        name=row.name,
        default_domain=row.default_domain,
        verified_domains=tuple(row.verified_domains),
        consent_status=ConsentStatus(row.consent_status),
        partner_id=row.partner_id,
        added_at=row.added_at,
        gdap_state=row.gdap_state or "",
        gdap_ends=row.gdap_ends,
        gdap_detail=row.gdap_detail or "",
        access_checked_at=row.access_checked_at,
    )


def tenant_row(tenant_id: str) -> Tenant:
    """The tenant's row; RecordNotFound naming the tenant when it was never added."""
    row = Tenant.get_or_none(Tenant.tenant_id == tenant_id)
    if row is None:
        raise RecordNotFound(f"(tenant {tenant_id}: add it under Customers first)")
    return row


def _link(row: TenantCompany) -> CompanyLink:
    user_filter = (
        UserFilter(field=FilterField(row.filter_field), value=row.filter_value) if row.filter_field else None
    )
    return CompanyLink(
        tenant_id=row.tenant.tenant_id,
        company_id=row.company_id,
        company_psa_id=row.company.psa_id,
        company_name=row.company.name,
        user_filter=user_filter,
    )


class Tenants(Repository):
    def add(self, record: TenantRecord) -> TenantRecord:
        """Add the tenant, or update its name, domains, consent and partner if known."""
        values = {
            "name": record.name,
            "default_domain": record.default_domain,
            "verified_domains": sorted({d.lower() for d in record.verified_domains}),
            "consent_status": ConsentStatus(record.consent_status).value,
            "partner": record.partner_id,
        }
        with self.atomic():
            row = Tenant.get_or_none(Tenant.tenant_id == record.tenant_id)
            if row is None:
                row = Tenant.create(tenant_id=record.tenant_id, added_at=record.added_at or self._now(), **values)
            else:
                Tenant.update(**values).where(Tenant.id == row.id).execute()
        return self.get(record.tenant_id)

    def get(self, tenant_id: str) -> TenantRecord:
        return _tenant(tenant_row(tenant_id))

    def find(self, tenant_id: str) -> TenantRecord | None:
        row = Tenant.get_or_none(Tenant.tenant_id == tenant_id)
        return None if row is None else _tenant(row)

    def found(self, tenant_ids: Sequence[str]) -> dict[str, TenantRecord]:
        """Those of ``tenant_ids`` that were added, by tenant id (a query per 500)."""
        return {row.tenant_id: _tenant(row) for chunk in in_chunks(tenant_ids)
                for row in Tenant.select().where(Tenant.tenant_id.in_(chunk))}

    def all(self) -> list[TenantRecord]:
        return [_tenant(row) for row in Tenant.select().order_by(Tenant.name, Tenant.id)]

    def set_consent(self, tenant_id: str, status: ConsentStatus | str) -> None:
        status = ConsentStatus(status)
        Tenant.update(consent_status=status.value).where(Tenant.id == tenant_row(tenant_id).id).execute()

    def set_access(self, checked: dict[str, TenantAccessCheck], at: datetime) -> None:
        """Record what a check of the tenants' access found (tenants never added are left out)."""
        with self.atomic():
            for tenant_id, check in checked.items():
                values: dict[str, object] = {"access_checked_at": at}
                if check.consent is not None:
                    values["consent_status"] = ConsentStatus(check.consent).value
                if check.gdap_state is not None:
                    values.update(gdap_state=check.gdap_state, gdap_ends=check.gdap_ends,
                                  gdap_detail=check.gdap_detail)
                Tenant.update(**values).where(Tenant.tenant_id == tenant_id).execute()

    def move(self, tenant_ids: Sequence[str], partner_id: int, *, actor: str = "") -> list[str]:
        """Read these tenants through partner connection ``partner_id`` from now on: the tenants moved (one
        already read through it is left as it is). The consent and GDAP found through the former partner's app
        say nothing of the new one's: they are forgotten, to be checked again. All or none; each audited."""
        with self.atomic():
            target = MicrosoftConnection.get_or_none(MicrosoftConnection.id == partner_id)
            if target is None:
                raise RecordNotFound(f"(partner connection {partner_id} was removed)")
            rows = [tenant_row(tenant_id) for tenant_id in dict.fromkeys(tenant_ids)]
            now = self._now()
            moved = []
            for row in (r for r in rows if r.partner_id != partner_id):
                former = row.partner.name if row.partner is not None else ""
                Tenant.update(partner=partner_id, consent_status=ConsentStatus.UNKNOWN.value, gdap_state=None,
                              gdap_ends=None, gdap_detail=None, access_checked_at=None).where(
                    Tenant.id == row.id).execute()
                record_change(kind=TENANT_KIND, key=row.tenant_id, action="changed",
                              before={"name": row.name, "partner": former},
                              after={"name": row.name, "partner": target.name}, actor=actor, at=now)
                moved.append(row.tenant_id)
        return moved

    def set_consents(self, statuses: dict[str, ConsentStatus]) -> None:
        """Each tenant's consent status (tenants not added are passed over): one statement per status."""
        by_status: dict[ConsentStatus, list[str]] = {}
        for tenant_id, status in statuses.items():
            by_status.setdefault(ConsentStatus(status), []).append(tenant_id)
        for status, tenant_ids in by_status.items():
            for chunk in in_chunks(tenant_ids):
                Tenant.update(consent_status=status.value).where(Tenant.tenant_id.in_(chunk)).execute()

    def remove(self, tenant_id: str) -> None:
        """Remove the tenant with its links, mappings, exclusions, snapshots, last sync outcome and findings (the
        audit stays)."""
        with self.atomic():
            companies = summaries.companies_of(tenant_id)
            tenant_row(tenant_id).delete_instance()
            TenantSyncOutcome.delete().where(TenantSyncOutcome.tenant_id == tenant_id).execute()
            TenantFinding.delete().where(TenantFinding.tenant_id == tenant_id).execute()
            summaries.refresh(companies)

    # --- tenant <-> company -------------------------------------------------

    def link(self, tenant_id: str, company_id: int, user_filter: UserFilter | None = None) -> CompanyLink:
        tenant = tenant_row(tenant_id)
        company = Company.get_or_none(Company.id == company_id)
        if company is None:
            raise RecordNotFound(f"(PSA company {company_id})")
        field, value = (user_filter.field.value, user_filter.value.strip()) if user_filter else ("", "")
        with self.atomic():
            row = TenantCompany.get_or_none(
                (TenantCompany.tenant == tenant)
                & (TenantCompany.company == company)
                & (TenantCompany.filter_field == field)
                & (TenantCompany.filter_value == value)
            )
            if row is None:
                row = TenantCompany.create(
                    tenant=tenant, company=company, filter_field=field, filter_value=value, created_at=self._now()
                )
                summaries.refresh([company.id])
        return _link(row)

    def unlink(self, tenant_id: str, company_id: int, user_filter: UserFilter | None = None) -> bool:
        field, value = (user_filter.field.value, user_filter.value.strip()) if user_filter else ("", "")
        with self.atomic():
            removed = bool(
                TenantCompany.delete()
                .where(
                    (TenantCompany.tenant == tenant_row(tenant_id))
                    & (TenantCompany.company == company_id)
                    & (TenantCompany.filter_field == field)
                    & (TenantCompany.filter_value == value)
                )
                .execute()
            )
            if removed:
                summaries.refresh([company_id])
        return removed

    def links_of_tenant(self, tenant_id: str) -> list[CompanyLink]:
        return self._links(TenantCompany.tenant == tenant_row(tenant_id))

    def links_of_tenants(self, tenant_ids: Sequence[str]) -> list[CompanyLink]:
        """The links of ``tenant_ids``, a query per 500 tenants."""
        return [link for chunk in in_chunks(tenant_ids) for link in self._links(Tenant.tenant_id.in_(chunk))]

    def links_of_company(self, company_id: int) -> list[CompanyLink]:
        return self._links(TenantCompany.company == company_id)

    def linked_companies(self) -> int:
        """How many PSA companies a tenant is billed to."""
        return TenantCompany.select(TenantCompany.company).distinct().count()

    def all_links(self) -> list[CompanyLink]:
        """Every tenant's links, in one query."""
        return self._links(True)

    @staticmethod
    def _links(condition) -> list[CompanyLink]:
        query = (
            TenantCompany.select(TenantCompany, Tenant, Company)
            .join(Tenant)
            .switch(TenantCompany)
            .join(Company)
            .where(condition)
            .order_by(Tenant.name, Company.name, TenantCompany.id)
        )
        return [_link(row) for row in query]

