"""The billing profile form beside the profiles table: product, price policy, billing option, types.

The effective price next to the PSA price is the billing core's
``PricePolicy.unit_price`` (through app.services.customers.profiles.effective_price):
a pure computation, so it updates as the user types. A fixed price or a
percentage is read exactly as typed, or refused beside its field with the
reason (a fixed price with more decimals than its currency has is refused,
not rounded).
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.billing.money import minor_unit
from app.billing.types import BillingOption, BillingProfile, PriceKind, PricePolicy, Product
from app.services.customers.profiles import ConnectionCatalog, effective_price, option_text, policy_text, product_label
from app.ui.formatting import Refused, money
from app.ui.views.tables import searchable
from app.ui.widgets.fields import AmountField
from app.ui.widgets.plain import PlainLabel, clip
from app.ui.widgets.tones import text_tone

KIND_LABELS = {PriceKind.PSA: "The PSA's price", PriceKind.FIXED: "A fixed price",
               PriceKind.PERCENT: "The PSA's price adjusted by a percentage"}
#: What a percentage may be, either way.
PERCENT_LIMIT = Decimal(1000)


def fixed_price_field() -> AmountField:
    field = AmountField("The fixed price")
    field.setPlaceholderText("e.g. 20.00")
    return field


def percent_field() -> AmountField:
    field = AmountField("The percentage", negative=True, limit=PERCENT_LIMIT)
    field.setPlaceholderText("e.g. 10 or -5")
    return field


def fixed_price(value: Decimal, currency: str) -> Decimal:
    """A fixed price as typed; more decimals than the currency has are refused, never rounded away."""
    places = minor_unit(currency)
    if -value.normalize().as_tuple().exponent > places:  # type: ignore[operator]
        raise Refused(f"The fixed price has more decimals than {currency} has ({places}): "
                      f"type it as the invoice shows it, not {value}.")
    return value


def policy_label(policy: PricePolicy, currency: str) -> str:
    """A price policy in words, its fixed price as money."""
    if policy.kind is PriceKind.FIXED and policy.fixed is not None:
        return f"fixed {money(policy.fixed, currency)}"
    return policy_text(policy)


class ProfileEditor(QGroupBox):
    #: The form's values differ from the profile it shows (or a new one was started).
    dirty_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Billing profile", parent)
        self.catalogs: list[ConnectionCatalog] = []
        self.profile: BillingProfile | None = None
        #: The shown profile's version when read: handed back on save, so a profile someone else saved
        #: meanwhile is refused (EditConflict) rather than overwritten.
        self.version: int | None = None
        self.dirty = False
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. M365 Business Premium - Annual/Monthly 2026")
        self.connection = QComboBox()
        self.product = searchable(QComboBox())
        self.psa_price = PlainLabel("—")
        self.kind = QComboBox()
        for kind, label in KIND_LABELS.items():
            self.kind.addItem(label, kind)
        self.fixed = fixed_price_field()
        self.percent = percent_field()
        self.effective = PlainLabel("—")
        self.effective.setObjectName("effective_price")
        self.effective.setWordWrap(True)
        self.option = QComboBox()
        for option in BillingOption:
            self.option.addItem(option_text(option), option)
        self.types = QListWidget()
        self.types.setMaximumHeight(110)
        form.addRow("Name", self.name)
        form.addRow("PSA connection", self.connection)
        form.addRow("PSA product", self.product)
        form.addRow("PSA price", self.psa_price)
        form.addRow("Price", self.kind)
        self._fixed_row, self._percent_row = self.fixed.holder(), self.percent.holder()
        form.addRow("Fixed price", self._fixed_row)
        form.addRow("Percentage", self._percent_row)
        form.addRow("Bills at", self.effective)
        form.addRow("Billing option", self.option)
        form.addRow("Agreement types\n(none ticked: any)", self.types)
        self.form = form
        layout.addLayout(form)
        self.error = PlainLabel()
        text_tone(self.error, "error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QHBoxLayout()
        self.save_button = QPushButton("Save profile")
        self.discard_button = QPushButton("Discard changes")
        buttons.addStretch(1)
        buttons.addWidget(self.discard_button)
        buttons.addWidget(self.save_button)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.connection.currentIndexChanged.connect(self._connection_changed)
        for signal in (self.product.currentIndexChanged, self.kind.currentIndexChanged, self.fixed.textEdited,
                       self.percent.textEdited):
            signal.connect(self._update_price)
        for signal in (self.name.textEdited, self.product.currentIndexChanged, self.kind.currentIndexChanged,
                       self.fixed.textEdited, self.percent.textEdited, self.option.currentIndexChanged):
            signal.connect(lambda *_: self._set_dirty(True))
        self.types.itemChanged.connect(lambda _: self._set_dirty(True))
        self.discard_button.clicked.connect(
            lambda: self.show_profile(self.profile, self._connection_id(), self.version))
        self._update_price()

    # -- contents ---------------------------------------------------------------

    def set_catalogs(self, catalogs: list[ConnectionCatalog]) -> None:
        self.catalogs = catalogs
        current = self.connection.currentData()
        self.connection.blockSignals(True)
        self.connection.clear()
        for catalog in catalogs:
            self.connection.addItem(catalog.name, catalog.connection_id)
        index = self.connection.findData(current)
        self.connection.setCurrentIndex(index if index >= 0 else 0)
        self.connection.blockSignals(False)
        self.form.setRowVisible(self.connection, len(catalogs) > 1)
        if not self.dirty:
            said = self.error.text()  # what the form reported (a save refused) stands through a new catalog
            self.show_profile(self.profile, self._connection_id(), self.version)
            self.error.setText(said)

    def show_profile(self, profile: BillingProfile | None, connection_id: int | None,
                     version: int | None = None) -> None:
        """Show ``profile`` (None: a new one) at ``version`` for editing; the form is clean afterwards."""
        self.profile = profile
        self.version = version
        widgets = (self.name, self.connection, self.product, self.kind, self.fixed, self.percent, self.option)
        for widget in (*widgets, self.types):
            widget.blockSignals(True)
        if connection_id is not None and self.connection.findData(connection_id) >= 0:
            self.connection.setCurrentIndex(self.connection.findData(connection_id))
        self.connection.setEnabled(profile is None)
        self._fill_products()
        self.name.setText(profile.name if profile else "")
        product_id = profile.product.id if profile else None
        self.product.setCurrentIndex(self.product.findData(product_id) if product_id else -1)
        policy = profile.price if profile else PricePolicy()
        self.kind.setCurrentIndex(self.kind.findData(policy.kind))
        self.fixed.set_amount(policy.fixed)
        self.percent.set_amount(None if policy.percent is None else policy.percent.normalize())
        self.option.setCurrentIndex(self.option.findData(profile.billing_option if profile else BillingOption.BILLABLE))
        self._fill_types(profile.allowed_agreement_types if profile else frozenset())
        for widget in (*widgets, self.types):
            widget.blockSignals(False)
        self.setTitle(f"Billing profile: {clip(profile.name)}" if profile else "New billing profile")
        self.error.clear()
        self._update_price()
        self._set_dirty(False)

    def _connection_id(self) -> int | None:
        return self.connection.currentData()

    def _catalog(self) -> ConnectionCatalog | None:
        return next((c for c in self.catalogs if c.connection_id == self._connection_id()), None)

    def _connection_changed(self) -> None:
        self._fill_products()
        self._fill_types(frozenset())
        self._update_price()

    def _fill_products(self) -> None:
        catalog = self._catalog()
        self.product.blockSignals(True)
        self.product.clear()
        for product in catalog.products if catalog else ():
            self.product.addItem(product_label(product) + ("" if product.active else " (inactive)"), product.id)
        self.product.setCurrentIndex(-1)
        self.product.blockSignals(False)

    def _fill_types(self, ticked: frozenset[str]) -> None:
        catalog = self._catalog()
        self.types.blockSignals(True)
        self.types.clear()
        for name in sorted(set(catalog.agreement_types if catalog else ()) | set(ticked)):
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in ticked else Qt.CheckState.Unchecked)
            self.types.addItem(item)
        self.types.blockSignals(False)

    def selected_product(self) -> Product | None:
        catalog = self._catalog()
        product_id = self.product.currentData()
        if catalog is None or product_id is None or self.product.currentIndex() < 0:
            return None
        return next((p for p in catalog.products if p.id == product_id), None)

    # -- values -------------------------------------------------------------------

    def _currency(self) -> str:
        catalog = self._catalog()
        return catalog.currency if catalog else "USD"

    def policy(self) -> PricePolicy:
        """``Refused`` (a ValueError) names the field that is not a price or a percentage, and why."""
        kind = PriceKind(self.kind.currentData())
        if kind is PriceKind.FIXED:
            return PricePolicy(kind=kind, fixed=fixed_price(self.fixed.value(), self._currency()))
        if kind is PriceKind.PERCENT:
            return PricePolicy(kind=kind, percent=self.percent.value())
        return PricePolicy()

    def value(self) -> tuple[int, BillingProfile]:
        """(connection id, the profile as typed); ValueError names what is missing or wrong."""
        product = self.selected_product()
        if product is None:
            raise ValueError("choose the PSA product this profile bills")
        if not self.name.text().strip():
            raise ValueError("give the profile a name")
        types = frozenset(self.types.item(i).text() for i in range(self.types.count())
                          if self.types.item(i).checkState() == Qt.CheckState.Checked)
        profile = BillingProfile(id=self.profile.id if self.profile else "", name=self.name.text().strip(),
                                 product=product, price=self.policy(),
                                 billing_option=BillingOption(self.option.currentData()),
                                 allowed_agreement_types=types)
        connection_id = self._connection_id()
        if connection_id is None:
            raise ValueError("connect a PSA in Settings first")
        return connection_id, profile

    def _update_price(self, *_: object) -> None:
        kind = PriceKind(self.kind.currentData())
        self.form.setRowVisible(self._fixed_row, kind is PriceKind.FIXED)
        self.form.setRowVisible(self._percent_row, kind is PriceKind.PERCENT)
        product = self.selected_product()
        currency = self._currency()
        self.psa_price.setText("—" if product is None else money(product.price, currency))
        if product is None:
            self.effective.setText("—")
            return
        try:
            policy = self.policy()
        except ValueError as error:
            self.effective.setText(str(error))
            return
        price = effective_price(policy, product.price, currency)
        note = f"  ({policy_text(policy)}: follows the PSA's price)" if kind is PriceKind.PERCENT else ""
        self.effective.setText(f"{money(price, currency)} per seat{note}")

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self.dirty_changed.emit(dirty)
        self.discard_button.setEnabled(dirty)
