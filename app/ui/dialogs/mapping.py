"""The mapping dialog: every option of a license row's mapping, with a live preview of the PSA line(s).

The preview calls ``app.services.customers.mapping_preview.preview_mapping``, which runs
the billing core's ``plan`` — the function every sync runs — on plain values,
so the quantity, description and amount shown are what a sync today would
write. It is recomputed shortly after the last change (a QTimer throttles
typing), on the UI thread: it is pure and reads nothing.

``MappingDialog.ask(parent, inputs) -> Mapping | None`` opens it modally;
tests open it without ``ask`` and drive the widgets. When a save was refused
because someone saved the mapping meanwhile (EditConflict), the company page
opens it again on the mapping as now stored, its message above the fields
(``MappingInputs.notice``).

Its numbers and the start date take exactly what was typed: a value that is
not one (a negative seat count, a day that does not exist) is named beside
its field and in the line above Save, and Save stays disabled.
"""

from __future__ import annotations

import html
from datetime import date

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.billing.types import Cycle, FilterField, Mapping, QuantityBasis, UserFilter
from app.services.customers.company_rows import MappingInputs
from app.services.customers.mapping_preview import Preview, PreviewLine, preview_mapping
from app.services.team.roles import Ability, Role
from app.ui.formatting import money
from app.ui.widgets.fields import DateField, WholeField
from app.ui.widgets.plain import PlainLabel, clip
from app.ui.widgets.tones import follow_palette, muted, style, text_tone, tint, tone

PREVIEW_DELAY_MS = 150
#: The most seats a count typed here may be.
MAX_SEATS = 100_000
FILTER_LABELS = {"": "Every user of the tenant", FilterField.OFFICE: "Office", FilterField.DEPARTMENT: "Department",
                 FilterField.CITY: "City", FilterField.STATE: "State", FilterField.UPN_DOMAIN: "UPN domain"}
COUNT_LABELS = {"license": "This license's seats", QuantityBasis.UPN_DOMAIN: "Licensed users with a UPN domain",
                QuantityBasis.SUM_OF_LICENSES: "Assigned seats of other licenses, summed"}


class MappingDialog(QDialog):
    preview_updated = Signal(object)  # Preview

    def __init__(self, parent: QWidget | None, inputs: MappingInputs, *, role: Role = Role.OWNER) -> None:
        super().__init__(parent)
        self.inputs = inputs
        #: What the connected database user may do: Save is off unless it may map (the database refuses it).
        self.role = role
        self.may_save = role.may_map
        self.preview: Preview = Preview()
        lic = inputs.license
        name = (lic.name or lic.part_number or lic.sku_id) if lic else inputs.target.sku_id
        sub = f" · subscription {inputs.target.subscription_id}" if inputs.target.subscription_id else ""
        self.setWindowTitle(f"Map {clip(name)}{sub}")
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(PREVIEW_DELAY_MS)
        self.timer.timeout.connect(self.update_preview)
        self._build(name + sub)
        self._load(inputs.existing)
        self.update_preview()
        # The preview's grey and warning text are written into its HTML: write it again for a new palette.
        follow_palette(self.preview_label, self._show_preview, now=False)

    # -- widgets -------------------------------------------------------------------------

    def _build(self, heading: str) -> None:
        choices = self.inputs.choices
        self.profile = QComboBox(self)
        self.profile.addItem("Choose a billing profile…", None)
        for profile in choices.profiles:
            self.profile.addItem(profile.name, profile.id)
        self.agreement = QComboBox(self)
        self.count = QComboBox(self)
        for key, label in COUNT_LABELS.items():
            self.count.addItem(label, key)
        self.unassigned = QCheckBox("Bill unassigned seats (purchased, not only assigned)", self)
        self.domain = QLineEdit(self)
        self.domain.setPlaceholderText("contoso.com")
        self.others = QListWidget(self)
        self.others.setMaximumHeight(90)
        for lic in self.inputs.licenses:
            if lic.sku_id.lower() != self.inputs.target.sku_id.lower():
                item = QListWidgetItem(f"{lic.name or lic.part_number} ({lic.assigned} assigned)", self.others)
                item.setData(Qt.ItemDataRole.UserRole, lic.sku_id)
                item.setCheckState(Qt.CheckState.Unchecked)
        self.included = self._seats("Included seats", "Seats not billed: the customer's agreement includes them")
        self.minimum = self._seats("Minimum quantity", "Bill at least this many seats")
        self.usernames = QCheckBox("List the users' names in the line's description", self)
        self.negative = QCheckBox("Credit seats removed mid-period (negative proration)", self)
        self.start = QCheckBox("Start billing on", self)
        self.start_date = DateField(parent=self)
        self.start_date.setToolTip("The day billing starts (migrations): type it as 15 Nov 2026 or 2026-11-15")
        today = self.inputs.today
        self.start_date.set_day(date(today.year, today.month, 1))
        self.description = QLineEdit(self)
        self.filter_field = QComboBox(self)
        for key, label in FILTER_LABELS.items():
            self.filter_field.addItem(label, key)
        self.filter_value = QLineEdit(self)
        self.filter_value.setPlaceholderText("e.g. Leeds")

        what = QGroupBox("Bill through", self)
        form = QFormLayout(what)
        form.addRow("Billing profile", self.profile)
        form.addRow("Agreement", self.agreement)
        quantity = QGroupBox("Quantity", self)
        qform = self.quantity_form = QFormLayout(quantity)
        qform.addRow("Count", self.count)
        qform.addRow("", self.unassigned)
        qform.addRow("UPN domain", self.domain)
        qform.addRow("Licenses", self.others)
        qform.addRow("Included seats", self.included.holder(self))
        qform.addRow("Minimum quantity", self.minimum.holder(self))
        qform.addRow("Users", _row(self.filter_field, self.filter_value))
        line = QGroupBox("Line", self)
        lform = QFormLayout(line)
        lform.addRow("Description", self.description)
        lform.addRow("", self.usernames)
        lform.addRow("", self.negative)
        lform.addRow(self.start, self.start_date.holder(self))
        options = QVBoxLayout()
        for box in (what, quantity, line):
            options.addWidget(box)
        options.addStretch(1)

        self.preview_label = QLabel(self)
        self.preview_label.setObjectName("preview")
        self.preview_label.setWordWrap(True)
        self.preview_label.setTextFormat(Qt.TextFormat.RichText)
        self.preview_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.preview_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        panel = QFrame(self)
        panel.setObjectName("previewPanel")
        style(panel, lambda: f"#previewPanel {{ background: {tint('info').name()}; border-radius: 6px; }}")
        pbox = QVBoxLayout(panel)
        title = QLabel(f"<b>Preview</b> — {html.escape(heading)}", panel)  # rich on purpose: the heading is escaped
        title.setTextFormat(Qt.TextFormat.RichText)
        title.setWordWrap(True)
        scroll = QScrollArea(panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        style(scroll, "QScrollArea, QScrollArea > QWidget > QWidget { background: transparent; }")
        scroll.setWidget(self.preview_label)
        pbox.addWidget(title)
        pbox.addWidget(scroll, 1)
        panel.setMinimumWidth(340)

        self.problem = PlainLabel(parent=self)
        text_tone(self.problem, "error")
        # Why the dialog shows someone else's change: their save came first, ours was refused (EditConflict).
        self.notice = PlainLabel(self.inputs.notice, parent=self)
        self.notice.setObjectName("conflictNotice")
        self.notice.setWordWrap(True)
        text_tone(self.notice, "warning")
        self.notice.setVisible(bool(self.inputs.notice))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setToolTip(self.role.refusal(Ability.MAP))
        body = QHBoxLayout()
        body.addLayout(options, 3)
        body.addWidget(panel, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addLayout(body, 1)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.resize(900, 620)

        self.profile.currentIndexChanged.connect(self._profile_changed)
        for signal in (self.agreement.currentIndexChanged, self.count.currentIndexChanged,
                       self.filter_field.currentIndexChanged, self.included.textChanged,
                       self.minimum.textChanged, self.start_date.textChanged, self.domain.textChanged,
                       self.description.textChanged, self.filter_value.textChanged, self.others.itemChanged):
            signal.connect(self.schedule_preview)
        for toggle in (self.unassigned, self.usernames, self.negative, self.start):
            toggle.toggled.connect(self.schedule_preview)

    def _seats(self, what: str, tip: str) -> WholeField:
        field = WholeField(what, maximum=MAX_SEATS, parent=self)
        field.setValue(0)
        field.setToolTip(tip)
        return field

    def _load(self, mapping: Mapping | None) -> None:
        target = self.inputs.target
        user_filter = mapping.user_filter if mapping else target.user_filter
        if mapping is not None:
            self.profile.setCurrentIndex(max(self.profile.findData(mapping.profile.id), 0))
            self._profile_changed(keep=mapping.agreement_id)
            custom = mapping.basis in (QuantityBasis.UPN_DOMAIN, QuantityBasis.SUM_OF_LICENSES)
            self.count.setCurrentIndex(self.count.findData(mapping.basis if custom else "license"))
            self.unassigned.setChecked(mapping.basis is QuantityBasis.PURCHASED)
            if mapping.basis is QuantityBasis.UPN_DOMAIN:
                self.domain.setText(mapping.basis_param)
            chosen = {s.strip().lower() for s in mapping.basis_param.split(",")}
            for n in range(self.others.count()):
                item = self.others.item(n)
                if (mapping.basis is QuantityBasis.SUM_OF_LICENSES
                        and item.data(Qt.ItemDataRole.UserRole).lower() in chosen):
                    item.setCheckState(Qt.CheckState.Checked)
            self.included.setValue(mapping.included_quantity)
            self.minimum.setValue(mapping.minimum_quantity)
            self.usernames.setChecked(mapping.usernames_in_description)
            self.negative.setChecked(mapping.negative_proration)
            self.description.setText(mapping.description_override)
            if mapping.start_date_override:
                day = mapping.start_date_override
                self.start.setChecked(True)
                self.start_date.set_day(day)
        else:
            self._profile_changed()
        if user_filter is not None:
            self.filter_field.setCurrentIndex(self.filter_field.findData(user_filter.field))
            self.filter_value.setText(user_filter.value)
        self._enable()

    def _profile_changed(self, *_: object, keep: str = "") -> None:
        keep = keep or (self.agreement.currentData() or "")
        profile = self.inputs.choices.profile(self.profile.currentData() or "")
        allowed = self.inputs.choices.agreements_for(profile)
        self.agreement.blockSignals(True)
        self.agreement.clear()
        for agreement in allowed:
            self.agreement.addItem(f"{agreement.name} ({agreement.type_name or 'no type'})", agreement.id)
        if profile is not None and not allowed:
            types = ", ".join(sorted(profile.allowed_agreement_types))
            self.agreement.addItem(f"No agreement of type {types} for this company", None)
        self.agreement.setCurrentIndex(max(self.agreement.findData(keep), 0) if keep else 0)
        self.agreement.blockSignals(False)
        self.profile_note = (profile.product.description if profile else "")
        self.description.setPlaceholderText(self.profile_note or "The product's description")
        self.schedule_preview()

    def _enable(self) -> None:
        custom = self.count.currentData()
        self.unassigned.setEnabled(custom == "license" and not self.filter_field.currentData())
        self.quantity_form.setRowVisible(self.unassigned, custom == "license")
        self.quantity_form.setRowVisible(self.domain, custom == QuantityBasis.UPN_DOMAIN)
        self.quantity_form.setRowVisible(self.others, custom == QuantityBasis.SUM_OF_LICENSES)
        self.filter_value.setEnabled(bool(self.filter_field.currentData()))
        self.start_date.setEnabled(self.start.isChecked())

    # -- the mapping -------------------------------------------------------------------------

    def problems(self) -> list[str]:
        """What stops the mapping from being saved, in words."""
        found = []
        if not self.profile.currentData():
            found.append("choose a billing profile")
        elif not self.agreement.currentData():
            found.append("choose an agreement the profile allows")
        custom = self.count.currentData()
        if custom == QuantityBasis.UPN_DOMAIN and not self.domain.text().strip().lstrip("@"):
            found.append("enter the UPN domain to count")
        if custom == QuantityBasis.SUM_OF_LICENSES and not self._other_skus():
            found.append("tick the licenses to sum")
        if self.filter_field.currentData() and not self.filter_value.text().strip():
            found.append(f"enter the {self.filter_field.currentText().lower()} of the users to bill")
        fields = (self.included, self.minimum) + ((self.start_date,) if self.start.isChecked() else ())
        found += [field.error().rstrip(".") for field in fields if field.error()]
        return found

    def _other_skus(self) -> list[str]:
        return [self.others.item(n).data(Qt.ItemDataRole.UserRole) for n in range(self.others.count())
                if self.others.item(n).checkState() == Qt.CheckState.Checked]

    def mapping(self) -> Mapping | None:
        """The mapping the fields describe, or None while something is missing."""
        if self.problems():
            return None
        target = self.inputs.target
        profile = self.inputs.choices.profile(self.profile.currentData())
        if profile is None:
            return None
        custom = self.count.currentData()
        if custom == QuantityBasis.UPN_DOMAIN:
            basis, param = QuantityBasis.UPN_DOMAIN, self.domain.text().strip().lstrip("@")
        elif custom == QuantityBasis.SUM_OF_LICENSES:
            basis, param = QuantityBasis.SUM_OF_LICENSES, ",".join(self._other_skus())
        else:
            basis = QuantityBasis.PURCHASED if self.unassigned.isChecked() and self.unassigned.isEnabled() \
                else QuantityBasis.ASSIGNED
            param = ""
        field = self.filter_field.currentData()
        user_filter = UserFilter(field=FilterField(field), value=self.filter_value.text().strip()) if field else None
        start = self.start_date.value() if self.start.isChecked() else None
        return Mapping(tenant_id=target.tenant_id, sku_id=target.sku_id, subscription_id=target.subscription_id,
                       profile=profile, agreement_id=self.agreement.currentData(), user_filter=user_filter,
                       basis=basis, basis_param=param, usernames_in_description=self.usernames.isChecked(),
                       start_date_override=start, negative_proration=self.negative.isChecked(),
                       included_quantity=self.included.value(), minimum_quantity=self.minimum.value(),
                       description_override=self.description.text().strip())

    # -- the preview -------------------------------------------------------------------------

    def schedule_preview(self, *_: object) -> None:
        self._enable()
        self.timer.start()

    def update_preview(self) -> None:
        self.timer.stop()
        problems = self.problems()
        self.problem.setText(f"To save: {'; '.join(problems)}." if problems else "")
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not problems and self.may_save)
        mapping = self.mapping()
        if mapping is None:
            self.preview = Preview(error="Choose a billing profile and an agreement to see the line it bills.")
        else:
            self.preview = preview_mapping(mapping, self.inputs.licenses,
                                           agreement=self.inputs.choices.agreement(mapping.agreement_id),
                                           users=self.inputs.users, lines=self.inputs.lines, today=self.inputs.today,
                                           others=self.inputs.others, decisions=self.inputs.decisions,
                                           options=self.inputs.options, agreements=self.inputs.agreements)
        self._show_preview()
        self.preview_updated.emit(self.preview)

    def _show_preview(self) -> None:
        agreement = self.inputs.choices.agreement(self.agreement.currentData() or "")
        notes = " ".join(n for n in (self.inputs.users_note, self.inputs.lines_note) if n)
        self.preview_label.setText(_preview_html(self.preview, notes,
                                                 agreement.currency if agreement else None,
                                                 agreement.cycle if agreement else Cycle.MONTHLY))

    def accept(self) -> None:
        """Save, unless a field changed since the last check and is now refused: then say why and stay open."""
        self.update_preview()
        if not self.problems() and self.may_save:
            super().accept()

    @classmethod
    def ask(cls, parent: QWidget | None, inputs: MappingInputs, *, role: Role = Role.OWNER) -> Mapping | None:
        dialog = cls(parent, inputs, role=role)
        try:
            return dialog.mapping() if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()


def _row(*widgets: QWidget) -> QWidget:
    holder = QWidget()
    layout = QHBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1)
    return holder


def line_text(line: PreviewLine, currency: str | None, cycle: Cycle = Cycle.MONTHLY) -> str:
    """One preview line in words, its money as money: "12 × $22.00 = $264.00 a month"."""
    if line.kind == "main":
        per = "month" if cycle is Cycle.MONTHLY else "year"
        was = line.text.partition(f" / {per}")[2]  # " (was 10)" when the quantity changes
        return (f"{line.quantity} × {money(line.unit_price, currency)} = {money(line.amount, currency)} "
                f"a {per}{was}")
    if line.kind in ("prorate", "credit"):
        return f"{money(line.amount, currency)}: {line.text}"
    return line.text


def _preview_html(preview: Preview, users_note: str, currency: str | None = None,
                  cycle: Cycle = Cycle.MONTHLY) -> str:
    e = html.escape
    grey = muted().name()
    if preview.error:
        return f"<p style='color:{grey}'>{e(preview.error)}</p>"
    parts = [f"<p><b>Quantity:</b> {e(preview.basis)}</p>"]
    for line in preview.lines:
        label = {"main": "Line", "prorate": "Prorate line", "credit": "Credit line", "cancel": "Cancel",
                 "description": "New description"}[line.kind]
        dates = f" · {e(line.dates)}" if line.dates and line.kind == "main" else ""
        text = "" if line.kind == "description" else f"<br>{e(line_text(line, currency, cycle))}"
        parts.append(f"<p><b>{label}</b>{dates}{text}</p>")
        if line.description and line.kind in ("main", "description"):
            parts.append(f"<p style='margin-left:12px'>{_description_html(line.description)}</p>")
    if preview.held:
        parts.append("<p>Nothing is written for this row while it is held (below says why).</p>")
    elif not preview.changes:
        parts.append("<p>No change: the PSA already bills this.</p>")
    notes = list(preview.notes) + ([users_note] if users_note else [])
    if notes:
        colour, listed = tone("warning").name(), "<br>".join(e(n) for n in notes)
        parts.append(f"<p style='color:{colour}'>{listed}</p>")
    return "".join(parts)


def _description_html(text: str, shown: int = 12) -> str:
    """The line's description, its first lines only (the PSA gets all of it)."""
    lines = text.splitlines()
    head = "<br>".join(html.escape(t) for t in lines[:shown])
    more = len(lines) - shown
    return head + (f"<br><i>… and {more} more line(s)</i>" if more > 0 else "")
