"""The Microsoft access view: each customer tenant's consent and GDAP standing, and "Grant consent".

The table is what seatsync last found (every sync records consent; the
check after each sync records GDAP). "Grant consent" opens Microsoft's
admin-consent page of seatsync's app for each selected tenant in the
browser, for the customer's admin; when the person comes back to the window
the tenants whose link was opened are checked again by themselves ("Check
again" does it at any time). With several partner connections, "Move to
partner connection" reads the selected tenants through another one from
now on, and checks their access through its app at once. Below the table:
exactly the permissions seatsync asks of Microsoft, and why
(app/services/microsoft/permissions.py). Network work runs on a worker
(``Tasks.run``); the view loads again each time it is shown again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QMenu, QPushButton, QVBoxLayout, QWidget

from app.services.connections.access import CONSENT_REDIRECT, AccessChecked, Moved, TenantAccess
from app.services.container import Services
from app.services.team.roles import Ability
from app.ui.tasks import Tasks
from app.ui.views.row_model import Column, RowTableModel
from app.ui.views.tables import ReloadingView, StatusLine, current_user, selected_rows, table_view
from app.ui.widgets.plain import PlainLabel, action_text, confirm

COL_TENANT, COL_CONSENT, COL_GDAP, COL_TODO, COL_PARTNER = range(5)
COLUMNS: tuple[Column[TenantAccess], ...] = (
    Column("Tenant", lambda r: r.tenant.name, lambda r: r.tenant.name.casefold()),
    Column("Consent", lambda r: r.consent),
    Column("GDAP", lambda r: r.gdap),
    Column("What to do", lambda r: r.problem, tooltip=lambda r: r.problem),
    Column("Partner connection", lambda r: r.partner),
)
#: Opens a link in the person's browser (a test gives its own).
Opener = Callable[[str], bool]


def open_in_browser(link: str) -> bool:
    return QDesktopServices.openUrl(QUrl(link))


class AccessView(ReloadingView):
    def __init__(self, context: Services, tasks: Tasks, parent: QWidget | None = None, *, sync: Any = None,
                 opener: Opener = open_in_browser) -> None:
        super().__init__(parent)
        if sync is not None:
            sync.finished.connect(self.refresh_when_seen)
        self.tasks = tasks
        self.service = context.access
        self.opener = opener
        #: Tenants whose consent link was opened and that are not checked again yet.
        self.awaiting: set[str] = set()
        layout = QVBoxLayout(self)
        self.message = StatusLine()
        layout.addWidget(self.message)
        intro = PlainLabel("seatsync reads each customer tenant with its own app, consented by the tenant's admin. "
                           "A tenant without consent, or whose GDAP relationship ended, is not synced.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.model: RowTableModel[TenantAccess] = RowTableModel(COLUMNS, key=lambda r: r.tenant_id)
        self.table, self.proxy = table_view(self.model, self, multi=True)
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.grant_button = QPushButton("Grant consent…")
        self.grant_button.setToolTip("Open Microsoft's admin-consent page of seatsync's app for each selected "
                                     "tenant, for its admin to accept")
        self.check_button = QPushButton("Check again")
        self.check_button.setToolTip("Ask Microsoft now whether seatsync may read the selected tenants (all when "
                                     "none is selected), and read GDAP")
        self.grant_button.clicked.connect(self.grant_selected)
        self.check_button.clicked.connect(self.check_selected)
        self.move_button = QPushButton("Move to partner connection")
        self.move_button.setToolTip("Read the selected tenants through another partner connection from now on "
                                    "(the partner account that serves them now)")
        self.move_menu = QMenu(self.move_button)
        self.move_button.setMenu(self.move_menu)
        self.move_button.hide()  # shown when there are several partner connections
        self.may_move = not (refusal := context.role().refusal(Ability.MANAGE_TENANTS))
        self.move_button.setEnabled(self.may_move)
        self.move_button.setToolTip(refusal or self.move_button.toolTip())
        buttons.addWidget(self.grant_button)
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.move_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        asked = QGroupBox("What seatsync asks of Microsoft, and why")
        box = QVBoxLayout(asked)
        lines = [f"{need.name} ({need.where}, {need.feature}): {need.why}" for need in self.service.permissions()]
        self.permissions = PlainLabel("\n".join(lines) + f"\n\nAfter consent Microsoft opens {CONSENT_REDIRECT}: "
                                      "register it on the app as a Web redirect URI (docs/permissions.md).", asked)
        self.permissions.setWordWrap(True)
        self.permissions.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.permissions)
        layout.addWidget(asked)
        self.refresh()

    def refresh(self, *, count: bool = True) -> None:
        """Load the table again; ``count``: say how many tenants lack consent (not after a command, whose own
        words stay)."""
        self.tasks.run(lambda: (self.service.tenants(), self.service.partners()),
                       lambda loaded: self._loaded(*loaded, count=count),
                       lambda e: self.message.show_error(e, "Reading the tenants' access"),
                       owner=self, latest="rows", label="load access")

    def _loaded(self, rows: list[TenantAccess], partners: list[tuple[int, str]], *, count: bool = True) -> None:
        self.model.set_rows(rows)
        self.move_menu.clear()
        for partner_id, name in partners:
            action = self.move_menu.addAction(action_text(name))
            action.triggered.connect(lambda _=False, p=partner_id, n=name: self.move_selected(p, n))
        self.move_button.setVisible(len(partners) > 1)
        self.table.setColumnHidden(COL_PARTNER, len({r.partner for r in rows}) < 2)
        self.table.resizeColumnsToContents()
        missing = sum(1 for r in rows if r.needs_consent)
        if count and not self.awaiting and missing:
            self.message.show_message(f"{missing} tenant(s) without consent (or not checked yet).", "info")

    def set_search(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)

    def selected(self) -> list[TenantAccess]:
        return selected_rows(self.table)

    # -- commands -------------------------------------------------------------------

    def grant_selected(self) -> None:
        rows = self.selected() or [r for r in self.model.rows() if r.needs_consent]
        if not rows:
            self.message.show_message("Every tenant is consented: select one to open its consent page anyway.",
                                      "info")
            return
        tenant_ids = [r.tenant_id for r in rows]

        def links() -> list[tuple[str, str]]:
            return [(tenant_id, self.service.consent_link(tenant_id)) for tenant_id in tenant_ids]

        self.tasks.run(links, self._open_links, lambda e: self.message.show_error(e, "Making the consent links"),
                       owner=self, label="consent links")

    def _open_links(self, links: list[tuple[str, str]]) -> None:
        opened = [tenant_id for tenant_id, link in links if self.opener(link)]
        self.awaiting.update(opened)
        if len(opened) < len(links):
            unopened = next(link for tenant_id, link in links if tenant_id not in opened)
            self.message.show_message(f"The browser could not be opened: give the customer's admin this link: "
                                      f"{unopened}", "error")
            return
        self.message.show_message(f"Opened the consent page of {len(opened)} tenant(s) in the browser. Have "
                                  "the customer's admin accept; seatsync checks again when you come back.", "info")

    def changeEvent(self, event: QEvent) -> None:
        """The window is active again (the person is back from the browser): check the tenants whose consent
        page was opened. The window's own activation, not the application's signal: a view that is gone holds
        no connection that could still be called."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.came_back()

    def came_back(self) -> None:
        if self.awaiting:
            self.check(sorted(self.awaiting))

    def move_selected(self, partner_id: int, name: str) -> None:
        """Read the selected tenants through partner connection ``partner_id`` (named ``name``) from now on."""
        rows = self.selected()
        if not rows:
            self.message.show_message("Select the tenants to move to another partner connection first.", "info")
            return
        if not confirm(self, "Move to another partner connection",
                       f"Read {len(rows)} tenant(s) through partner connection '{name}' from now on?\n\n"
                       "Their consent and GDAP are checked again through its app at once. A tenant its app "
                       "may not read is not synced until the tenant's admin consents to it."):
            return
        tenant_ids, actor = [r.tenant_id for r in rows], current_user()
        self.move_button.setEnabled(False)
        self.message.show_message("Moving, then asking Microsoft…", "info")

        def failed(error: BaseException) -> None:
            self.move_button.setEnabled(self.may_move)
            self.message.show_error(error, "Moving the tenants to another partner connection")

        self.tasks.run(lambda: self.service.move(tenant_ids, partner_id, actor=actor), self._moved, failed,
                       owner=self, label="move tenants")

    def _moved(self, moved: Moved) -> None:
        self.move_button.setEnabled(self.may_move)
        lacking = moved.checked is not None and any(r.needs_consent for r in moved.checked.tenants)
        self.message.show_message(moved.words(), "error" if lacking else "ok")
        self.refresh(count=False)

    def check_selected(self) -> None:
        rows = self.selected()
        self.check([r.tenant_id for r in rows] if rows else None)

    def check(self, tenant_ids: list[str] | None) -> None:
        self.check_button.setEnabled(False)
        self.message.show_message("Asking Microsoft…", "info")

        def failed(error: BaseException) -> None:
            self.check_button.setEnabled(True)
            self.message.show_error(error, "Checking the tenants' access")

        self.tasks.run(lambda: self.service.check(tenant_ids), self._checked, failed, owner=self,
                       label="check access")

    def _checked(self, checked: AccessChecked) -> None:
        self.check_button.setEnabled(True)
        self.awaiting.difference_update(r.tenant_id for r in checked.tenants if not r.needs_consent)
        self.message.show_message(checked.words(), "error" if any(r.needs_consent for r in checked.tenants)
                                  else "ok")
        self.refresh(count=False)
