"""Typed business settings, with defaults, kept in the database.

Every setting has a type, a default and a validator; reading one that was
never set returns its default; an invalid value raises ValueError naming the
setting and what it accepts. Secrets among them (the SMTP password, the
webhook URL, which carries its own token) go to the SecretStore, never to
the database.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from peewee import IntegrityError

from app.models.database import db
from app.models.fields import dump_json
from app.models.repositories.versions import check_version, conflict, delete_versioned, record_change, update_versioned
from app.models.setting import Setting
from app.services.secrets import SecretKey, SecretStore


class ApprovalPolicy(StrEnum):
    APPLY_ALL = "apply_all"
    HOLD_DECREASES = "hold_decreases"  # apply increases, hold decreases for approval
    HOLD_ALL = "hold_all"


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"
    TLS = "tls"  # implicit TLS (port 465)
    NONE = "none"


class WebhookKind(StrEnum):
    TEAMS = "teams"
    SLACK = "slack"
    GENERIC = "generic"


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")

SMTP_PASSWORD = SecretKey(kind="notify", owner_id="smtp", field="password", owner_name="E-mail digest")
WEBHOOK_URL = SecretKey(kind="notify", owner_id="webhook", field="url", owner_name="Webhook")


@dataclass(frozen=True, kw_only=True)
class NotificationSettings:
    """Where notices go besides the tray. Secrets are not here (see the module docstring)."""

    tray: bool = True
    email_enabled: bool = False
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: str = ""
    email_from: str = ""
    email_to: tuple[str, ...] = ()
    webhook_enabled: bool = False
    webhook_kind: WebhookKind = WebhookKind.TEAMS
    #: Kinds of notice (app.services.notify.notices.NoticeKind values) never shown in the tray.
    tray_muted: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        muted = {str(kind).strip() for kind in self.tray_muted}
        object.__setattr__(self, "tray_muted", tuple(sorted(muted - {""})))
        object.__setattr__(self, "smtp_security", SmtpSecurity(self.smtp_security))
        object.__setattr__(self, "webhook_kind", WebhookKind(self.webhook_kind))
        object.__setattr__(self, "email_to", tuple(a.strip() for a in self.email_to if a.strip()))
        if isinstance(self.smtp_port, bool) or not isinstance(self.smtp_port, int) or not 1 <= self.smtp_port <= 65535:
            raise ValueError(f"SMTP port must be a whole number from 1 to 65535, not {self.smtp_port!r}")
        if self.smtp_host and not _HOST.match(self.smtp_host):
            raise ValueError(f"SMTP host {self.smtp_host!r} is not a host name or address")
        for address in (self.email_from, *self.email_to):
            if address and not _EMAIL.match(address):
                raise ValueError(f"{address!r} is not an e-mail address")
        if self.email_enabled and not (self.smtp_host and self.email_from and self.email_to):
            raise ValueError("the e-mail digest needs an SMTP host, a From address and at least one To address")


def parse_sync_time(value: str | time) -> time:
    """'06:00' (24-hour HH:MM) or a time; ValueError names what is wrong."""
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(value))
    if match is None:
        raise ValueError(f"daily sync time must be HH:MM (24-hour), e.g. '06:00', not {value!r}")
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise ValueError(f"daily sync time {value!r} is not a time of day (00:00 to 23:59)")
    return time(hour, minute)


def _cap(name: str) -> Callable[[Any], int | None]:
    def check(value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number or None (no cap), not {value!r}")
        if value < 0:
            raise ValueError(f"{name} cannot be negative ({value}); use None for no cap")
        return value

    return check


#: How long run records and inventory snapshots are kept: a year and a month, so a year's chart is whole.
HISTORY_DAYS = 400
MIN_HISTORY_DAYS, MAX_HISTORY_DAYS = 31, 3650
#: The highest minimum margin, in % of the price (a margin cannot reach 100 % while a seat costs anything).
MAX_MINIMUM_MARGIN = 99


def _history_days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_HISTORY_DAYS <= value <= MAX_HISTORY_DAYS:
        raise ValueError(f"history is kept for {MIN_HISTORY_DAYS} to {MAX_HISTORY_DAYS} days, not {value!r}")
    return value


def _amount_cap(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Decimal | int) or not Decimal(value).is_finite():
        raise ValueError(f"the cap on money changed per run must be an amount or None (no cap), not {value!r}")
    if value < 0:
        raise ValueError(f"the cap on money changed per run cannot be negative ({value}); use None for no cap")
    return Decimal(value)


def _minimum_margin(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MINIMUM_MARGIN:
        raise ValueError(f"the minimum margin is a whole percentage from 0 to {MAX_MINIMUM_MARGIN}, not {value!r}")
    return value


def _bool(name: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, not {value!r}")
        return value

    return check


@dataclass(frozen=True, kw_only=True)
class _Spec:
    default: Any
    check: Callable[[Any], Any]
    dump: Callable[[Any], Any] = field(default=lambda v: v)
    load: Callable[[Any], Any] = field(default=lambda v: v)


_SPECS: dict[str, _Spec] = {
    "sync.time": _Spec(
        default=time(6, 0), check=parse_sync_time, dump=lambda t: t.strftime("%H:%M"), load=parse_sync_time
    ),
    "sync.enabled": _Spec(default=True, check=_bool("sync enabled")),
    "approval.policy": _Spec(
        default=ApprovalPolicy.APPLY_ALL, check=lambda v: _policy(v), dump=str, load=ApprovalPolicy
    ),
    "caps.max_seats_change_per_line": _Spec(default=50, check=_cap("max seats change per line")),
    "caps.max_operations_per_run": _Spec(default=500, check=_cap("max operations per run")),
    "caps.max_amount_per_run": _Spec(default=None, check=_amount_cap,
                                     dump=lambda v: None if v is None else str(v),
                                     load=lambda v: None if v is None else Decimal(str(v))),
    "history.days": _Spec(default=HISTORY_DAYS, check=_history_days),
    "billing.minimum_margin": _Spec(default=0, check=_minimum_margin),
    "notify": _Spec(
        default=NotificationSettings(),
        check=lambda v: _notifications(v),
        dump=lambda n: {**asdict(n), "email_to": list(n.email_to)},
        load=lambda d: _load_notifications(d),
    ),
    "sku.display_names": _Spec(default={}, check=lambda v: _sku_names(v)),
    "installation.id": _Spec(default="", check=lambda v: _installation(v)),
}

_POLICY_OVERRIDE = "approval.policy.company."

#: What each setting is called when a change of it is refused or shown in History.
LABELS = {
    "sync.time": "The daily sync time",
    "sync.enabled": "Whether the daily sync runs",
    "approval.policy": "The approval policy",
    "caps.max_seats_change_per_line": "The cap on seats changed per line",
    "caps.max_operations_per_run": "The cap on changes per run",
    "caps.max_amount_per_run": "The cap on money changed per run",
    "history.days": "How long history is kept",
    "billing.minimum_margin": "The minimum margin",
    "notify": "The notification settings",
    "sku.display_names": "The SKU display names",
}
KIND = "setting"


def setting_label(key: str) -> str:
    """A setting's name in words ("The approval policy of company 7")."""
    if key.startswith(_POLICY_OVERRIDE):
        return f"The approval policy of company {key[len(_POLICY_OVERRIDE):]}"
    return LABELS.get(key, f"The setting {key}")


@dataclass(frozen=True, kw_only=True)
class Edit:
    """Who saves settings, and the version of each setting their form was loaded at (``Settings.versions``;
    a key it lacks was not set then). Without ``versions`` a save overwrites whatever is stored."""

    actor: str = ""
    versions: Mapping[str, int] | None = None

    def expected(self, key: str) -> int | None:
        return None if self.versions is None else self.versions.get(key, 0)


def _policy(value: Any) -> ApprovalPolicy:
    try:
        return ApprovalPolicy(value)
    except ValueError:
        allowed = ", ".join(p.value for p in ApprovalPolicy)
        raise ValueError(f"approval policy must be one of {allowed}, not {value!r}") from None


def _load_notifications(stored: Mapping[str, Any]) -> NotificationSettings:
    # Keys a newer seatsync wrote and this one does not know are ignored.
    known = {f.name for f in fields(NotificationSettings)}
    values = {key: value for key, value in stored.items() if key in known}
    values["email_to"] = tuple(values.get("email_to", ()))
    return NotificationSettings(**values)


def _notifications(value: Any) -> NotificationSettings:
    if not isinstance(value, NotificationSettings):
        raise ValueError(f"notification settings must be a NotificationSettings, not {type(value).__name__}")
    return value


def _installation(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{4}", value):
        raise ValueError(f"an installation id is four hex digits, not {value!r}")
    return value


def _sku_names(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError("SKU display names must map SKU ids to names")
    names = {}
    for sku, name in value.items():
        if not isinstance(sku, str) or not sku.strip() or not isinstance(name, str) or not name.strip():
            raise ValueError(f"a SKU display name needs a SKU id and a name, not {sku!r}: {name!r}")
        names[sku.strip().lower()] = name.strip()
    return names


class Settings:
    """The typed settings, read and written through the database the models are bound to."""

    def __init__(self, secrets: SecretStore | None = None, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._secrets = secrets or SecretStore()
        self._now = now

    # --- schedule ---------------------------------------------------------

    @property
    def sync_time(self) -> time:
        return self._get("sync.time")

    def set_sync_time(self, value: str | time, *, edit: Edit | None = None) -> None:
        self._set("sync.time", value, edit)

    @property
    def sync_enabled(self) -> bool:
        return self._get("sync.enabled")

    def set_sync_enabled(self, value: bool, *, edit: Edit | None = None) -> None:
        self._set("sync.enabled", value, edit)

    # --- approval and caps --------------------------------------------------

    def approval_policy(self, company_id: str | None = None) -> ApprovalPolicy:
        """The company's override if it has one, else the global policy."""
        if company_id is not None:
            row = Setting.get_or_none(Setting.key == _POLICY_OVERRIDE + str(company_id))
            if row is not None:
                return _policy(_decode(row.value))
        return self._get("approval.policy")

    def set_approval_policy(self, policy: ApprovalPolicy | str, company_id: str | None = None, *,
                            edit: Edit | None = None) -> None:
        """Set the global policy, or (with ``company_id``) that company's override. A company is named by
        seatsync's id for it (``CompanyRecord.id``): PSA company ids repeat across PSA connections."""
        policy = _policy(policy)
        if company_id is None:
            self._set("approval.policy", policy, edit)
        else:
            self._write(_POLICY_OVERRIDE + str(company_id), policy.value, edit)

    def clear_approval_override(self, company_id: str, *, edit: Edit | None = None) -> None:
        """Remove the company's override (it follows the global policy again); audited, and refused
        (``EditConflict``) when someone changed the override since ``edit``'s version of it."""
        key = _POLICY_OVERRIDE + str(company_id)
        expected = edit.expected(key) if edit else None
        with db.atomic():
            row = Setting.get_or_none(Setting.key == key)
            check_version(row, expected, kind=KIND, key=key, what=lambda: setting_label(key))
            if row is None:
                return
            if not delete_versioned(Setting, row):
                raise conflict(KIND, key, setting_label(key), Setting.get_or_none(Setting.key == key))
            record_change(kind=KIND, key=key, action="removed", before={"value": _decode(row.value)}, after=None,
                          actor=edit.actor if edit else "", at=self._now())

    def approval_overrides(self) -> dict[str, ApprovalPolicy]:
        rows = Setting.select().where(Setting.key.startswith(_POLICY_OVERRIDE))
        return {row.key[len(_POLICY_OVERRIDE) :]: _policy(_decode(row.value)) for row in rows}

    @property
    def max_seats_change_per_line(self) -> int | None:
        """A line changing by more seats than this is held for approval (None: no cap)."""
        return self._get("caps.max_seats_change_per_line")

    def set_max_seats_change_per_line(self, value: int | None, *, edit: Edit | None = None) -> None:
        self._set("caps.max_seats_change_per_line", value, edit)

    @property
    def max_operations_per_run(self) -> int | None:
        """Operations beyond this many in one run are held for approval (None: no cap)."""
        return self._get("caps.max_operations_per_run")

    def set_max_operations_per_run(self, value: int | None, *, edit: Edit | None = None) -> None:
        self._set("caps.max_operations_per_run", value, edit)

    @property
    def max_amount_per_run(self) -> Decimal | None:
        """Rows whose changes would take what a tenant's lines bill a period further than this amount, in one
        run, are held for approval (None: no cap)."""
        return self._get("caps.max_amount_per_run")

    def set_max_amount_per_run(self, value: Decimal | None, *, edit: Edit | None = None) -> None:
        self._set("caps.max_amount_per_run", value, edit)

    @property
    def history_days(self) -> int:
        """Run records and inventory snapshots last read longer ago than this are removed after a sync."""
        return self._get("history.days")

    def set_history_days(self, value: int, *, edit: Edit | None = None) -> None:
        self._set("history.days", value, edit)

    @property
    def minimum_margin(self) -> int:
        """A billed row earning less than this % of its price over its product's cost is reported (0: only a
        row billed below cost)."""
        return self._get("billing.minimum_margin")

    def set_minimum_margin(self, value: int, *, edit: Edit | None = None) -> None:
        self._set("billing.minimum_margin", value, edit)

    # --- notifications --------------------------------------------------------

    @property
    def notifications(self) -> NotificationSettings:
        return self._get("notify")

    def set_notifications(self, value: NotificationSettings, *, edit: Edit | None = None) -> None:
        self._set("notify", value, edit)

    def smtp_password(self) -> str:
        """MissingSecret when none is stored."""
        return self._secrets.get(SMTP_PASSWORD)

    def set_smtp_password(self, password: str | None) -> None:
        """Store the SMTP password in the keyring (None or '' removes it)."""
        if password:
            self._secrets.set(SMTP_PASSWORD, password)
        else:
            self._secrets.delete(SMTP_PASSWORD)

    def webhook_url(self) -> str:
        """MissingSecret when none is stored."""
        return self._secrets.get(WEBHOOK_URL)

    def set_webhook_url(self, url: str | None) -> None:
        """Store the webhook URL in the keyring (it carries its own token); None or '' removes it."""
        if not url:
            self._secrets.delete(WEBHOOK_URL)
            return
        if not re.match(r"^https://[^\s/]+/\S*$", url):
            raise ValueError("a webhook URL must start with https:// (the URL itself is not shown, it holds a token)")
        self._secrets.set(WEBHOOK_URL, url)

    # --- SKU names -----------------------------------------------------------

    @property
    def sku_display_names(self) -> dict[str, str]:
        """User overrides of SKU display names, keyed by lower-case SKU id."""
        return dict(self._get("sku.display_names"))

    def set_sku_display_name(self, sku_id: str, name: str | None) -> None:
        """Override a SKU's display name; None or '' returns it to the catalogue's name."""
        names = self.sku_display_names
        if name and name.strip():
            names.update(_sku_names({sku_id: name}))
        else:
            names.pop(sku_id.strip().lower(), None)
        self._set("sku.display_names", names)

    # --- this installation ------------------------------------------------------

    @property
    def installation_id(self) -> str:
        """This database's name in seatsync's line markers (four hex digits), made on first use.

        Two seatsync installations with separate databases on one PSA tell
        their lines apart by it; several desktops sharing one database are one
        installation.
        """
        current = self._get("installation.id")
        if not current:
            Setting.insert(key="installation.id", value=dump_json(secrets.token_hex(2), "installation.id"),
                           updated_at=self._now()).on_conflict_ignore().execute()
            current = self._get("installation.id")
        return current

    # --- storage ---------------------------------------------------------------

    def _get(self, key: str) -> Any:
        spec = _SPECS[key]
        row = Setting.get_or_none(Setting.key == key)
        if row is None:
            return spec.default
        return spec.check(spec.load(_decode(row.value)))

    def versions(self) -> dict[str, int]:
        """The version of every setting stored, by key: what a form hands back in its ``Edit``."""
        return {row.key: row.version for row in Setting.select(Setting.key, Setting.version)}

    def _set(self, key: str, value: Any, edit: Edit | None = None) -> None:
        spec = _SPECS[key]
        self._write(key, spec.dump(spec.check(value)), edit, default=spec.dump(spec.default))

    def _write(self, key: str, stored: Any, edit: Edit | None = None, *, default: Any = None) -> None:
        """Store the value unless it is what is stored already (or, never set, its ``default``); audited
        (``config_change``), and refused (``EditConflict``) when someone saved the setting since ``edit``'s
        version of it."""
        text = dump_json(stored, key)
        value = _decode(text)
        unset = None if default is None else _decode(dump_json(default, key))
        expected = edit.expected(key) if edit else None
        actor = edit.actor if edit else ""
        now = self._now()
        with db.atomic():
            row = Setting.get_or_none(Setting.key == key)
            check_version(row, expected, kind=KIND, key=key, what=lambda: setting_label(key))
            if row is None and value == unset:
                return
            if row is None:
                try:
                    with db.atomic():
                        Setting.insert(key=key, value=text, updated_at=now, version=1, updated_by=actor).execute()
                except IntegrityError:  # another desktop stored it first
                    row = Setting.get(Setting.key == key)
                    if expected is not None:
                        raise conflict(KIND, key, setting_label(key), row) from None
                else:
                    record_change(kind=KIND, key=key, action="created", before=None, after={"value": value},
                                  actor=actor, at=now)
                    return
            before = _decode(row.value)
            if before == value:
                return
            if not update_versioned(Setting, row, {Setting.value: text, Setting.updated_at: now}, actor=actor):
                raise conflict(KIND, key, setting_label(key), Setting.get_or_none(Setting.key == key))
            record_change(kind=KIND, key=key, action="changed", before={"value": before}, after={"value": value},
                          actor=actor, at=now)


def _decode(text: str) -> Any:
    return json.loads(text)
