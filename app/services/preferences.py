"""The Settings view's schedule, approval, cap and notification settings, read and saved as one.

``save`` validates everything before it writes anything, then writes in one
transaction, so a mistake in one field never leaves half the settings
saved. The SMTP password and the webhook URL are secrets: only whether one
is set is read; a change carries a new value or None to keep the stored one.

What was loaded carries each setting's version; a change hands them back with
who saves it, so a setting another desktop saved since the form was loaded is
refused (``EditConflict``, naming them) instead of overwritten, and every
setting changed is audited. Settings the form did not change are not written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from decimal import Decimal
from typing import Any

from app.errors import SeatsyncError
from app.services.secrets import SecretStore
from app.services.settings import (
    HISTORY_DAYS,
    MAX_HISTORY_DAYS,
    MAX_MINIMUM_MARGIN,
    MIN_HISTORY_DAYS,
    SMTP_PASSWORD,
    WEBHOOK_URL,
    ApprovalPolicy,
    Edit,
    NotificationSettings,
    Settings,
    parse_sync_time,
)
from app.services.uow import UnitOfWork


class PreferencesInvalid(SeatsyncError):
    """The settings were not saved"""


@dataclass(frozen=True, kw_only=True)
class Preferences:
    sync_time: time
    sync_enabled: bool
    approval_policy: ApprovalPolicy
    overrides: Mapping[str, ApprovalPolicy]  # PSA company id -> its policy
    max_seats_change_per_line: int | None
    max_operations_per_run: int | None
    notifications: NotificationSettings
    history_days: int = HISTORY_DAYS
    minimum_margin: int = 0  # % of the price (app/services/settings.py)
    max_amount_per_run: Decimal | None = None  # no cap


@dataclass(frozen=True, kw_only=True)
class PreferencesState:
    preferences: Preferences
    companies: tuple[tuple[str, str], ...]  # (seatsync's company id, name), for overrides
    smtp_password_set: bool
    webhook_set: bool
    #: Each stored setting's version when this was read (``Settings.versions``).
    versions: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class PreferencesChange:
    preferences: Preferences
    smtp_password: str | None = field(default=None, repr=False)  # None: keep the stored one
    webhook_url: str | None = field(default=None, repr=False)  # None: keep; "": remove
    #: The versions the form was loaded at (``PreferencesState.versions``); None: save over what is stored.
    versions: Mapping[str, int] | None = None
    actor: str = ""  # who saves: the history names them


class PreferencesService:
    def __init__(self, uow: UnitOfWork, *, settings: Settings, secrets: SecretStore) -> None:
        self.uow = uow
        self.settings = settings
        self.secrets = secrets

    def load(self) -> PreferencesState:
        secrets: SecretStore = self.secrets
        connections = {c.id: c.name for c in self.uow.psa_connections.all()}
        companies = {str(c.id): c.name if len(connections) < 2 else f"{c.name} ({connections.get(c.connection_id)})"
                     for c in self.uow.companies.all()}
        preferences, versions = self.current()
        return PreferencesState(
            preferences=preferences, companies=tuple(sorted(companies.items(), key=lambda item: item[1].lower())),
            smtp_password_set=secrets.has(SMTP_PASSWORD), webhook_set=secrets.has(WEBHOOK_URL), versions=versions)

    def current(self) -> tuple[Preferences, Mapping[str, int]]:
        """The settings, and each stored one's version, without asking the keyring about the secrets."""
        s = self.settings
        versions = s.versions()
        return Preferences(
            sync_time=s.sync_time, sync_enabled=s.sync_enabled, approval_policy=s.approval_policy(),
            overrides=s.approval_overrides(), max_seats_change_per_line=s.max_seats_change_per_line,
            max_operations_per_run=s.max_operations_per_run, notifications=s.notifications,
            history_days=s.history_days, minimum_margin=s.minimum_margin,
            max_amount_per_run=s.max_amount_per_run), versions

    def save(self, change: PreferencesChange) -> PreferencesState:
        self._save(change)
        return self.load()

    def _save(self, change: PreferencesChange) -> None:
        p = change.preferences
        s = self.settings
        try:
            parse_sync_time(p.sync_time)
            notifications = NotificationSettings(**_values(p.notifications))
            if change.webhook_url:
                _check_webhook(change.webhook_url)
            if notifications.webhook_enabled and not (change.webhook_url or (
                    change.webhook_url is None and self.secrets.has(WEBHOOK_URL))):
                raise ValueError("the webhook is on but has no URL: enter the incoming webhook's URL")
            edit = Edit(actor=change.actor, versions=change.versions)
            with self.uow:
                s.set_sync_time(p.sync_time, edit=edit)
                s.set_sync_enabled(p.sync_enabled, edit=edit)
                s.set_approval_policy(p.approval_policy, edit=edit)
                current = s.approval_overrides()
                for company_id in set(current) - set(p.overrides):
                    s.clear_approval_override(company_id, edit=edit)
                for company_id, policy in p.overrides.items():
                    s.set_approval_policy(policy, company_id, edit=edit)
                s.set_max_seats_change_per_line(p.max_seats_change_per_line, edit=edit)
                s.set_max_operations_per_run(p.max_operations_per_run, edit=edit)
                s.set_max_amount_per_run(p.max_amount_per_run, edit=edit)
                s.set_history_days(p.history_days, edit=edit)
                s.set_minimum_margin(p.minimum_margin, edit=edit)
                s.set_notifications(notifications, edit=edit)
                if change.smtp_password is not None:
                    s.set_smtp_password(change.smtp_password)
                if change.webhook_url is not None:
                    s.set_webhook_url(change.webhook_url)
        except ValueError as error:
            raise PreferencesInvalid(f"({error})") from None

    def set_named(self, name: str, text: str, *, actor: str) -> str:
        """Change the setting a command names (``NAMED_SETTINGS``) to the value ``text`` says, as the Settings view
        saves it: checked, audited under ``actor``, refused if someone saved it meanwhile. The keyring is not
        needed unless the webhook is on. Returns its value as stored, in words."""
        named = next((n for n in NAMED_SETTINGS if n.name == name), None)
        if named is None:
            raise PreferencesInvalid(f"(no setting {name!r}; there are {', '.join(n.name for n in NAMED_SETTINGS)})")
        try:
            value = named.parse(text)
        except ValueError:
            raise PreferencesInvalid(f"({name} takes {named.accepts}, not {text!r})") from None
        preferences, versions = self.current()
        self._save(PreferencesChange(preferences=replace(preferences, **{named.field: value}), versions=versions,
                                     actor=actor))
        return named.shown(self.current()[0])


def _values(notifications: NotificationSettings) -> dict[str, Any]:
    return {name: getattr(notifications, name) for name in notifications.__dataclass_fields__}


def _check_webhook(url: str) -> None:
    if not url.startswith("https://") or " " in url:
        raise ValueError("a webhook URL must start with https:// (the URL itself is not shown: it holds a token)")


# -- one setting at a time, as text (the ``settings`` command) ------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NamedSetting:
    """A setting as a command names it, reads it from text and prints it."""

    name: str  # "minimum-margin"
    field: str  # the Preferences field it is
    label: str  # what it is, in words
    accepts: str  # what a value looks like
    parse: Callable[[str], Any]  # text -> the value (ValueError: not what ``accepts`` says)

    def shown(self, preferences: Preferences) -> str:
        """Its value in ``preferences``, as the command prints it and reads it back."""
        value = getattr(preferences, self.field)
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, time):
            return value.strftime("%H:%M")
        if isinstance(value, ApprovalPolicy):
            return value.value.replace("_", "-")
        return str(value)


def _switch(text: str) -> bool:
    word = text.strip().lower()
    if word in ("on", "true", "yes"):
        return True
    if word in ("off", "false", "no"):
        return False
    raise ValueError(text)


def _policy_named(text: str) -> ApprovalPolicy:
    return ApprovalPolicy(text.strip().lower().replace("-", "_"))


def _whole(text: str) -> int:
    if not re.fullmatch(r"\s*\d{1,9}\s*", text):
        raise ValueError(text)
    return int(text)


def _whole_or_none(text: str) -> int | None:
    return None if text.strip().lower() == "none" else _whole(text)


def _amount_or_none(text: str) -> Decimal | None:
    if text.strip().lower() == "none":
        return None
    if not re.fullmatch(r"\s*\d{1,12}(\.\d{1,2})?\s*", text):
        raise ValueError(text)
    return Decimal(text.strip())


NAMED_SETTINGS: tuple[NamedSetting, ...] = tuple(NamedSetting(name=name, field=field_name, label=label,
                                                              accepts=accepts, parse=parse)
                                                 for name, field_name, label, accepts, parse in (
    ("sync-time", "sync_time", "the daily sync's time", "HH:MM, 24-hour", parse_sync_time),
    ("daily-sync", "sync_enabled", "whether the daily sync runs", "on or off", _switch),
    ("approval-policy", "approval_policy", "which changes wait for a person",
     "apply-all, hold-decreases or hold-all", _policy_named),
    ("max-seats-per-line", "max_seats_change_per_line", "a change of more seats on one line waits",
     "a whole number, or none", _whole_or_none),
    ("max-changes-per-run", "max_operations_per_run", "changes past this many in one run wait",
     "a whole number, or none", _whole_or_none),
    ("max-amount-per-run", "max_amount_per_run", "changes past this much money a period in one run wait",
     "an amount with at most two decimals and no separators (1500.50), or none", _amount_or_none),
    ("minimum-margin", "minimum_margin", "a billable row earning less, in % of its price, is reported",
     f"a whole % from 0 to {MAX_MINIMUM_MARGIN}", lambda text: _whole(text.strip().removesuffix("%"))),
    ("history-days", "history_days", "how long run records and snapshots are kept",
     f"{MIN_HISTORY_DAYS} to {MAX_HISTORY_DAYS} days", _whole),
))
