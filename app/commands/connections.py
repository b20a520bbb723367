"""``connections``: the PSA and Microsoft partner connections, set up without the window.

``add`` checks the settings as the window's connection dialogs do, tests the
connection with them and stores it only when the PSA (or Microsoft) accepts
it: the settings in seatsync's database, the secrets in the keyring, where
the window and ``run-scheduler`` read them (``app.services.connections.admin``). A secret
is never read from the command line: from its environment variable, else
asked for on a terminal, else one line of standard input each.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.commands.common import BadArguments, app_context, error_line, is_terminal
from app.commands.render import table
from app.errors import ConfigurationError, SeatsyncError
from app.services.http import InsecureAddress, https_url
from app.services.psa.factory import KINDS, Field, PsaKind

if TYPE_CHECKING:
    from app.models.records import MicrosoftConnectionRecord, PsaConnectionRecord
    from app.services.container import Services
    from app.services.secrets import SecretKey

MICROSOFT_LABEL = "Microsoft partner"
#: ``--kind``'s choices, and the partner account kind each stores.
PARTNER_KIND_OPTIONS = {"direct": "direct", "indirect-reseller": "indirect_reseller"}
MICROSOFT_SECRET_ENV = "SEATSYNC_MICROSOFT_CLIENT_SECRET"
#: The Microsoft endpoints' options, their labels and defaults (the window's "Advanced: endpoints").
MICROSOFT_URLS = (("authority_url", "authority URL", "https://login.microsoftonline.com"),
                  ("graph_url", "Graph URL", "https://graph.microsoft.com"),
                  ("partner_center_url", "Partner Center URL", "https://api.partnercenter.microsoft.com"))


class ConnectionNotStored(SeatsyncError):
    """The connection test failed, so nothing was stored"""


class CatalogNotRead(SeatsyncError):
    """The connection is stored, but its companies, agreements and products could not be read"""


@dataclass(frozen=True)
class Secret:
    """A secret ``add`` needs: where it goes (``name``), what it is called, its environment variable."""

    name: str
    label: str
    env: str


def option(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def psa_secrets(spec: PsaKind) -> list[Secret]:
    """The kind's secrets, in the order standard input gives them."""
    return [Secret(f.name, f"{spec.label} {f.label}", f"SEATSYNC_PSA_{f.name.upper()}")
            for f in spec.fields if f.secret]


MICROSOFT_SECRETS = [Secret("client_secret", "Microsoft app's client secret", MICROSOFT_SECRET_ENV)]
#: Every PSA secret, for refusing its option whatever the kind.
PSA_SECRETS = {s.name: s for spec in KINDS.values() for s in psa_secrets(spec)}


def _secret_table() -> str:
    rows = [(spec.label, f.label, f"SEATSYNC_PSA_{f.name.upper()}") for spec in KINDS.values()
            for f in spec.fields if f.secret]
    rows.append((MICROSOFT_LABEL, "Client secret", MICROSOFT_SECRET_ENV))
    return "\n".join(f"  {kind:<20} {label:<15} {env}" for kind, label, env in rows)


SECRETS_HELP = f"""\
A secret is never an option (the process list and the shell's history would
show it): it comes from its environment variable, else it is asked for (not
echoed) on a terminal, else read from standard input, one line each:

{_secret_table()}"""

DESCRIPTION = f"""\
The PSA and Microsoft partner connections, for a server without the window.

  connections list [--json]                  every connection; whether its secrets are in the keyring
  connections add psa --kind KIND --name NAME [the kind's settings]
  connections add microsoft --client-id ID --partner-tenant-id ID [--name NAME] [--kind KIND]
                                             one per partner tenant (a direct-bill or
                                             indirect reseller's account)
  connections test [NAME]                    connect with what is stored; exit 1 if any fails
  connections refresh [NAME]                 read the PSA's companies, agreements and products again

add checks the settings as the window does, tests the connection, and stores
it only when the PSA (or Microsoft) accepts it: settings in seatsync's
database, secrets in the keyring, where the window and run-scheduler find
them. Nothing is stored when a setting is missing or invalid (exit 2) or the
test fails (exit 1).

{SECRETS_HELP}
"""


def _description(text: str) -> str:
    return textwrap.fill(text, 79) + "\n\n" + SECRETS_HELP


# -- the parsers -----------------------------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("connections", help="list, add or test the PSA and Microsoft connections",
                                   description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every connection, and whether its secrets are in the keyring")
    listing.add_argument("--json", action="store_true", help="print JSON, for scripts (never a secret)")
    adding = actions.add_parser("add", help="test and store a PSA or the Microsoft partner connection",
                                description=_description("Test a connection and store it when it works."),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    which = adding.add_subparsers(dest="side", metavar="psa|microsoft", required=True)
    _add_psa_parser(which)
    _add_microsoft_parser(which)
    testing = actions.add_parser("test", help="connect with the stored settings and secrets; exit 1 if any fails")
    testing.add_argument("name", nargs="?", metavar="NAME", help="only the connection of this name")
    refreshing = actions.add_parser("refresh", help="read the PSA's companies, agreements and products again "
                                                    "(new PSA companies, before `tenants match`)")
    refreshing.add_argument("name", nargs="?", metavar="NAME", help="only the PSA connection of this name")
    parser.set_defaults(func=run)


def _refuse_secret_options(parser: argparse.ArgumentParser, names: Iterable[str]) -> None:
    """Secret options are accepted only to be refused with what to do instead (never echoing them)."""
    for name in names:
        parser.add_argument(option(name), dest=f"argv_{name}", nargs="?", const="", default=None,
                            help=argparse.SUPPRESS)


def _add_psa_parser(which: argparse._SubParsersAction) -> None:
    parser = which.add_parser("psa", help="a PSA connection (ConnectWise PSA, Datto Autotask PSA or HaloPSA)",
                              description=_description(
                                  "Test a PSA connection and store it only when the PSA accepts it, then read its "
                                  "companies, agreements and products. --url is the kind's address option."),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", required=True, choices=sorted(KINDS), help="which PSA")
    parser.add_argument("--name", required=True, help="the connection's name (e.g. the PSA's company name)")
    parser.add_argument("--url", metavar="URL", help="the PSA's address: ConnectWise --site, HaloPSA --api-url, "
                                                     "Autotask --lookup-url")
    kinds_of: dict[str, list[tuple[str, Field]]] = {}
    for spec in KINDS.values():
        for f in spec.fields:
            if not f.secret:
                kinds_of.setdefault(f.name, []).append((spec.label, f))
    added: set[str] = set()
    for spec in KINDS.values():
        group = parser.add_argument_group(f"{spec.label} (--kind {spec.kind})")
        for f in spec.fields:
            if f.secret or f.name in added:
                continue
            added.add(f.name)
            help_text = f.label + ("" if f.required else " (optional)") + (f"; {f.hint}" if f.hint else "")
            if len(kinds_of[f.name]) > 1:
                help_text = f.label + " (" + "; ".join(label + (f": {g.hint}" if g.hint else "")
                                                       for label, g in kinds_of[f.name]) + ")"
            group.add_argument(option(f.name), dest=f.name, metavar="URL" if f.url else "VALUE", help=help_text)
    _refuse_secret_options(parser, sorted(PSA_SECRETS))
    parser.set_defaults(add=add_psa)


def _add_microsoft_parser(which: argparse._SubParsersAction) -> None:
    parser = which.add_parser("microsoft", help="a Microsoft partner connection (one per partner tenant)",
                              description=_description(
                                  "Test a Microsoft partner connection (a partner account's app registration in "
                                  "Entra ID) and store it only when Microsoft accepts it. seatsync keeps one "
                                  "connection per partner tenant: a partner tenant stored before is replaced, "
                                  "another is added beside it (give each its own --name)."),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client-id", required=True, metavar="ID", help="the app's Application (client) ID")
    parser.add_argument("--partner-tenant-id", required=True, metavar="ID", help="the partner's own tenant ID")
    parser.add_argument("--name", default=MICROSOFT_LABEL, help=f"the connection's name (default {MICROSOFT_LABEL})")
    parser.add_argument("--kind", choices=sorted(PARTNER_KIND_OPTIONS), default="direct",
                        help="the Partner Center account: a direct-bill CSP's (direct, the default) or an indirect "
                             "reseller's (indirect-reseller)")
    for name, label, default in MICROSOFT_URLS:
        parser.add_argument(option(name), dest=name, default=default, metavar="URL",
                            help=f"the {label} (default {default})")
    _refuse_secret_options(parser, ["client_secret"])
    parser.set_defaults(add=add_microsoft)


# -- running them ----------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    if args.action == "add":
        return args.add(args)
    with app_context() as context:
        if args.action == "list":
            return list_connections(context, as_json=args.json)
        if args.action == "refresh":
            return refresh_catalogs(context, args.name)
        return try_connections(context, args.name)


def not_stored(what: str, problems: list[str]) -> BadArguments:
    return BadArguments(f"the {what} was not stored; fix this and run the command again:\n"
                        + "\n".join(f"  {p}" for p in problems))


def secrets_on_argv(args: argparse.Namespace, secrets: Iterable[Secret]) -> list[str]:
    """A problem for each secret given as an option (its value is never repeated)."""
    return [f"{option(s.name)}: seatsync never takes a secret on the command line (the process list and the "
            f"shell's history would show it); leave it out and set {s.env}, type it when asked, or give it on "
            "standard input" for s in secrets if getattr(args, f"argv_{s.name}", None) is not None]


def psa_settings(args: argparse.Namespace) -> tuple[PsaKind, dict[str, str]]:
    """The kind and its non-secret settings from the options; BadArguments naming every problem."""
    spec = KINDS[args.kind]
    own = [f for f in spec.fields if not f.secret]
    problems = secrets_on_argv(args, [PSA_SECRETS[name] for name in sorted(PSA_SECRETS)])
    if not args.name.strip():
        problems.append("--name: give the connection a name (e.g. the PSA's company name)")
    others = sorted({f.name for s in KINDS.values() for f in s.fields if not f.secret} - {f.name for f in own})
    foreign = [option(name) for name in others if getattr(args, name) is not None]
    if foreign:
        problems.append(f"{', '.join(foreign)}: not a setting of {spec.label}; its settings are "
                        f"{', '.join(option(f.name) for f in own)}")
    values = {f.name: getattr(args, f.name).strip() for f in own if getattr(args, f.name) is not None}
    if args.url is not None:
        address = next(f for f in own if f.url)
        if address.name in values:
            problems.append(f"--url and {option(address.name)} are the same setting: give one of them")
        values[address.name] = args.url.strip()
    problems += [p for f in own if (p := _field_problem(spec, f, values.get(f.name, "")))]
    if problems:
        raise not_stored(f"{spec.label} connection", problems)
    return spec, values


def _field_problem(spec: PsaKind, f: Field, value: str) -> str | None:
    """What is wrong with one setting (the checks of ``PsaKind.check``, one field at a time), or None."""
    if not value:
        if not f.required:
            return None
        return f"{option(f.name)}: the {f.label} is required" + (f" ({f.hint})" if f.hint else "")
    if f.url:
        try:
            https_url(value if "://" in value or not f.bare_host else f"https://{value}", f"{spec.label} {f.label}")
        except InsecureAddress as error:
            return f"{option(f.name)}: {error.detail}"
    if f.name == "charge_billing_code_id" and not value.isdigit():
        return f"{option(f.name)}: the {f.label} must be the billing code's number in {spec.label} (it is {value!r})"
    return None


def read_secrets(wanted: list[Secret], environ: dict[str, str] | None = None) -> dict[str, str]:
    """Each secret from its environment variable, else a prompt on a terminal, else a line of standard input."""
    environ = dict(os.environ) if environ is None else environ
    found: dict[str, str] = {}
    for secret in wanted:
        value = environ.get(secret.env, "")
        if not value:
            value = _prompt(secret) if is_terminal(sys.stdin) else _line()
        if value:
            found[secret.name] = value
    missing = [s for s in wanted if s.name not in found]
    if missing:
        raise BadArguments("nothing was stored: " + "; ".join(
            f"the {s.label} was not given (set {s.env}, type it when asked, or give it on a line of standard "
            "input)" for s in missing))
    return found


def _prompt(secret: Secret) -> str:
    try:
        return getpass.getpass(f"{secret.label} (not shown): ")
    except EOFError:
        return ""


def _line() -> str:
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


def add_psa(args: argparse.Namespace) -> int:
    from app.services.connections.admin import PsaDraft

    spec, settings = psa_settings(args)
    name = args.name.strip()
    with app_context() as context:
        same = [r for r in context.uow.psa_connections.all() if r.name.casefold() == name.casefold()]
        if same:
            raise not_stored(f"{spec.label} connection", [
                f"--name: a PSA connection named {same[0].name!r} is stored already; choose another name"])
        context.secrets.backend()  # no usable keyring: say so before asking for anything
        secrets = read_secrets(psa_secrets(spec))
        admin = context.admin
        try:
            record = admin.test_and_save_psa(PsaDraft(kind=spec.kind, name=name, settings=settings, secrets=secrets))
        except SeatsyncError as error:
            raise ConnectionNotStored(str(error)) from None
        print(f"Stored {spec.label} connection {record.name!r}: the PSA accepted it.")
        try:
            print(admin.refresh_catalog(record.id).text)
        except SeatsyncError as error:
            raise CatalogNotRead(f"{error}. Read them with `python main.py connections refresh` once the PSA "
                                 "answers.") from None
    return 0


def add_microsoft(args: argparse.Namespace) -> int:
    from app.services.connections.admin import MicrosoftDraft

    problems = secrets_on_argv(args, MICROSOFT_SECRETS)
    for opt, label, value in (("--client-id", "Application (client) ID", args.client_id),
                              ("--partner-tenant-id", "partner tenant ID", args.partner_tenant_id),
                              ("--name", "name", args.name)):
        if not value.strip():
            problems.append(f"{opt}: the {label} is required")
    for name, label, _ in MICROSOFT_URLS:
        try:
            https_url(getattr(args, name), f"Microsoft {label}")
        except InsecureAddress as error:
            problems.append(f"{option(name)}: {error.detail}")
    if problems:
        raise not_stored("Microsoft partner connection", problems)
    with app_context() as context:
        context.secrets.backend()
        secrets = read_secrets(MICROSOFT_SECRETS)
        wanted = args.partner_tenant_id.strip().casefold()
        same = next((r for r in context.uow.microsoft_connections.all()
                     if r.partner_tenant_id.casefold() == wanted), None)
        draft = MicrosoftDraft(name=args.name.strip(), kind=PARTNER_KIND_OPTIONS[args.kind],
                               connection_id=same.id if same else 0, client_id=args.client_id,
                               partner_tenant_id=args.partner_tenant_id, client_secret=secrets["client_secret"],
                               **{name: getattr(args, name) for name, _, _ in MICROSOFT_URLS})
        try:
            record, result = context.admin.test_and_save_microsoft(draft)
        except SeatsyncError as error:
            raise ConnectionNotStored(str(error)) from None
        head, *problems = result.text.splitlines()
        print(f"Stored the Microsoft partner connection {record.name!r}"
              + (" (it replaces the one stored before for that partner tenant)" if same else "") + f". {head}")
        for problem in problems:
            print(f"  {problem}")
    return 0


def list_connections(context: Services, *, as_json: bool) -> int:
    """Every connection, its address, and whether each of its secrets is in the keyring (never a value)."""
    from app.services.secrets import microsoft_secret_key, psa_secret_key

    problems: list[str] = []

    def present(key: SecretKey) -> bool | None:
        try:
            return context.secrets.has(key)
        except SeatsyncError as error:
            if str(error) not in problems:
                problems.append(str(error))
            return None

    entries: list[dict[str, Any]] = []
    for record in context.uow.psa_connections.all():
        spec = KINDS.get(record.kind)
        fields = spec.fields if spec else ()
        entries.append({
            "type": "psa", "kind": record.kind, "id": record.id, "name": record.name,
            "label": spec.label if spec else record.kind, "address": _psa_address(record, fields),
            "settings": dict(record.settings),
            "secrets": {f.name: present(psa_secret_key(record.id, f.name, record.name)) for f in fields if f.secret},
            "secret_labels": {f.name: f.label for f in fields if f.secret}})
    for ms in context.uow.microsoft_connections.all():
        entries.append({
            "type": "microsoft", "kind": "microsoft", "id": ms.id, "name": ms.name, "label": MICROSOFT_LABEL,
            "address": ms.graph_url, "settings": _microsoft_settings(ms),
            "secrets": {"client_secret": present(microsoft_secret_key(ms.id, ms.name))},
            "secret_labels": {"client_secret": "Client secret"}})
    if as_json:
        json.dump([{k: v for k, v in e.items() if k != "secret_labels"} for e in entries], sys.stdout, indent=2,
                  ensure_ascii=False)
        print()
    elif entries:
        print(table(("Kind", "Name", "Address", "Secrets"),
                    [(e["label"], e["name"], e["address"], _secrets_text(e)) for e in entries]))
    else:
        print("No connection yet: add them with `python main.py connections add psa ...` and "
              "`python main.py connections add microsoft ...`.")
    for problem in problems:
        print(error_line(problem), file=sys.stderr)
    return 1 if problems else 0


def _psa_address(record: PsaConnectionRecord, fields: Iterable[Field]) -> str:
    address = next((f for f in fields if f.url), None)
    if address is None:
        return ""
    return str(record.settings.get(address.name) or f"(default {address.label.lower()})")


def _microsoft_settings(record: MicrosoftConnectionRecord) -> dict[str, str]:
    return {"kind": record.kind, "client_id": record.client_id, "partner_tenant_id": record.partner_tenant_id,
            "authority_url": record.authority_url, "graph_url": record.graph_url,
            "partner_center_url": record.partner_center_url}


def _secrets_text(entry: dict[str, Any]) -> str:
    labels = entry["secret_labels"]
    states = entry["secrets"]
    if any(state is None for state in states.values()):
        return "cannot tell (the keyring failed)"
    missing = [labels[name] for name, state in states.items() if not state]
    return f"MISSING: {', '.join(missing)}" if missing else "in the keyring"


def named(context: Services, name: str | None) -> tuple[list[PsaConnectionRecord], list[MicrosoftConnectionRecord]]:
    """The stored connections, or those named ``name`` (case-insensitive); BadArguments when none is."""
    psas = context.uow.psa_connections.all()
    microsoft = context.uow.microsoft_connections.all()
    if name is None:
        return psas, microsoft
    wanted = name.strip().casefold()
    found = [r for r in psas if r.name.casefold() == wanted], [r for r in microsoft if r.name.casefold() == wanted]
    if not any(found):
        known = ", ".join([*(r.name for r in psas), *(r.name for r in microsoft)])
        raise BadArguments(f"no connection is named {name!r}" + (f"; the connections are: {known}" if known else ""))
    return found


def psa_label(record: PsaConnectionRecord) -> str:
    return f"{KINDS[record.kind].label if record.kind in KINDS else record.kind} {record.name!r}"


def try_connections(context: Services, name: str | None) -> int:
    """Connect with each stored connection (or the one named): "ok" or why not, one line each; 1 if any failed."""

    psas, microsoft = named(context, name)
    if not psas and not microsoft:
        raise ConfigurationError("no connection to test: add them with `python main.py connections add`")
    failures = 0
    for record in psas:
        context.psas.forget(record.id)  # the settings and secrets stored now, not ones opened earlier
        try:
            context.psas.psa(record.id).test_connection()
            print(f"ok    {psa_label(record)}: the PSA accepted the connection")
        except SeatsyncError as error:
            failures += 1
            print(f"FAIL  {psa_label(record)}: {error}")
        finally:
            context.psas.forget(record.id)
    for microsoft_record in microsoft:
        label = f"{MICROSOFT_LABEL} {microsoft_record.name!r}"
        try:
            result = context.admin.test_saved_microsoft(microsoft_record.id)
        except SeatsyncError as error:
            failures += 1
            print(f"FAIL  {label}: {error}")
            continue
        head, *problems = result.text.splitlines()
        print("\n".join([f"ok    {label}: {head}", *(f"      {p}" for p in problems)]))
    return 1 if failures else 0


def refresh_catalogs(context: Services, name: str | None) -> int:
    """Read each PSA connection's companies, agreements and products again (the window's "Refresh catalog")."""

    psas, _ = named(context, name)
    if not psas:
        raise ConfigurationError("no PSA connection to read: add one with `python main.py connections add psa`")
    failures = 0
    for record in psas:
        context.psas.forget(record.id)  # the settings and secrets stored now
        try:
            print(f"ok    {psa_label(record)}: {context.admin.refresh_catalog(record.id).text}")
        except SeatsyncError as error:
            failures += 1
            print(f"FAIL  {psa_label(record)}: {error}")
    return 1 if failures else 0
