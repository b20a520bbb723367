"""One company: its license table, the commands on a license, Sync now, and seats over time.

Everything that reads or writes goes through the Companies service on a
worker (``Tasks.run``); this widget only shows results and turns clicks into
service calls. The mapping dialog is opened with ``MappingDialog.ask``.

What the latest sync found about a license (and its changes waiting for
approval) is marked on its row and listed under the table when the row is
selected (``FindingsPanel``), each with what to do and, where the window
does it, a button: the mapping dialog, Approvals, Billing profiles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelection, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.billing.custom import CUSTOM_PREFIX
from app.billing.types import Mapping
from app.models.records import EditConflict
from app.services.customers.companies import CompanyService
from app.services.customers.company_rows import (
    CompanyDetail,
    FindingAction,
    LicenseRow,
    RowFinding,
    SubscriptionRow,
    total,
)
from app.services.customers.custom import CustomAdded, CustomEdit, CustomLicenseService
from app.services.customers.links import LinkService
from app.services.team.roles import Ability, Role
from app.ui.dialogs.contacts import ContactsDialog
from app.ui.dialogs.custom_license import CustomLicenseDialog
from app.ui.dialogs.links import LinksDialog
from app.ui.dialogs.mapping import MappingDialog
from app.ui.errors import explain
from app.ui.formatting import moment
from app.ui.views.license_model import (
    FITTED,
    LICENSE,
    MAPPING,
    ROW_ROLE,
    SORT_ROLE,
    TENANT,
    LicenseTreeModel,
    monthly_text,
)
from app.ui.views.quick_map import QuickMapDelegate
from app.ui.views.sync_result import SyncResultPanel
from app.ui.views.tables import current_user
from app.ui.widgets.badge import BadgeDelegate
from app.ui.widgets.icons import glyph
from app.ui.widgets.message_bar import MessageBar
from app.ui.widgets.plain import ElidedLabel, PlainLabel, clip, tip
from app.ui.widgets.seats_chart import SeatsChart
from app.ui.widgets.tones import style, text_tone, tint, tone

if TYPE_CHECKING:
    from app.services.sync.service import RunSummary

ALL = "*"
#: The mapping column's width when a company opens: room for a profile and an agreement, and the dropdown.
MAPPING_WIDTH = 320
#: Each action's button text.
ACTION_TEXT = {FindingAction.MAP: "Map…", FindingAction.APPROVALS: "Open Approvals",
               FindingAction.PROFILES: "Open Billing profiles"}


class FindingsPanel(QFrame):
    """The selected license's findings: each one's words, what to do, and a button where the window does it."""

    #: A finding's action was clicked.
    action = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rowFindings")
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(8, 6, 8, 6)
        self.grid.setColumnStretch(0, 1)
        self.labels: list[PlainLabel] = []
        self.buttons: dict[FindingAction, QPushButton] = {}
        style(self, lambda: f"#rowFindings {{ background: {tint('warning').name()}; "
                            f"border: 1px solid {tone('warning').name()}; border-radius: 4px; }}")
        self.hide()

    def show_findings(self, name: str, findings: tuple[RowFinding, ...], *, may_map: bool = True) -> None:
        while (item := self.grid.takeAt(0)) is not None:
            if (widget := item.widget()) is not None:
                widget.deleteLater()
        self.labels, self.buttons = [], {}
        for n, finding in enumerate(findings):
            label = PlainLabel(f"{clip(name)} — {finding.text()}", self)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.grid.addWidget(label, n, 0)
            self.labels.append(label)
            if finding.action is not FindingAction.NONE and finding.action not in self.buttons:
                button = QPushButton(ACTION_TEXT[finding.action], self)
                button.setEnabled(may_map or finding.action is not FindingAction.MAP)
                button.clicked.connect(lambda _=False, a=finding.action: self.action.emit(a.value))
                self.grid.addWidget(button, n, 1, Qt.AlignmentFlag.AlignTop)
                self.buttons[finding.action] = button
        self.setVisible(bool(findings))

    def text(self) -> str:
        return "\n".join(label.text() for label in self.labels)


class CompanyView(QWidget):
    back_requested = Signal()
    sync_requested = Signal(int)
    changed = Signal()  # a mapping or exclusion changed: the list's counts are stale
    loaded = Signal()

    def __init__(self, context: Any, tasks: Any, parent: QWidget | None = None, *,
                 service: CompanyService | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.service = service or context.companies
        self.context = context
        self.company_id: int | None = None
        self.detail: CompanyDetail | None = None
        self.custom_dialog: CustomLicenseDialog | None = None
        self._build()

    # -- layout ------------------------------------------------------------------------

    def _build(self) -> None:
        self.back = QToolButton(self)
        self.back.setIcon(glyph("back"))
        self.back.setText("Companies")
        self.back.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.back.setAutoRaise(True)
        self.back.clicked.connect(self.back_requested)
        self.title = ElidedLabel(parent=self)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.title.setFont(font)
        self.subtitle = ElidedLabel(parent=self)
        text_tone(self.subtitle)
        self.tenants_button = QPushButton("Tenants…", self)
        self.tenants_button.setToolTip("The tenants this company bills, and for which users: bill part of a "
                                       "tenant to another company by office, department, city, state or domain")
        self.tenants_button.clicked.connect(self.open_links)
        self.contacts_button = QPushButton("Contacts…", self)
        self.contacts_button.setToolTip("Keep this company's Microsoft 365 users as its PSA contacts: preview the "
                                        "changes, then enable it for every sync")
        self.contacts_button.clicked.connect(self.open_contacts)
        self.contacts_button.setEnabled(self.context is not None)
        self.sync_button = QPushButton(glyph("sync"), "Sync now", self)
        self.sync_button.setToolTip("Sync this company now: the PSA is changed only where it differs")
        self.sync_button.clicked.connect(self._sync_clicked)
        if not self.role().may_sync:  # a viewer: the database would refuse the run's first write
            self.sync_button.setEnabled(False)
            self.sync_button.setToolTip(self.role().refusal(Ability.SYNC))
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.sync_status = PlainLabel(parent=self)
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        header.addWidget(self.back, 0, Qt.AlignmentFlag.AlignTop)
        header.addLayout(titles, 1)
        header.addWidget(self.sync_status)
        header.addWidget(self.progress)
        header.addWidget(self.contacts_button)
        header.addWidget(self.tenants_button)
        header.addWidget(self.sync_button)
        self.result = SyncResultPanel(self)
        self.messages = MessageBar(self)

        self.map_button = self._action("map", "Map…", "Open the mapping dialog with every option", self.open_mapping)
        self.split_button = self._action("split", "Split", "Give each subscription its own row and mapping",
                                         self.split)
        self.merge_button = self._action("merge", "Merge", "Put the subscriptions back into one row", self.merge)
        self.exclude_button = self._action("exclude", "Exclude license", "Never bill this license here, and raise "
                                           "no notifications for it", self.toggle_exclusion)
        self.unmap_button = self._action("", "Remove mapping", "Stop billing this row", self.remove_mapping)
        self.custom_button = self._action("", "Add…", "Add a custom license: a row of its own, counted from the "
                                          "tenant's mailboxes, a group's members, its users, other licenses or a "
                                          "fixed number", self.add_custom)
        self.edit_custom_button = self._action("", "Change…", "Change the selected custom license's name or what it "
                                               "counts (its mapping stays)", self.change_custom)
        self.uncustom_button = self._action("", "Remove", "Remove the selected custom license (its mapping must be "
                                            "removed first)", self.remove_custom)
        actions = QHBoxLayout()
        for button in (self.map_button, self.split_button, self.merge_button, self.exclude_button, self.unmap_button):
            actions.addWidget(button)
        self.mapping_buttons = (self.split_button, self.merge_button, self.exclude_button, self.unmap_button,
                                self.custom_button, self.edit_custom_button, self.uncustom_button)
        for button in self.mapping_buttons:  # disabled for a role that may not map: the tooltip says who may
            button.setToolTip(self.role().refusal(Ability.MAP) or button.toolTip())
        actions.addStretch(1)
        actions.addWidget(PlainLabel("Custom license:", self))
        actions.addWidget(self.custom_button)
        actions.addWidget(self.edit_custom_button)
        actions.addWidget(self.uncustom_button)
        self.findings = FindingsPanel(self)
        self.findings.action.connect(self.resolve)

        self.model = LicenseTreeModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.tree = QTreeView(self)
        self.tree.setModel(self.proxy)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the snapshot's order until a header is clicked
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.SelectedClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.quick_map = QuickMapDelegate(self.tree, role=self.role())
        self.quick_map.mapping_chosen.connect(self._quick_mapped)
        self.tree.setItemDelegateForColumn(MAPPING, self.quick_map)
        self.tree.setItemDelegateForColumn(LICENSE, BadgeDelegate(self.tree))
        self.tree.doubleClicked.connect(self._double_clicked)
        self.tree.selectionModel().selectionChanged.connect(self._selection_changed)
        header_view = self.tree.header()
        header_view.setStretchLastSection(False)
        header_view.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # The license's name takes the width left; counts, amounts, terms and dates fit their text and header.
        header_view.setSectionResizeMode(LICENSE, QHeaderView.ResizeMode.Stretch)
        for column in (*FITTED, TENANT):
            header_view.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header_view.setMinimumSectionSize(48)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.chart = SeatsChart(self)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("companySplitter")
        self.splitter.addWidget(self.tree)
        self.splitter.addWidget(self.chart)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.result)
        layout.addWidget(self.messages)
        layout.addLayout(actions)
        layout.addWidget(self.findings)
        layout.addWidget(self.splitter, 1)
        self._selection_changed()

    def role(self) -> Role:
        """The connected database user's role (the owner when built without the window's services)."""
        return self.context.role() if self.context is not None else Role.OWNER

    def _action(self, icon: str, text: str, tip: str, slot: Callable[[], object]) -> QToolButton:
        button = QToolButton(self)
        if icon:
            button.setIcon(glyph(icon))
        button.setText(text)
        button.setToolTip(tip)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.clicked.connect(slot)
        return button

    # -- loading -------------------------------------------------------------------------

    def _sync_clicked(self) -> None:
        if self.company_id:
            self.sync_requested.emit(self.company_id)

    def load(self, company_id: int) -> None:
        if company_id != self.company_id:
            self.detail = None
            self.model.set_detail(None)
            self.result.hide()
            self.messages.hide()
            self.chart.clear()
            self.title.setText("Loading…")
            self.subtitle.clear()
        self.company_id = company_id
        self.tasks.run(lambda: self.service.company(company_id), self._show,
                       lambda error: self._failed(error, "Could not open the company"), label="open company")

    def refresh(self) -> None:
        if self.company_id is not None:
            self.load(self.company_id)

    def _show(self, detail: CompanyDetail) -> None:
        if detail.company.id != self.company_id:
            return  # another company was opened meanwhile
        selected = self.selected_row()
        first = self.detail is None or self.detail.company.id != detail.company.id
        self.detail = detail
        self.model.set_detail(detail)
        self.tree.setColumnHidden(TENANT, len({link.tenant_id for link in detail.links}) < 2)
        self.tree.expandAll()
        if first:  # size the mapping column once per company: a refresh keeps the width the user chose
            self.tree.resizeColumnToContents(MAPPING)
            self.tree.setColumnWidth(MAPPING, max(self.tree.columnWidth(MAPPING), MAPPING_WIDTH))
        self.title.setText(detail.company.name)
        self.title.setToolTip(tip(detail.company.name))
        tenants = ", ".join(detail.tenant_names) or "no tenant linked"
        if detail.partners:
            tenants += f" (partner connection {', '.join(detail.partners)})"
        read = f" · read {moment(detail.read_at)}" if detail.read_at else " · never read"
        billed = total(m for row in detail.licenses for m in row.monthly)
        bills = f" · bills {monthly_text(billed)} a month" if billed else ""
        attention = (f" · {detail.unmapped} license(s) need a billing profile" if detail.unmapped else "")
        held = f" · {detail.held} change(s) waiting for approval" if detail.held else ""
        # Snapshots keep counts per license, not per user: a filtered link's rows show the whole tenant's.
        counts = (" · seat counts are the whole tenant's; the mapping dialog counts the filtered users"
                  if any(link.user_filter for link in detail.links) else "")
        subtitle = f"{len(detail.licenses)} licenses{bills} · {tenants}{read}{attention}{held}{counts}"
        self.subtitle.setText(subtitle)
        self.subtitle.setToolTip(tip(subtitle.replace(" · ", "\n")))
        if not self.progress.isVisible():
            self.sync_status.setText(_last_sync_text(detail))
        if not detail.choices.profiles:
            self.messages.show_message("No billing profiles yet: create them under Billing profiles, then map "
                                       "each license here.", kind="info")
        self._reselect(selected)
        self.loaded.emit()

    def _reselect(self, previous: LicenseRow | SubscriptionRow | None) -> None:
        if previous is None or not self.select(lambda row: row.target == previous.target):
            self._selection_changed()

    def _failed(self, error: BaseException, doing: str) -> None:
        name = clip(self.detail.company.name) if self.detail else ""
        self.messages.show_message(explain(error, doing=f"{doing} {name}".strip()), kind="error",
                                   action="Retry", on_action=self.refresh)

    # -- selection -------------------------------------------------------------------------

    def selected_index(self) -> QModelIndex:
        indexes = self.tree.selectionModel().selectedRows(0) if self.tree.selectionModel() else []
        return self.proxy.mapToSource(indexes[0]) if indexes else QModelIndex()

    def selected_row(self) -> LicenseRow | SubscriptionRow | None:
        return self.model.row_of(self.selected_index())

    def selected_license(self) -> LicenseRow | None:
        return self.model.parent_license(self.selected_index())

    def select(self, predicate: Callable[[Any], bool]) -> bool:
        """Select the first row (licenses, then subscriptions) matching ``predicate``; tests and keyboard."""
        for row in range(self.proxy.rowCount()):
            parent = self.proxy.index(row, 0)
            for index in [parent] + [self.proxy.index(n, 0, parent) for n in range(self.proxy.rowCount(parent))]:
                if predicate(index.data(ROW_ROLE)):
                    self.tree.setCurrentIndex(index)
                    return True
        return False

    def _selection_changed(self, *_: QItemSelection) -> None:
        row, owner = self.selected_row(), self.selected_license()
        mappable = owner is not None and not owner.excluded and (
            (isinstance(row, LicenseRow) and not owner.split and owner.in_tenant)
            or (isinstance(row, SubscriptionRow) and owner.split))
        self.map_button.setEnabled(mappable and self.detail is not None and bool(self.detail.choices.profiles))
        self.split_button.setEnabled(owner is not None and owner.can_split)
        self.merge_button.setEnabled(owner is not None and owner.split)
        self.exclude_button.setEnabled(owner is not None and not owner.excluded_globally)
        self.exclude_button.setText("Include again" if owner is not None and owner.excluded else "Exclude license")
        self.unmap_button.setEnabled(row is not None and getattr(row, "mapping", None) is not None)
        self.custom_button.setEnabled(self.detail is not None and bool(self.detail.tenants)
                                      and self._custom_service() is not None)
        custom = isinstance(row, LicenseRow) and bool(row.custom_rule) and self._custom_service() is not None
        self.edit_custom_button.setEnabled(custom)
        self.uncustom_button.setEnabled(custom)
        if not self.role().may_map:
            for button in self.mapping_buttons:
                button.setEnabled(False)
        self.findings.show_findings(owner.name if owner else "", owner.findings if owner else (),
                                    may_map=self.role().may_map)
        if owner is None:
            self.chart.clear()
            return
        tenant, sku, name = owner.target.tenant_id, owner.license.sku_id, owner.name
        self.chart.clear(f"{clip(name)}: seats over time")
        self.tasks.run(lambda: self.service.history(tenant, sku),
                       lambda points: self._chart(owner, points), lambda error: None, label="seat history")

    def _chart(self, owner: LicenseRow, points: list) -> None:
        selected = self.selected_license()
        if selected is not None and selected.target == owner.target:
            self.chart.set_points(points, f"{clip(owner.name)}: seats over time")

    # -- commands --------------------------------------------------------------------------

    def resolve(self, action: str) -> None:
        """A finding's button: the mapping dialog of the selected row, or the view where it is resolved."""
        if action == FindingAction.MAP:
            self.open_mapping()
            return
        show_view = getattr(self.window(), "show_view", None)
        if show_view is not None:
            show_view(action)


    def _command(self, fn: Callable[[], Any], doing: str,
                 on_failure: Callable[[BaseException], None] | None = None) -> None:
        def done(_: Any) -> None:
            self.changed.emit()
            self.refresh()

        self.messages.hide()
        self.tasks.run(fn, done, on_failure or (lambda error: self._failed(error, doing)), label=doing)

    def _quick_mapped(self, row: LicenseRow | SubscriptionRow, profile_id: str, agreement_id: str) -> None:
        self._command(lambda: self.service.quick_map(row.target, profile_id, agreement_id, row.mapping,
                                                     actor=current_user()),
                      "Could not map the license for")

    def _double_clicked(self, index: QModelIndex) -> None:
        if not (index.column() == MAPPING and index.flags() & Qt.ItemFlag.ItemIsEditable):
            self.open_mapping()

    def open_mapping(self) -> None:
        row = self.selected_row()
        if row is None or not self.map_button.isEnabled():
            return
        target, existing = row.target, row.mapping
        self.tasks.run(lambda: self.service.mapping_inputs(target, existing), self._ask_mapping,
                       lambda error: self._failed(error, "Could not open the mapping of"), label="mapping inputs")

    def _ask_mapping(self, inputs: Any) -> None:
        mapping: Mapping | None = MappingDialog.ask(self, inputs, role=self.role())
        if mapping is None:
            return

        def failed(error: BaseException) -> None:
            if isinstance(error, EditConflict):  # someone saved it first: show theirs, saying so
                self._reopen_mapping(inputs, error)
                return
            # The edits are not lost: "Edit again" reopens the dialog with them.
            name = clip(self.detail.company.name) if self.detail else ""
            self.messages.show_message(explain(error, doing=f"Could not save the mapping for {name}".strip()),
                                       action="Edit again",
                                       on_action=lambda: self._ask_mapping(replace(inputs, existing=mapping)))

        company_id, replacing = inputs.target.company_id, inputs.existing.row if inputs.existing else None
        version, actor = inputs.version, current_user()
        self._command(lambda: self.service.save_mapping(mapping, company_id=company_id, replacing=replacing,
                                                        expected_version=version, actor=actor),
                      "Could not save the mapping for", failed)

    def _reopen_mapping(self, inputs: Any, conflict: EditConflict) -> None:
        """The mapping dialog again, on the mapping as stored now, saying whose change it shows."""
        target, existing = inputs.target, inputs.existing
        self.refresh()
        self.tasks.run(lambda: self.service.mapping_inputs(target, existing),
                       lambda fresh: self._ask_mapping(replace(fresh, notice=conflict.shown("The dialog"))),
                       lambda error: self._failed(error, "Could not open the mapping of"), label="mapping inputs")

    def open_links(self) -> LinksDialog | None:
        if self.company_id is None:
            return None
        # The window's link service; over the page's own unit of work when built without the window's services.
        links = self.context.links if self.context is not None else LinkService(self.service.uow)
        dialog = LinksDialog.open_for(self, links, self.tasks, self.company_id)
        dialog.changed.connect(self.changed)
        dialog.changed.connect(self.refresh)
        return dialog

    def open_contacts(self) -> ContactsDialog | None:
        """The company's contact sync (none when built without the window's services: no Microsoft)."""
        if self.company_id is None or self.context is None:
            return None
        name = self.detail.company.name if self.detail is not None else ""
        return ContactsDialog.open_for(self, self.context.contacts, self.tasks, self.company_id, name)

    def split(self) -> None:
        owner = self.selected_license()
        if owner is not None:
            self._command(lambda: self.service.split(owner, actor=current_user()), "Could not split the license for")

    def merge(self) -> None:
        owner = self.selected_license()
        if owner is not None:
            self._command(lambda: self.service.merge(owner, actor=current_user()), "Could not merge the license for")

    def toggle_exclusion(self) -> None:
        owner = self.selected_license()
        if owner is None:
            return
        tenant, sku = owner.target.tenant_id, owner.license.sku_id
        if owner.excluded:
            self._command(lambda: self.service.include(tenant, sku, actor=current_user()),
                          "Could not include the license for")
        else:
            self._command(lambda: self.service.exclude(tenant, sku, "excluded from the company's license table",
                                                       actor=current_user()),
                          "Could not exclude the license for")

    def remove_mapping(self) -> None:
        row = self.selected_row()
        if row is not None and row.mapping is not None:
            key = row.mapping.row
            self._command(lambda: self.service.delete_mapping(key, actor=current_user()),
                          "Could not remove the mapping for")

    # -- custom licenses ---------------------------------------------------------------------

    def _custom_service(self) -> CustomLicenseService | None:
        """The window's custom licenses service (None when built without the window's services: no Microsoft)."""
        return self.context.custom_licenses if self.context is not None else None

    def add_custom(self) -> CustomLicenseDialog | None:
        return self.open_custom(None)

    def open_custom(self, editing: CustomEdit | None) -> CustomLicenseDialog | None:
        """The custom license dialog, adding one or changing ``editing``."""
        service = self._custom_service()
        if service is None or self.detail is None:
            return None
        detail = self.detail
        licenses: dict[str, list[tuple[str, str]]] = {}
        for r in detail.licenses:
            if r.in_tenant:
                licenses.setdefault(r.target.tenant_id, []).append((r.license.sku_id, r.name))
        self.custom_dialog = CustomLicenseDialog(service, self.tasks, detail.tenants, licenses, self, editing=editing)
        self.custom_dialog.added.connect(lambda added: self._custom_added(added, changed=editing is not None))
        self.custom_dialog.show()
        return self.custom_dialog

    def _custom_added(self, added: CustomAdded, *, changed: bool = False) -> None:
        then = "Its mapping bills them from the next sync." if added.mapped else "Map it to bill it."
        self.messages.show_message(f"{clip(added.custom.name)} {'changed' if changed else 'added'}: {added.seats} "
                                   f"seat(s) now. {then}", kind="ok")
        self.changed.emit()
        self.refresh()

    def change_custom(self) -> None:
        """Open the selected custom license in its dialog, as stored now (read on a worker)."""
        owner, service = self.selected_license(), self._custom_service()
        if owner is None or not owner.custom_rule or service is None:
            return
        custom_id = owner.license.sku_id.removeprefix(CUSTOM_PREFIX)
        self.tasks.run(lambda: service.editing(custom_id), self.open_custom,
                       lambda error: self._failed(error, "Could not open the custom license of"), owner=self,
                       label="open custom license")

    def remove_custom(self) -> None:
        owner, service = self.selected_license(), self._custom_service()
        if owner is None or not owner.custom_rule or service is None:
            return
        custom_id = owner.license.sku_id.removeprefix(CUSTOM_PREFIX)
        self._command(lambda: service.remove(custom_id, actor=current_user()),
                      "Could not remove the custom license of")

    # -- sync --------------------------------------------------------------------------------

    def _concerns(self, target: str) -> bool:
        return self.company_id is not None and target in (ALL, str(self.company_id))

    def on_sync_started(self, target: str) -> None:
        if self._concerns(target):
            self.progress.show()
            self.sync_button.setEnabled(False)
            self.sync_status.setText("Syncing…")

    def on_sync_progress(self, target: str, text: str) -> None:
        if self._concerns(target) and self.progress.isVisible():
            self.sync_status.setText(f"Syncing… {text}" if text else "Syncing…")

    def on_sync_finished(self, target: str, summary: RunSummary | None, error: BaseException | None) -> None:
        if not self._concerns(target):
            return
        self.progress.hide()
        self.sync_button.setEnabled(self.role().may_sync)
        choices = self.detail.choices if self.detail else None
        tenants = {link.tenant_id for link in self.detail.links} if self.detail else set()
        if error is not None:
            self.result.show_error(error)
        elif summary is not None and choices is not None:
            self.result.show_result([r for r in summary.results if r.tenant_id in tenants], choices)
        self.sync_status.clear()
        self.refresh()


def _last_sync_text(detail: CompanyDetail) -> str:
    last = detail.last_sync
    if last.at is None:
        return "Never synced"
    outcome = {"ok": "OK", "failed": "failed", "partial": "partly failed"}.get(last.status, last.status)
    return f"Last sync {moment(last.at)}: {outcome}"
