"""Ignored accounts, the second tab of the Exclusions view: accounts whose licenses are never billed.

An MSP keeps its admin, break-glass, service and test accounts in its
customers' tenants; their seats are its own cost. A pattern names them by
UPN (``*`` for any characters), in one tenant or in every tenant. "Who
matches?" reads the users of the tenants a pattern applies to and lists the
accounts it names before anyone relies on it (app/services/customers/ignored.py).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.billing.ignored import IgnoredAccount
from app.services.container import Services
from app.services.customers.ignored import IgnoredRow, Matches
from app.services.team.roles import Ability
from app.ui.tasks import Tasks
from app.ui.views.row_model import Column, RowTableModel
from app.ui.views.tables import StatusLine, current_user, selected_rows, set_scopes, table_view

COLUMNS: tuple[Column[IgnoredRow], ...] = (
    Column("Applies to", lambda r: r.tenant_name or "All tenants",
           lambda r: (r.account.tenant_id is not None, r.tenant_name.lower())),
    Column("Accounts (UPN pattern)", lambda r: r.account.pattern),
    Column("Reason", lambda r: r.account.reason),
)
#: At most this many matches are listed (a pattern for every tenant can match thousands of accounts).
SHOWN_MATCHES = 500


class IgnoredAccountsPanel(QWidget):
    def __init__(self, context: Services, tasks: Tasks, message: StatusLine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.message = message
        self.service = context.ignored_accounts
        layout = QVBoxLayout(self)
        about = QLabel("The licenses these accounts hold are not billed: your own admin, break-glass, service and "
                       "test accounts in customers' tenants. * stands for any characters. A change counts from "
                       "each tenant's next read (the next sync, or Sync now).")
        about.setTextFormat(Qt.TextFormat.PlainText)
        about.setWordWrap(True)
        layout.addWidget(about)
        self.model: RowTableModel[IgnoredRow] = RowTableModel(
            COLUMNS, key=lambda r: (r.account.tenant_id, r.account.pattern))
        self.table, self.proxy = table_view(self.model, self, multi=True)
        layout.addWidget(self.table, 1)
        remove_row = QHBoxLayout()
        self.remove_button = QPushButton("Stop ignoring")
        remove_row.addStretch(1)
        remove_row.addWidget(self.remove_button)
        layout.addLayout(remove_row)
        add = QGroupBox("Ignore accounts")
        form = QVBoxLayout(add)
        box = QHBoxLayout()
        self.scope = QComboBox()
        set_scopes(self.scope, ())
        self.pattern = QLineEdit()
        self.pattern.setPlaceholderText("UPN or pattern, e.g. admin@contoso.com or *-svc@*")
        self.pattern.setMaxLength(256)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("why (e.g. our admin account)")
        self.who_button = QPushButton("Who matches?")
        self.add_button = QPushButton("Ignore")
        box.addWidget(self.scope)
        box.addWidget(self.pattern, 2)
        box.addWidget(self.reason, 1)
        box.addWidget(self.who_button)
        box.addWidget(self.add_button)
        form.addLayout(box)
        self.matches = QListWidget()
        self.matches.setVisible(False)
        self.matches.setMaximumHeight(140)
        form.addWidget(self.matches)
        layout.addWidget(add)
        self.add_button.clicked.connect(self.add)
        self.who_button.clicked.connect(self.who)
        self.pattern.returnPressed.connect(self.add)
        self.remove_button.clicked.connect(self.remove_selected)
        refusal = context.role().refusal(Ability.MAP)  # the database refuses these to a role that may not map
        for button in (self.add_button, self.remove_button):
            button.setEnabled(not refusal)
            button.setToolTip(refusal or button.toolTip())

    # -- loading ------------------------------------------------------------------

    def refresh(self) -> None:
        """The patterns again (the Exclusions view fills ``scope`` from the tenants it reads)."""
        self.tasks.run(self.service.rows, self._loaded,
                       lambda e: self.message.show_error(e, "Reading the ignored accounts"),
                       owner=self, latest="rows", label="load ignored accounts")

    def _loaded(self, rows: list[IgnoredRow]) -> None:
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()

    # -- commands -------------------------------------------------------------------

    def who(self) -> None:
        pattern, tenant_id = self.pattern.text().strip(), self.scope.currentData() or None
        where = self.scope.currentText() if tenant_id else "every tenant"
        self.who_button.setEnabled(False)
        self.message.show_message(f"Reading the users of {where}…")
        self.tasks.run(lambda: self.service.who(pattern, tenant_id), lambda found: self._shown(pattern, found),
                       self._who_failed, owner=self, latest="who", label="who matches")

    def _shown(self, pattern: str, result: Matches) -> None:
        self.who_button.setEnabled(True)
        self.matches.clear()
        for match in result.found[:SHOWN_MATCHES]:
            holds = ", ".join(match.licenses) or "no license"
            self.matches.addItem(f"{match.tenant_name} — {match.upn} — {holds}")
        if len(result.found) > SHOWN_MATCHES:
            self.matches.addItem(f"… and {len(result.found) - SHOWN_MATCHES} more")
        self.matches.setVisible(bool(result.found))
        text = f"{pattern} matches {len(result.found)} account(s) in {result.tenants} tenant(s)."
        if result.failed:
            text += f" Not read: {'; '.join(f'{name}: {why}' for name, why in result.failed)}"
        self.message.show_message(text, "error" if result.failed else "ok")

    def _who_failed(self, error: BaseException) -> None:
        self.who_button.setEnabled(True)
        self.message.show_error(error, "Reading who matches")

    def add(self) -> None:
        tenant_id = self.scope.currentData() or None
        account = IgnoredAccount(pattern=self.pattern.text(), tenant_id=tenant_id, reason=self.reason.text().strip())
        wanted = account.pattern.strip().lower()
        # The version of the pattern the list shows (0: none): one someone saved meanwhile is not overwritten.
        shown = next((r for r in self.model.rows() if r.account.tenant_id == tenant_id
                      and r.account.pattern == wanted), None)
        version, actor = (shown.version if shown else 0), current_user()
        self.add_button.setEnabled(False)
        self.tasks.run(lambda: self.service.ignore(account, expected_version=version, actor=actor), self._added,
                       self._add_failed, owner=self, label="ignore accounts")

    def _added(self, account: IgnoredAccount) -> None:
        self.add_button.setEnabled(True)
        self.pattern.clear()
        self.reason.clear()
        self.matches.clear()
        self.matches.setVisible(False)
        scope = "every tenant" if account.tenant_id is None else self.scope.currentText()
        self.message.show_message(f"Accounts matching {account.pattern} in {scope} are ignored: their licenses are "
                                  "not billed from each tenant's next read.", "ok")
        self.refresh()

    def _add_failed(self, error: BaseException) -> None:
        self.add_button.setEnabled(True)
        self._failed(error, "Ignoring the accounts")

    def _failed(self, error: BaseException, doing: str) -> None:
        self.message.show_edit_error(error, doing)
        self.refresh()

    def remove_selected(self) -> None:
        rows = selected_rows(self.table)
        if not rows:
            self.message.show_message("Choose the accounts to stop ignoring.")
            return
        actor = current_user()

        def work() -> int:
            return sum(self.service.stop_ignoring(r.account.pattern, r.account.tenant_id,
                                                  expected_version=r.version, actor=actor) for r in rows)

        self.tasks.run(work, self._removed, lambda e: self._failed(e, "Stopping to ignore the accounts"),
                       owner=self, label="stop ignoring")

    def _removed(self, count: int) -> None:
        self.message.show_message(f"{count} pattern(s) removed: those accounts' licenses are billed again from each "
                                  "tenant's next read.", "ok")
        self.refresh()
