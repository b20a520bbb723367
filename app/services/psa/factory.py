"""Which PSAs seatsync speaks, what a connection to each needs, and how to open one.

Each kind lists its fields: the settings form is built from them, secrets go
to the keyring (``secret=True``) and everything else to the connection's
settings in the database. An address field (``url=True``) must be https with
a host and no user name, password or fragment: checked when typed (the form's
test, ``PsaKind.check``) and again whenever a connection is opened, so an
address stored earlier or edited in the database is refused too (and the
clients check their addresses once more when built).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.errors import ConfigurationError
from app.services.http import https_url
from app.services.psa.port import PsaPort


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    secret: bool = False
    required: bool = True
    hint: str = ""
    #: An https address; with ``bare_host``, a host name alone is read as https://host (the client does so).
    url: bool = False
    bare_host: bool = False


#: Reads one secret field of the connection being opened.
SecretReader = Callable[[str], str]


@dataclass(frozen=True)
class PsaKind:
    kind: str
    label: str
    fields: tuple[Field, ...]
    open: Callable[[Mapping[str, Any], SecretReader, bool | str], PsaPort]

    def check(self, settings: Mapping[str, Any]) -> None:
        """A clear error naming each required setting that is empty."""
        missing = [f.label for f in self.fields
                   if f.required and not f.secret and not str(settings.get(f.name, "")).strip()]
        if missing:
            raise ConfigurationError(f"the {self.label} connection needs: {', '.join(missing)}")
        for f in self.fields:
            value = str(settings.get(f.name) or "").strip()
            if f.url and value:
                https_url(value if "://" in value or not f.bare_host else f"https://{value}", f"{self.label} {f.label}")


def _connectwise(settings: Mapping[str, Any], secret: SecretReader, verify: bool | str) -> PsaPort:
    from app.services.psa.connectwise.adapter import ConnectWisePsa
    from app.services.psa.connectwise.client import ConnectWiseCredentials

    return ConnectWisePsa.connect(ConnectWiseCredentials(
        site=settings["site"], company_id=settings["company_id"], public_key=settings["public_key"],
        private_key=secret("private_key"), client_id=settings["client_id"]), verify=verify,
        domains_field=settings.get("domains_field") or "M365 Domains")


def _autotask(settings: Mapping[str, Any], secret: SecretReader, verify: bool | str) -> PsaPort:
    from app.services.psa.autotask.adapter import AutotaskPsa
    from app.services.psa.autotask.client import DEFAULT_LOOKUP_URL, AutotaskClient, AutotaskCredentials

    credentials = AutotaskCredentials(username=settings["username"], secret=secret("secret"),
                                      integration_code=settings["integration_code"],
                                      lookup_url=settings.get("lookup_url") or DEFAULT_LOOKUP_URL)
    code = settings.get("charge_billing_code_id")
    return AutotaskPsa(AutotaskClient(credentials, verify=verify),
                       charge_billing_code_id=int(code) if code else None)


def _halopsa(settings: Mapping[str, Any], secret: SecretReader, verify: bool | str) -> PsaPort:
    from app.services.psa.halopsa.adapter import HaloPsaAdapter
    from app.services.psa.halopsa.client import SCOPES, HaloClient, HaloConfig

    config = HaloConfig(api_url=settings["api_url"], client_id=settings["client_id"],
                        client_secret=secret("client_secret"), tenant=settings.get("tenant") or None,
                        auth_url=settings.get("auth_url") or "", scope=settings.get("scope") or SCOPES)
    return HaloPsaAdapter(HaloClient(config, verify=verify))


KINDS: dict[str, PsaKind] = {
    "connectwise": PsaKind("connectwise", "ConnectWise PSA", (
        Field("site", "Site", url=True, bare_host=True, hint="e.g. https://api-na.myconnectwise.net"),
        Field("company_id", "Company ID", hint="the company you log in with"),
        Field("public_key", "Public key"),
        Field("private_key", "Private key", secret=True),
        Field("client_id", "Client ID", hint="from developer.connectwise.com/ClientID"),
        Field("domains_field", "Custom field with M365 domains", required=False),
    ), _connectwise),
    "autotask": PsaKind("autotask", "Datto Autotask PSA", (
        Field("username", "API user name", hint="the API-only user's e-mail address"),
        Field("secret", "API secret", secret=True),
        Field("integration_code", "API tracking identifier", hint="Admin > Resources > the API user"),
        Field("lookup_url", "Zone lookup URL", required=False, url=True, hint="default: Autotask's own"),
        Field("charge_billing_code_id", "Material cost code for prorate charges", required=False),
    ), _autotask),
    "halopsa": PsaKind("halopsa", "HaloPSA", (
        Field("api_url", "Resource server URL", url=True, hint="e.g. https://yourcompany.halopsa.com/api"),
        Field("auth_url", "Authorisation server URL", required=False, url=True,
              hint="default: the same host's /auth"),
        Field("tenant", "Tenant", required=False, hint="Halo-hosted: the first part of its address"),
        Field("client_id", "Client ID"),
        Field("client_secret", "Client secret", secret=True),
        Field("scope", "API scopes", required=False,
              hint="default: read:customers read:contracts read:items read:invoices edit:invoices"),
    ), _halopsa),
}


def psa_kind(kind: str) -> PsaKind:
    try:
        return KINDS[kind]
    except KeyError:
        raise ConfigurationError(f"seatsync does not know the PSA {kind!r}; it knows "
                                 f"{', '.join(sorted(KINDS))}") from None


def open_psa(kind: str, settings: Mapping[str, Any], secret: SecretReader, verify: bool | str = True) -> PsaPort:
    spec = psa_kind(kind)
    spec.check(settings)
    return spec.open(settings, secret, verify)
