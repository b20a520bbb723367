"""The PSAs seatsync speaks: one registry entry each (``KINDS``), and how to open a connection.

An entry names its kind, which is also the name of its folder,
app/services/psa/<kind>/ (``adapter.py``, ``client.py``, ``wire.py``,
``errors.py``): its adapter module opens a connection
(``open_connection(settings, secret, verify)``) and is imported only then,
or with the window (``PsaKind.adapter``). The entry also gives the labels
messages and forms use, the fields a connection needs, which of them show as
its address, and the side the sandbox world builds from app/sandbox/<kind>/.
Nothing else lists the PSAs: the database takes its kinds from here
(app/models/connections.py), the keyring's messages their names, the
Settings view their addresses.

The settings form is built from the fields: secrets go to the keyring
(``secret=True``) and everything else to the connection's settings in the
database. An address field (``url=True``) must be https with a host and no
user name, password or fragment: checked when typed (the form's test,
``PsaKind.check``) and again whenever a connection is opened, so an address
stored earlier or edited in the database is refused too (and the clients
check their addresses once more when built).
"""

from __future__ import annotations

import importlib
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
    #: How messages name it, e.g. "ConnectWise 'Main' has no private key stored".
    short_label: str
    fields: tuple[Field, ...]
    #: The settings that show as a connection's address: the first one set.
    address: tuple[str, ...] = ()
    #: The sandbox world's side of this PSA, "module:Class" (app/sandbox/world_psas.py); "": none.
    sandbox: str = ""

    @property
    def adapter(self) -> str:
        """The module that puts this PSA behind the port and opens a connection (``open_connection``)."""
        return f"app.services.psa.{self.kind}.adapter"

    def address_of(self, settings: Mapping[str, Any]) -> str:
        return next((str(settings[name]) for name in self.address if settings.get(name)), "")

    def open(self, settings: Mapping[str, Any], secret: SecretReader, verify: bool | str) -> PsaPort:
        opener: Callable[[Mapping[str, Any], SecretReader, bool | str], PsaPort]
        opener = importlib.import_module(self.adapter).open_connection
        return opener(settings, secret, verify)

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


def _registry(*kinds: PsaKind) -> dict[str, PsaKind]:
    return {spec.kind: spec for spec in kinds}


KINDS: dict[str, PsaKind] = _registry(
    PsaKind("connectwise", "ConnectWise PSA", "ConnectWise", (
        Field("site", "Site", url=True, bare_host=True, hint="e.g. https://api-na.myconnectwise.net"),
        Field("company_id", "Company ID", hint="the company you log in with"),
        Field("public_key", "Public key"),
        Field("private_key", "Private key", secret=True),
        Field("client_id", "Client ID", hint="from developer.connectwise.com/ClientID"),
        Field("domains_field", "Custom field with M365 domains", required=False),
    ), address=("site",), sandbox="app.sandbox.connectwise.side:ConnectWiseSide"),
    # Autotask's address: its zone lookup (the zone is found from the API user), else the API user,
    # which names the Autotask database.
    PsaKind("autotask", "Datto Autotask PSA", "Autotask", (
        Field("username", "API user name", hint="the API-only user's e-mail address"),
        Field("secret", "API secret", secret=True),
        Field("integration_code", "API tracking identifier", hint="Admin > Resources > the API user"),
        Field("lookup_url", "Zone lookup URL", required=False, url=True, hint="default: Autotask's own"),
        Field("charge_billing_code_id", "Material cost code for prorate charges", required=False),
    ), address=("lookup_url", "zone", "username"), sandbox="app.sandbox.autotask.side:AutotaskSide"),
    PsaKind("halopsa", "HaloPSA", "HaloPSA", (
        Field("api_url", "Resource server URL", url=True, hint="e.g. https://yourcompany.halopsa.com/api"),
        Field("auth_url", "Authorisation server URL", required=False, url=True,
              hint="default: the same host's /auth"),
        Field("tenant", "Tenant", required=False, hint="Halo-hosted: the first part of its address"),
        Field("client_id", "Client ID"),
        Field("client_secret", "Client secret", secret=True),
        Field("scope", "API scopes", required=False,
              hint="default: read:customers read:contracts read:items read:invoices edit:invoices"),
    ), address=("api_url", "url"), sandbox="app.sandbox.halopsa.side:HaloSide"),
)


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
