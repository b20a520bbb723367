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

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal
from typing import Any

from app.errors import SeatsyncError
from app.services.secrets import SecretStore
from app.services.settings import (
    HISTORY_DAYS,
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
        s = self.settings
        secrets: SecretStore = self.secrets
        connections = {c.id: c.name for c in self.uow.psa_connections.all()}
        companies = {str(c.id): c.name if len(connections) < 2 else f"{c.name} ({connections.get(c.connection_id)})"
                     for c in self.uow.companies.all()}
        return PreferencesState(
            preferences=Preferences(
                sync_time=s.sync_time, sync_enabled=s.sync_enabled, approval_policy=s.approval_policy(),
                overrides=s.approval_overrides(), max_seats_change_per_line=s.max_seats_change_per_line,
                max_operations_per_run=s.max_operations_per_run, notifications=s.notifications,
                history_days=s.history_days, minimum_margin=s.minimum_margin,
                max_amount_per_run=s.max_amount_per_run),
            companies=tuple(sorted(companies.items(), key=lambda item: item[1].lower())),
            smtp_password_set=secrets.has(SMTP_PASSWORD), webhook_set=secrets.has(WEBHOOK_URL),
            versions=s.versions())

    def save(self, change: PreferencesChange) -> PreferencesState:
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
        return self.load()


def _values(notifications: NotificationSettings) -> dict[str, Any]:
    return {name: getattr(notifications, name) for name in notifications.__dataclass_fields__}


def _check_webhook(url: str) -> None:
    if not url.startswith("https://") or " " in url:
        raise ValueError("a webhook URL must start with https:// (the URL itself is not shown: it holds a token)")
