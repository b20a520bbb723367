"""Typed business settings: defaults, round trips, clear refusals, secrets kept out of the database."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest

from app.models import close_database, open_database
from app.models.setting import Setting
from app.services.secrets import MissingSecret, SecretStore
from app.services.settings import ApprovalPolicy, NotificationSettings, Settings, SmtpSecurity, WebhookKind


@pytest.fixture
def settings(tmp_path):
    open_database(tmp_path / "seatsync.db")
    yield Settings(SecretStore())
    close_database()


def test_defaults(settings):
    assert settings.sync_time == time(6, 0)
    assert settings.sync_enabled is True
    assert settings.approval_policy() is ApprovalPolicy.APPLY_ALL
    assert settings.approval_policy("19") is ApprovalPolicy.APPLY_ALL
    assert (settings.max_seats_change_per_line, settings.max_operations_per_run) == (50, 500)
    assert settings.notifications == NotificationSettings()
    assert settings.sku_display_names == {}


def test_values_round_trip_through_the_database(settings, tmp_path):
    settings.set_sync_time("7:05")
    settings.set_sync_enabled(False)
    settings.set_approval_policy("hold_decreases")
    settings.set_max_seats_change_per_line(None)
    settings.set_max_operations_per_run(0)
    notify = NotificationSettings(
        email_enabled=True, smtp_host="smtp.example.com", smtp_port=465, smtp_security=SmtpSecurity.TLS,
        smtp_username="billing", email_from="seatsync@msp.example", email_to=("ops@msp.example", " "),
        webhook_enabled=True, webhook_kind=WebhookKind.SLACK,
    )
    settings.set_notifications(notify)
    close_database()
    open_database(tmp_path / "seatsync.db")  # a fresh start reads what was saved
    fresh = Settings()
    assert fresh.sync_time == time(7, 5) and fresh.sync_enabled is False
    assert fresh.approval_policy() is ApprovalPolicy.HOLD_DECREASES
    assert (fresh.max_seats_change_per_line, fresh.max_operations_per_run) == (None, 0)
    assert fresh.notifications == notify and fresh.notifications.email_to == ("ops@msp.example",)


def test_a_company_can_override_the_approval_policy(settings):
    settings.set_approval_policy(ApprovalPolicy.HOLD_DECREASES)
    settings.set_approval_policy(ApprovalPolicy.HOLD_ALL, company_id="19")
    assert settings.approval_policy("19") is ApprovalPolicy.HOLD_ALL
    assert settings.approval_policy("20") is ApprovalPolicy.HOLD_DECREASES
    assert settings.approval_overrides() == {"19": ApprovalPolicy.HOLD_ALL}
    settings.clear_approval_override("19")
    assert settings.approval_policy("19") is ApprovalPolicy.HOLD_DECREASES


@pytest.mark.parametrize(
    ("value", "message"),
    [("25:00", "not a time of day"), ("06:60", "not a time of day"), ("6am", "HH:MM"), ("", "HH:MM")],
)
def test_an_invalid_sync_time_is_refused(settings, value, message):
    with pytest.raises(ValueError, match=message):
        settings.set_sync_time(value)
    assert settings.sync_time == time(6, 0)


@pytest.mark.parametrize("value", [-1, 2.5, "10", True])
def test_an_invalid_cap_is_refused(settings, value):
    with pytest.raises(ValueError, match="max seats change per line"):
        settings.set_max_seats_change_per_line(value)
    with pytest.raises(ValueError, match="max operations per run"):
        settings.set_max_operations_per_run(value)


@pytest.mark.parametrize("value", [30, 3651, "90", True, None])
def test_history_is_kept_a_month_to_ten_years(settings, value):
    assert settings.history_days == 400
    with pytest.raises(ValueError, match="history is kept for 31 to 3650 days"):
        settings.set_history_days(value)
    settings.set_history_days(31)
    assert settings.history_days == 31


@pytest.mark.parametrize("value", [-1, 100, "15", 15.0, True, None])
def test_the_minimum_margin_is_a_whole_percentage_below_100(settings, value):
    assert settings.minimum_margin == 0  # only seats billed below cost are reported
    with pytest.raises(ValueError, match="the minimum margin is a whole percentage from 0 to 99"):
        settings.set_minimum_margin(value)
    settings.set_minimum_margin(15)
    assert settings.minimum_margin == 15


@pytest.mark.parametrize("value", [Decimal("-0.01"), 12.5, "100", True, Decimal("Infinity"), Decimal("NaN")])
def test_the_cap_on_money_is_an_exact_amount_or_none(settings, value):
    assert settings.max_amount_per_run is None  # no cap unless one is set: an amount has a currency
    with pytest.raises(ValueError, match="the cap on money changed per run"):
        settings.set_max_amount_per_run(value)
    settings.set_max_amount_per_run(Decimal("1500.50"))
    assert settings.max_amount_per_run == Decimal("1500.50") and str(settings.max_amount_per_run) == "1500.50"
    settings.set_max_amount_per_run(0)
    assert settings.max_amount_per_run == 0
    settings.set_max_amount_per_run(None)
    assert settings.max_amount_per_run is None


def test_other_invalid_values_are_refused(settings):
    with pytest.raises(ValueError, match="apply_all, hold_decreases, hold_all"):
        settings.set_approval_policy("hold_some", company_id="19")
    with pytest.raises(ValueError, match="true or false"):
        settings.set_sync_enabled("yes")
    with pytest.raises(ValueError, match="1 to 65535"):
        NotificationSettings(smtp_port=70000)
    with pytest.raises(ValueError, match="not an e-mail address"):
        NotificationSettings(email_to=("ops-at-msp",))
    with pytest.raises(ValueError, match="needs an SMTP host"):
        NotificationSettings(email_enabled=True)
    with pytest.raises(ValueError, match="https://"):
        settings.set_webhook_url("http://hooks.example/plain")


def test_smtp_password_and_webhook_url_live_in_the_keyring_only(settings, memory_keyring):
    with pytest.raises(MissingSecret, match="has no password stored; enter it in Settings"):
        settings.smtp_password()
    settings.set_smtp_password("hunter2-smtp")
    url = "https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/token123"
    settings.set_webhook_url(url)
    assert settings.smtp_password() == "hunter2-smtp" and settings.webhook_url() == url
    stored = " ".join(row.value for row in Setting.select())
    settings.set_notifications(NotificationSettings(webhook_enabled=True))
    stored += " ".join(row.value for row in Setting.select())
    assert "hunter2" not in stored and "token123" not in stored
    assert memory_keyring.get_password("seatsync", "notify/smtp/password") == "hunter2-smtp"
    settings.set_smtp_password(None)
    settings.set_webhook_url("")
    assert len(memory_keyring.store) == 0


def test_sku_display_name_overrides(settings):
    settings.set_sku_display_name("CBDC14AB-D96C-4C30-B9F4-6ADA7CDC1D46", " Business Premium ")
    settings.set_sku_display_name("05e9a617-0261-4cee-bb44-138d3ef5d965", "E3")
    assert settings.sku_display_names == {
        "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46": "Business Premium",
        "05e9a617-0261-4cee-bb44-138d3ef5d965": "E3",
    }
    settings.set_sku_display_name("05E9A617-0261-4CEE-BB44-138D3EF5D965", None)
    assert list(settings.sku_display_names) == ["cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46"]


def test_a_notification_key_from_a_newer_seatsync_is_ignored(settings):
    from datetime import UTC, datetime

    Setting.create(key="notify", value='{"tray": false, "teams_channel": "x"}', updated_at=datetime.now(UTC))
    assert settings.notifications == NotificationSettings(tray=False)


def test_the_installation_is_named_once_and_keeps_its_name(settings):
    assert Setting.get_or_none(Setting.key == "installation.id") is None
    name = settings.installation_id
    assert len(name) == 4 and int(name, 16) >= 0
    assert Settings().installation_id == name  # made on first use, then read back
