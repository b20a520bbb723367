"""Create billing profiles in bulk: one per ticked PSA product, named after it, with one price policy."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.billing.types import BillingOption, BillingProfile, PriceKind, PricePolicy, Product
from app.services.customers.profiles import (
    ConnectionCatalog,
    ProfileService,
    effective_price,
    option_text,
    profile_name,
)
from app.ui.formatting import money
from app.ui.tasks import Tasks
from app.ui.views.profile_editor import KIND_LABELS, fixed_price, fixed_price_field, percent_field
from app.ui.views.row_model import Column, RowTableModel
from app.ui.views.tables import StatusLine, current_user, table_view
from app.ui.widgets.plain import PlainLabel


@dataclass(frozen=True, kw_only=True)
class ProductRow:
    product: Product
    has_profile: bool
    currency: str


COL_PICK, COL_IDENTIFIER, COL_DESCRIPTION, COL_PRICE, COL_PROFILE = range(5)
COLUMNS: tuple[Column[ProductRow], ...] = (
    Column("Create", lambda r: ""),
    Column("Identifier", lambda r: r.product.identifier),
    Column("Profile name", lambda r: profile_name(r.product)),
    Column("PSA price", lambda r: money(r.product.price, r.currency), lambda r: r.product.price, numeric=True),
    Column("Already has a profile", lambda r: "yes" if r.has_profile else ""),
)


class BulkProfilesDialog(QDialog):
    def __init__(self, service: ProfileService, tasks: Tasks, catalogs: list[ConnectionCatalog],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.tasks = tasks
        self.catalogs = catalogs
        self.created: list[BillingProfile] = []
        self.setWindowTitle("Create billing profiles from PSA products")
        self.resize(760, 520)
        layout = QVBoxLayout(self)
        layout.addWidget(PlainLabel("Tick the products to bill. Each gets one profile, named after the product; "
                                    "rename them later (e.g. per NCE term)."))
        form = QFormLayout()
        self.connection = QComboBox()
        for catalog in catalogs:
            self.connection.addItem(catalog.name, catalog.connection_id)
        form.addRow("PSA connection", self.connection)
        form.setRowVisible(self.connection, len(catalogs) > 1)
        layout.addLayout(form)
        self.model: RowTableModel[ProductRow] = RowTableModel(COLUMNS, checkable=True, key=lambda r: r.product.id)
        self.table, self.proxy = table_view(self.model, self, multi=True)
        layout.addWidget(self.table, 1)
        policy = QFormLayout()
        self.kind = QComboBox()
        for kind, label in KIND_LABELS.items():
            self.kind.addItem(label, kind)
        self.fixed = fixed_price_field()
        self.percent = percent_field()
        self.option = QComboBox()
        for option in BillingOption:
            self.option.addItem(option_text(option), option)
        policy.addRow("Price", self.kind)
        self._fixed_row, self._percent_row = self.fixed.holder(), self.percent.holder()
        policy.addRow("Fixed price", self._fixed_row)
        policy.addRow("Percentage", self._percent_row)
        policy.addRow("Billing option", self.option)
        self.policy_form = policy
        layout.addLayout(policy)
        self.message = StatusLine()
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        self.all_button = QPushButton("Tick all without a profile")
        self.create_button = QPushButton("Create profiles")
        self.create_button.setDefault(True)
        cancel = QPushButton("Cancel")
        buttons.addWidget(self.all_button)
        buttons.addStretch(1)
        buttons.addWidget(self.create_button)
        buttons.addWidget(cancel)
        layout.addLayout(buttons)
        self.connection.currentIndexChanged.connect(self._fill)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.all_button.clicked.connect(self.tick_unprofiled)
        self.create_button.clicked.connect(self.create_profiles)
        cancel.clicked.connect(self.reject)
        self._fill()
        self._kind_changed()

    @classmethod
    def ask(cls, parent: QWidget | None, service: ProfileService, tasks: Tasks,
            catalogs: list[ConnectionCatalog]) -> list[BillingProfile] | None:
        """Run the dialog; the profiles created, or None when cancelled."""
        dialog = cls(service, tasks, catalogs, parent)
        return dialog.created if dialog.exec() == QDialog.DialogCode.Accepted else None

    def _catalog(self) -> ConnectionCatalog:
        return next(c for c in self.catalogs if c.connection_id == self.connection.currentData())

    def _fill(self) -> None:
        catalog = self._catalog()
        self.model.set_rows([ProductRow(product=p, has_profile=p.id in catalog.profiled, currency=catalog.currency)
                             for p in catalog.products if p.active], checked=())
        self.table.resizeColumnsToContents()

    def _kind_changed(self) -> None:
        kind = PriceKind(self.kind.currentData())
        self.policy_form.setRowVisible(self._fixed_row, kind is PriceKind.FIXED)
        self.policy_form.setRowVisible(self._percent_row, kind is PriceKind.PERCENT)

    def tick_unprofiled(self) -> None:
        for row in self.model.rows():
            self.model.set_checked(row, not row.has_profile)

    def policy(self) -> PricePolicy:
        kind = PriceKind(self.kind.currentData())
        if kind is PriceKind.FIXED:
            return PricePolicy(kind=kind, fixed=fixed_price(self.fixed.value(), self._catalog().currency))
        if kind is PriceKind.PERCENT:
            return PricePolicy(kind=kind, percent=self.percent.value())
        return PricePolicy()

    def create_profiles(self) -> None:
        rows = self.model.checked_rows()
        if not rows:
            self.message.show_message("Tick at least one product.", "error")
            return
        try:
            policy = self.policy()
        except ValueError as error:
            self.message.show_message(f"Not created: {str(error).rstrip('.')}.", "error")
            return
        connection_id = self.connection.currentData()
        product_ids = [r.product.id for r in rows]
        option = BillingOption(self.option.currentData())
        example = rows[0]
        price = effective_price(policy, example.product.price, example.currency)
        self.message.show_message(f"Creating {len(rows)} profile(s); e.g. {profile_name(example.product)} bills "
                                  f"at {money(price, example.currency)}…")
        self.create_button.setEnabled(False)
        actor = current_user()
        self.tasks.run(lambda: self.service.bulk_create(connection_id, product_ids, price=policy,
                                                        billing_option=option, actor=actor),
                       self._created, self._failed, owner=self, label="create profiles")

    def _created(self, profiles: list[BillingProfile]) -> None:
        self.created = profiles
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.create_button.setEnabled(True)
        self.message.show_error(error, "Creating the profiles")
