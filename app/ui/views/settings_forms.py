"""The Settings view's two forms: sync and approvals; notifications. Saved together by the view.

Numbers take exactly what was typed (``WholeField``): a cap or a port that is not one is named beside
its field, and saving is refused with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.services.notify.notices import KIND_LABELS, NoticeKind
from app.services.preferences import Preferences, PreferencesChange, PreferencesState
from app.services.settings import (
    MAX_HISTORY_DAYS,
    MAX_MINIMUM_MARGIN,
    MIN_HISTORY_DAYS,
    ApprovalPolicy,
    NotificationSettings,
    SmtpSecurity,
    WebhookKind,
)
from app.ui.dialogs.connection import SecretField
from app.ui.views.row_model import Column, RowTableModel
from app.ui.views.tables import searchable, selected_rows, table_view
from app.ui.widgets.fields import AmountField, WholeField

if TYPE_CHECKING:
    from app.ui.views.settings import SettingsView

POLICY_LABELS = {
    ApprovalPolicy.APPLY_ALL: "Apply every change",
    ApprovalPolicy.HOLD_DECREASES: "Apply increases, hold decreases for approval",
    ApprovalPolicy.HOLD_ALL: "Hold every change for approval",
}
#: The largest cap a field takes.
MAX_CAP = 1_000_000


@dataclass(frozen=True, kw_only=True)
class OverrideRow:
    company_id: str
    company: str
    policy: ApprovalPolicy


COL_COMPANY, COL_POLICY = range(2)
OVERRIDE_COLUMNS = (
    Column[OverrideRow]("Company", lambda r: r.company),
    Column[OverrideRow]("Policy", lambda r: POLICY_LABELS[r.policy]),
)


def _policy_combo() -> QComboBox:
    combo = QComboBox()
    for policy, label in POLICY_LABELS.items():
        combo.addItem(label, policy)
    return combo


def _cap_field(what: str) -> WholeField:
    """A cap: a whole number, or empty for no cap."""
    field = WholeField(what, maximum=MAX_CAP, blank=None)
    field.setPlaceholderText("no cap")
    field.setToolTip("Leave it empty for no cap")
    return field


class SyncPage(QWidget):
    def __init__(self, view: SettingsView) -> None:
        super().__init__(view)
        self.companies: dict[str, str] = {}
        layout = QVBoxLayout(self)
        schedule = QGroupBox("Schedule")
        form = QFormLayout(schedule)
        self.sync_enabled = QCheckBox("Sync every day in the background")
        self.sync_time = QTimeEdit()
        self.sync_time.setDisplayFormat("HH:mm")
        form.addRow(self.sync_enabled)
        form.addRow("Daily at", self.sync_time)
        layout.addWidget(schedule)
        approvals = QGroupBox("Approval policy")
        box = QVBoxLayout(approvals)
        row = QFormLayout()
        self.policy = _policy_combo()
        row.addRow("Every company", self.policy)
        box.addLayout(row)
        self.overrides: RowTableModel[OverrideRow] = RowTableModel(OVERRIDE_COLUMNS, key=lambda r: r.company_id)
        self.override_table, _ = table_view(self.overrides, self)
        self.override_table.setMaximumHeight(160)
        box.addWidget(self.override_table)
        add = QHBoxLayout()
        self.override_company = searchable(QComboBox())
        self.override_company.setMinimumContentsLength(24)
        self.override_policy = _policy_combo()
        self.add_override_button = QPushButton("Add override")
        self.remove_override_button = QPushButton("Remove override")
        for widget in (self.override_company, self.override_policy, self.add_override_button,
                       self.remove_override_button):
            add.addWidget(widget)
        box.addLayout(add)
        layout.addWidget(approvals)
        caps = QGroupBox("Change caps (a change beyond a cap waits for approval)")
        caps_form = QFormLayout(caps)
        self.max_seats = _cap_field("The cap on seats changed on one line")
        self.max_operations = _cap_field("The cap on changes in one run")
        self.max_amount = AmountField("The cap on money changed in one run", places=2, blank=None)
        self.max_amount.setPlaceholderText("no cap")
        self.max_amount.setToolTip("Seats added or taken away in one run, times their price, on a tenant's lines "
                                   "(what a period bills); leave it empty for no cap")
        caps_form.addRow("Seats changed on one line", self.max_seats.holder())
        caps_form.addRow("Changes in one run", self.max_operations.holder())
        caps_form.addRow("Money a period changed in one run", self.max_amount.holder())
        layout.addWidget(caps)
        history = QGroupBox("History")
        history_form = QFormLayout(history)
        self.history_days = WholeField("The days history is kept", minimum=MIN_HISTORY_DAYS, maximum=MAX_HISTORY_DAYS)
        self.history_days.setToolTip("Sync runs and license reads older than this are removed after each sync; "
                                     "what was written to the PSA is never removed from History")
        history_form.addRow("Keep sync runs and license reads (days)", self.history_days.holder())
        layout.addWidget(history)
        margins = QGroupBox("Price and cost")
        margins_form = QFormLayout(margins)
        self.minimum_margin = WholeField("The minimum margin", maximum=MAX_MINIMUM_MARGIN)
        self.minimum_margin.setToolTip("A license billed at a margin under this % of its price over the PSA "
                                       "product's cost is a finding of each sync; 0 reports only seats billed "
                                       "below cost")
        margins_form.addRow("Report a margin under (%)", self.minimum_margin.holder())
        layout.addWidget(margins)
        self.save_button = QPushButton("Save settings")
        layout.addWidget(self.save_button)
        layout.addStretch(1)
        self.add_override_button.clicked.connect(self.add_override)
        self.remove_override_button.clicked.connect(self.remove_override)
        self.save_button.clicked.connect(view.save_preferences)

    def load(self, state: PreferencesState) -> None:
        p = state.preferences
        self.companies = dict(state.companies)
        self.sync_enabled.setChecked(p.sync_enabled)
        self.sync_time.setTime(QTime(p.sync_time.hour, p.sync_time.minute))
        self.policy.setCurrentIndex(self.policy.findData(p.approval_policy))
        self.overrides.set_rows(OverrideRow(company_id=c, company=self.companies.get(c, f"company {c}"), policy=pol)
                                for c, pol in sorted(p.overrides.items(), key=lambda i: self.companies.get(i[0], i[0])))
        self.override_company.clear()
        for company_id, name in state.companies:
            self.override_company.addItem(name, company_id)
        self.max_seats.setValue(p.max_seats_change_per_line)
        self.max_operations.setValue(p.max_operations_per_run)
        self.max_amount.set_amount(p.max_amount_per_run)
        self.history_days.setValue(p.history_days)
        self.minimum_margin.setValue(p.minimum_margin)

    def add_override(self) -> None:
        company_id = self.override_company.currentData()
        if company_id is None:
            return
        rows = [r for r in self.overrides.rows() if r.company_id != company_id]
        rows.append(OverrideRow(company_id=company_id, company=self.override_company.currentText(),
                                policy=ApprovalPolicy(self.override_policy.currentData())))
        self.overrides.set_rows(sorted(rows, key=lambda r: r.company.lower()))

    def remove_override(self) -> None:
        gone = {r.company_id for r in selected_rows(self.override_table)}
        self.overrides.set_rows([r for r in self.overrides.rows() if r.company_id not in gone])

    def change(self, notifications: NotificationsPage) -> PreferencesChange:
        """The settings as typed; ValueError names a field that is not valid."""
        t = self.sync_time.time()
        preferences = Preferences(
            sync_time=time(t.hour(), t.minute()), sync_enabled=self.sync_enabled.isChecked(),
            approval_policy=ApprovalPolicy(self.policy.currentData()),
            overrides={r.company_id: r.policy for r in self.overrides.rows()},
            max_seats_change_per_line=self.max_seats.value(), max_operations_per_run=self.max_operations.value(),
            notifications=notifications.settings(), history_days=self.history_days.value(),
            minimum_margin=self.minimum_margin.value(), max_amount_per_run=self.max_amount.value())
        return PreferencesChange(preferences=preferences, smtp_password=notifications.smtp_password(),
                                 webhook_url=notifications.webhook_url())


class NotificationsPage(QWidget):
    def __init__(self, view: SettingsView) -> None:
        super().__init__(view)
        layout = QVBoxLayout(self)
        tray = QGroupBox("Tray notifications")
        tray_box = QVBoxLayout(tray)
        self.tray = QCheckBox("Show notifications in the system tray")
        tray_box.addWidget(self.tray)
        self.kinds: dict[NoticeKind, QCheckBox] = {}
        for kind in NoticeKind:
            box = QCheckBox(KIND_LABELS[kind])
            box.setObjectName(f"tray.{kind.value}")
            self.kinds[kind] = box
            tray_box.addWidget(box)
        self.tray.toggled.connect(self._tray_toggled)
        layout.addWidget(tray)
        self.email = QGroupBox("E-mail digest")
        self.email.setCheckable(True)
        form = QFormLayout(self.email)
        self.smtp_host = QLineEdit()
        self.smtp_host.setPlaceholderText("smtp.example.com")
        self.smtp_port = WholeField("The SMTP port", minimum=1, maximum=65535)
        self.smtp_security = QComboBox()
        for security, label in ((SmtpSecurity.STARTTLS, "STARTTLS"), (SmtpSecurity.TLS, "TLS (implicit, port 465)"),
                                (SmtpSecurity.NONE, "None (local relay only)")):
            self.smtp_security.addItem(label, security)
        self.smtp_username = QLineEdit()
        self.smtp_password_field = SecretField(False)
        self.smtp_password_field.setObjectName("smtp.password")
        self.email_from = QLineEdit()
        self.email_to = QLineEdit()
        self.email_to.setPlaceholderText("billing@example.com, owner@example.com")
        for label, widget in (("SMTP host", self.smtp_host), ("Port", self.smtp_port.holder()),
                              ("Security", self.smtp_security), ("User name", self.smtp_username),
                              ("Password", self.smtp_password_field), ("From", self.email_from),
                              ("To", self.email_to)):
            form.addRow(label, widget)
        layout.addWidget(self.email)
        self.webhook = QGroupBox("Teams or Slack webhook")
        self.webhook.setCheckable(True)
        hook_form = QFormLayout(self.webhook)
        self.webhook_kind = QComboBox()
        for hook_kind, label in ((WebhookKind.TEAMS, "Microsoft Teams (workflow webhook)"),
                                 (WebhookKind.SLACK, "Slack (incoming webhook)"),
                                 (WebhookKind.GENERIC, "Other (JSON)")):
            self.webhook_kind.addItem(label, hook_kind)
        self.webhook_url_field = SecretField(False)
        self.webhook_url_field.setObjectName("webhook.url")
        self.webhook_url_field.edit.setEchoMode(QLineEdit.EchoMode.Password)
        hook_form.addRow("Kind", self.webhook_kind)
        hook_form.addRow("URL", self.webhook_url_field)
        layout.addWidget(self.webhook)
        self.save_button = QPushButton("Save settings")
        layout.addWidget(self.save_button)
        layout.addStretch(1)
        self.save_button.clicked.connect(view.save_preferences)

    def _tray_toggled(self, on: bool) -> None:
        for box in self.kinds.values():
            box.setEnabled(on)

    def load(self, state: PreferencesState) -> None:
        n = state.preferences.notifications
        self.tray.setChecked(n.tray)
        for kind, box in self.kinds.items():
            box.setChecked(kind.value not in n.tray_muted)
            box.setEnabled(n.tray)
        self.email.setChecked(n.email_enabled)
        self.smtp_host.setText(n.smtp_host)
        self.smtp_port.setValue(n.smtp_port)
        self.smtp_security.setCurrentIndex(self.smtp_security.findData(n.smtp_security))
        self.smtp_username.setText(n.smtp_username)
        self.smtp_password_field.set_stored(state.smtp_password_set)
        self.email_from.setText(n.email_from)
        self.email_to.setText(", ".join(n.email_to))
        self.webhook.setChecked(n.webhook_enabled)
        self.webhook_kind.setCurrentIndex(self.webhook_kind.findData(n.webhook_kind))
        self.webhook_url_field.set_stored(state.webhook_set)

    def settings(self) -> NotificationSettings:
        """ValueError names what is wrong (an address, the port, a missing host)."""
        return NotificationSettings(
            tray=self.tray.isChecked(),
            tray_muted=tuple(k.value for k, box in self.kinds.items() if not box.isChecked()),
            email_enabled=self.email.isChecked(), smtp_host=self.smtp_host.text().strip(),
            smtp_port=self.smtp_port.value(), smtp_security=self.smtp_security.currentData(),
            smtp_username=self.smtp_username.text().strip(), email_from=self.email_from.text().strip(),
            email_to=tuple(a.strip() for a in self.email_to.text().replace(";", ",").split(",")),
            webhook_enabled=self.webhook.isChecked(), webhook_kind=self.webhook_kind.currentData())

    def smtp_password(self) -> str | None:
        return self.smtp_password_field.value() or None

    def webhook_url(self) -> str | None:
        return self.webhook_url_field.value().strip() or None
