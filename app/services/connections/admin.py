"""Connections as the Settings view edits them: PSA accounts and the Microsoft partner app.

"Test and save" tests the values a person typed before anything is stored:
a wrong key is reported with the PSA's (or Microsoft's) own reason and the
stored connection stays as it was. Non-secret settings go to the database,
secrets to the OS keyring (``SecretStore``); a secret is never read
back for display, only whether one is set. A draft's secrets are hidden
from its repr, so neither a log line nor a traceback can show them.

After a PSA connection is saved its companies, agreements (and so its
agreement types) and products are read into the cache (``refresh_catalog``).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from app.errors import ConfigurationError
from app.models.connections import PARTNER_KINDS
from app.models.records import MicrosoftConnectionRecord, PsaConnectionRecord, read_through
from app.services.http import https_url
from app.services.microsoft import ConsentMissing, MicrosoftClients, MicrosoftError, PermissionsMissing
from app.services.microsoft.config import GRAPH_SCOPE, PARTNER_CENTER_SCOPE
from app.services.microsoft.permissions import check_graph_token
from app.services.microsoft.wire import customer_from_partner_center
from app.services.providers import MicrosoftProvider, PsaProvider, microsoft_settings
from app.services.psa.factory import KINDS, PsaKind, psa_kind
from app.services.secrets import MissingSecret, SecretStore, microsoft_secret_key, psa_secret_key
from app.services.uow import UnitOfWork


class AppNotFound(MicrosoftError):
    """Microsoft Entra ID has no app with this client ID in the partner tenant: copy the Application (client)
    ID from the app's registration in Entra ID, and check the partner tenant ID."""


#: How many customer tenants "Test connection" reads licenses from to check consent and GDAP.
TENANTS_CHECKED = 3


def _hidden(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType({k: v for k, v in mapping.items() if v})


@dataclass(frozen=True, kw_only=True)
class PsaDraft:
    """What the PSA connection form holds. ``secrets`` only has the secrets being replaced."""

    kind: str
    name: str
    settings: Mapping[str, str]
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    connection_id: int | None = None

    def __post_init__(self) -> None:
        clean = {k: str(v).strip() for k, v in self.settings.items()}
        object.__setattr__(self, "settings", MappingProxyType(clean))
        object.__setattr__(self, "secrets", _hidden(self.secrets))

    def __repr__(self) -> str:
        return (f"PsaDraft(kind={self.kind!r}, name={self.name!r}, connection_id={self.connection_id!r}, "
                f"secrets replaced={sorted(self.secrets)})")


@dataclass(frozen=True, kw_only=True)
class PsaConnectionSummary:
    record: PsaConnectionRecord
    label: str
    secrets_set: Mapping[str, bool]
    companies: int = 0
    agreements: int = 0
    agreement_types: int = 0
    products: int = 0


@dataclass(frozen=True, kw_only=True)
class CatalogSummary:
    connection_id: int
    companies: int
    agreements: int
    agreement_types: int
    products: int

    @property
    def text(self) -> str:
        return (f"Read {self.companies} companies, {self.agreements} agreements, "
                f"{self.agreement_types} agreement types and {self.products} products.")


#: How each kind of partner account is named (``MicrosoftConnection.kind``).
PARTNER_KIND_LABELS = {"direct": "Direct-bill CSP", "indirect_reseller": "Indirect reseller"}


@dataclass(frozen=True, kw_only=True)
class MicrosoftDraft:
    name: str = "Microsoft partner"
    kind: str = "direct"
    client_id: str
    partner_tenant_id: str
    client_secret: str = field(default="", repr=False)  # empty: keep the stored one
    authority_url: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com"
    partner_center_url: str = "https://api.partnercenter.microsoft.com"
    connection_id: int = 0

    def record(self) -> MicrosoftConnectionRecord:
        return MicrosoftConnectionRecord(
            id=self.connection_id, name=self.name.strip() or "Microsoft partner", kind=self.kind,
            partner_tenant_id=self.partner_tenant_id.strip(), client_id=self.client_id.strip(),
            authority_url=self.authority_url.strip(), graph_url=self.graph_url.strip(),
            partner_center_url=self.partner_center_url.strip())


@dataclass(frozen=True, kw_only=True)
class MicrosoftSummary:
    record: MicrosoftConnectionRecord
    secret_set: bool
    #: Customer tenants read through it.
    tenants: int = 0

    @property
    def kind_label(self) -> str:
        return PARTNER_KIND_LABELS.get(self.record.kind, self.record.kind)


@dataclass(frozen=True, kw_only=True)
class MicrosoftTestResult:
    """Partner-level access works; ``problems`` name customer tenants that are not reachable."""

    customers: int
    tenants_checked: int
    problems: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        head = f"Connected: Partner Center lists {self.customers} customer(s)"
        if not self.tenants_checked:
            return head + "."
        head += f"; licenses read in {self.tenants_checked - len(self.problems)} of {self.tenants_checked} " \
                "tenant(s) checked."
        return "\n".join([head, *self.problems])


class AdminService:
    """The Settings view's connection commands, run on worker threads."""

    def __init__(self, uow: UnitOfWork, *, psas: PsaProvider, microsoft: MicrosoftProvider,
                 secrets: SecretStore) -> None:
        self.uow = uow
        self.psas = psas
        self.microsoft_clients = microsoft
        self.secrets = secrets

    # -- PSA ---------------------------------------------------------------

    @staticmethod
    def kinds() -> list[PsaKind]:
        return list(KINDS.values())

    def psa_connections(self) -> list[PsaConnectionSummary]:
        out = []
        for record in self.uow.psa_connections.all():
            spec = KINDS.get(record.kind)
            secret_fields = [f.name for f in spec.fields if f.secret] if spec else []
            out.append(PsaConnectionSummary(
                record=record, label=spec.label if spec else record.kind,
                secrets_set={name: self.secrets.has(psa_secret_key(record.id, name, record.name))
                             for name in secret_fields},
                companies=len(self.uow.companies.all(record.id)),
                agreements=len(self.uow.catalog.agreements(record.id)),
                agreement_types=len(self.uow.catalog.agreement_types(record.id)),
                products=len(self.uow.catalog.products(record.id))))
        return out

    def test_psa(self, draft: PsaDraft) -> None:
        """Open the PSA with the draft's values and test it; raises the PSA's typed error."""
        spec = self._check(draft)
        psa = spec.open(draft.settings, self._secret_reader(draft, spec), self.psas.verify)
        try:
            psa.test_connection()
        finally:
            close = getattr(psa, "close", None)
            if close is not None:
                close()

    def test_and_save_psa(self, draft: PsaDraft) -> PsaConnectionRecord:
        """Test the draft; only when the PSA accepts it, store it (settings and secrets)."""
        self.test_psa(draft)
        return self.save_psa(draft)

    def save_psa(self, draft: PsaDraft) -> PsaConnectionRecord:
        spec = self._check(draft)
        settings = {f.name: draft.settings.get(f.name, "") for f in spec.fields if not f.secret}
        with self.uow:  # a keyring failure rolls the database back
            if draft.connection_id is None:
                record = self.uow.psa_connections.create(kind=spec.kind, name=draft.name, settings=settings)
            else:
                record = self.uow.psa_connections.update(draft.connection_id, name=draft.name,
                                                             settings=settings)
            for name, value in draft.secrets.items():
                self.secrets.set(psa_secret_key(record.id, name, record.name), value)
        self.psas.forget(record.id)
        return record

    def delete_psa(self, connection_id: int) -> None:
        record = self.uow.psa_connections.get(connection_id)
        self.uow.psa_connections.delete(connection_id)
        self.psas.forget(connection_id)
        spec = KINDS.get(record.kind)
        for f in (spec.fields if spec else ()):
            if f.secret:
                self.secrets.delete(psa_secret_key(connection_id, f.name, record.name))

    def refresh_catalog(self, connection_id: int) -> CatalogSummary:
        """Read the PSA's companies, agreements and products into the cache."""
        psa = self.psas.psa(connection_id)
        companies = psa.list_companies()
        agreements = psa.list_agreements()
        products = psa.list_products()
        with self.uow:
            self.uow.companies.replace(connection_id, companies)
            self.uow.catalog.replace_agreements(connection_id, agreements)
            self.uow.catalog.replace_products(connection_id, products)
        return CatalogSummary(connection_id=connection_id, companies=len(companies), agreements=len(agreements),
                              agreement_types=len(self.uow.catalog.agreement_types(connection_id)),
                              products=len(products))

    def _check(self, draft: PsaDraft) -> PsaKind:
        spec = psa_kind(draft.kind)
        if not draft.name.strip():
            raise ConfigurationError("give the connection a name (e.g. the PSA's company name)")
        spec.check(draft.settings)
        missing = [f.label for f in spec.fields if f.secret and f.required and not draft.secrets.get(f.name)
                   and not (draft.connection_id is not None and self.secrets.has(
                       psa_secret_key(draft.connection_id, f.name, draft.name)))]
        if missing:
            raise ConfigurationError(f"the {spec.label} connection needs: {', '.join(missing)}")
        return spec

    def _secret_reader(self, draft: PsaDraft, spec: PsaKind):
        def read(name: str) -> str:
            if draft.secrets.get(name):
                return draft.secrets[name]
            if draft.connection_id is not None:
                return self.secrets.get(psa_secret_key(draft.connection_id, name, draft.name))
            label = next((f.label for f in spec.fields if f.name == name), name)
            raise MissingSecret(f"enter the {label} of the {spec.label} connection")

        return read

    # -- Microsoft -----------------------------------------------------------

    def microsoft_connections(self) -> list[MicrosoftSummary]:
        """Every partner connection, with whether its secret is set and how many tenants it reads."""
        records = self.uow.microsoft_connections.all()
        tenants = Counter(read_through(records, t.partner_id) for t in self.uow.tenants.all())
        return [MicrosoftSummary(record=r, secret_set=self.secrets.has(microsoft_secret_key(r.id, r.name)),
                                 tenants=tenants[r.id]) for r in records]

    def test_microsoft(self, draft: MicrosoftDraft) -> MicrosoftTestResult:
        """Get a Partner Center token, list customers, and read licenses in a few customer tenants.

        A partner-level failure (client id, secret, Partner Center access) is
        raised; a customer tenant that refuses (consent missing, GDAP expired)
        is listed in the result's problems. Each tenant's Graph token must
        carry every Graph application permission seatsync needs in its roles
        (``permissions.GRAPH_PERMISSIONS``): when every tenant reached lacks
        one, the app lacks it and ``PermissionsMissing`` is raised, naming
        it; when only some do, each is a problem naming what it lacks (its
        admin consented before the permission was added).
        """
        record = self._check_microsoft(draft)
        secret = draft.client_secret or self._stored_secret(record)
        clients = MicrosoftClients.create(microsoft_settings(record, secret, self.microsoft_clients.ca_file))
        try:
            try:
                clients.tokens.token(record.partner_tenant_id, PARTNER_CENTER_SCOPE)
            except ConsentMissing as error:  # AADSTS700016 in the partner's own tenant: no such app
                raise AppNotFound(f"(client ID {record.client_id}: {error.detail.strip('()')})",
                                  tenant_id=error.tenant_id, code=error.code) from None
            customers = list(itertools.islice(clients.partner_center.iter_customers(), 500))
            problems: list[str] = []
            checked = reached = 0
            lacking: list[PermissionsMissing] = []
            for item in customers[:TENANTS_CHECKED]:
                customer = customer_from_partner_center(item)
                checked += 1
                try:
                    token = clients.tokens.token(customer.tenant_id, GRAPH_SCOPE)
                    reached += 1
                    check_graph_token(token, customer.tenant_id)
                    clients.graph.subscribed_skus(customer.tenant_id)
                except PermissionsMissing as error:
                    lacking.append(error)
                    problems.append(_tenant_problem(customer.name, error))
                except MicrosoftError as error:  # consent missing, GDAP expired, ...: that tenant only
                    problems.append(_tenant_problem(customer.name, error))
            if lacking and len(lacking) == reached:
                # Every tenant that gave a token lacks it: the app itself does, not one tenant's consent.
                missing = tuple(sorted({p for error in lacking for p in error.missing}))
                raise PermissionsMissing(f"(the app's tokens lack {', '.join(missing)} in all {reached} customer "
                                         "tenant(s) checked)", missing=missing)
            return MicrosoftTestResult(customers=len(customers), tenants_checked=checked, problems=tuple(problems))
        finally:
            clients.close()

    def test_and_save_microsoft(self, draft: MicrosoftDraft) -> tuple[MicrosoftConnectionRecord, MicrosoftTestResult]:
        result = self.test_microsoft(draft)
        return self.save_microsoft(draft), result

    def test_saved_microsoft(self, connection_id: int) -> MicrosoftTestResult:
        r = self.uow.microsoft_connections.get(connection_id)
        return self.test_microsoft(MicrosoftDraft(
            name=r.name, kind=r.kind, client_id=r.client_id, partner_tenant_id=r.partner_tenant_id,
            authority_url=r.authority_url, graph_url=r.graph_url, partner_center_url=r.partner_center_url,
            connection_id=r.id))

    def save_microsoft(self, draft: MicrosoftDraft) -> MicrosoftConnectionRecord:
        record = self._check_microsoft(draft)
        if not draft.client_secret and not record.id:
            raise ConfigurationError("enter the Microsoft app's client secret")
        with self.uow:
            saved = self.uow.microsoft_connections.save(record)
            if draft.client_secret:
                self.secrets.set(microsoft_secret_key(saved.id, saved.name), draft.client_secret)
        self.microsoft_clients.forget(saved.id)
        return saved

    def delete_microsoft(self, connection_id: int) -> None:
        """Remove a partner connection and its secret; refused while customer tenants belong to it."""
        record = self.uow.microsoft_connections.get(connection_id)
        self.uow.microsoft_connections.delete(connection_id)
        self.microsoft_clients.forget(connection_id)
        self.secrets.delete(microsoft_secret_key(connection_id, record.name))

    def _check_microsoft(self, draft: MicrosoftDraft) -> MicrosoftConnectionRecord:
        """The draft as a record, checked: its IDs and addresses, its kind, and that no other partner connection
        has its name or partner tenant (one connection per partner account)."""
        record = draft.record()
        missing = [label for label, value in (("client ID", record.client_id),
                                              ("partner tenant ID", record.partner_tenant_id)) if not value]
        if missing:
            raise ConfigurationError(f"the Microsoft partner connection needs its {' and '.join(missing)}")
        if record.kind not in PARTNER_KINDS:
            raise ConfigurationError(f"a partner account is {' or '.join(PARTNER_KIND_LABELS.values())}, "
                                     f"not {record.kind!r}")
        for label, url in (("authority", record.authority_url), ("Graph", record.graph_url),
                           ("Partner Center", record.partner_center_url)):
            https_url(url, f"{label} URL")
        for other in self.uow.microsoft_connections.all():
            if other.id == record.id:
                continue
            if other.partner_tenant_id.casefold() == record.partner_tenant_id.casefold():
                raise ConfigurationError(f"partner tenant {record.partner_tenant_id} is already connected as "
                                         f"'{other.name}': edit that connection")
            if other.name.casefold() == record.name.casefold():
                raise ConfigurationError(f"another partner connection is named '{other.name}': give this one a "
                                         "name of its own (the Companies list filters by it)")
        return record

    def _stored_secret(self, record: MicrosoftConnectionRecord) -> str:
        if not record.id:
            raise ConfigurationError("enter the Microsoft app's client secret")
        return self.secrets.get(microsoft_secret_key(record.id, record.name))


def _tenant_problem(name: str, error: MicrosoftError) -> str:
    """One line per tenant: what is wrong and what to do (the error's own docstring), and Microsoft's code."""
    head = " ".join((type(error).__doc__ or str(error)).split())
    if isinstance(error, PermissionsMissing):
        head = f"{head.rstrip('.')}; missing here: {', '.join(error.missing)}."
    return f"{name}: {head}" + (f" [{error.code}]" if error.code else "")



