"""The quick-mapping dropdown in a license row: a billing profile, then an agreement it allows.

The editor offers every billing profile of the company's PSA and, for the
profile chosen, only the agreements whose type the profile allows. It
commits as soon as the choice is complete: a profile with one allowed
agreement (or whose current agreement it allows) maps at once; with
several, the agreement list opens. The delegate never saves anything: it
emits ``mapping_chosen`` and the view saves through the service.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QSize, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QComboBox,
    QHBoxLayout,
    QStyle,
    QStyledItemDelegate,
    QStyleOption,
    QStyleOptionViewItem,
    QWidget,
)

from app.billing.types import Mapping
from app.services.customers.company_rows import MappingChoices
from app.services.team.roles import Ability, Role
from app.ui.views.license_model import CHOICES_ROLE, QUICK_MAP_ROLE, ROW_ROLE

Index = QModelIndex | QPersistentModelIndex


class QuickMapEditor(QWidget):
    chosen = Signal()

    def __init__(self, parent: QWidget, choices: MappingChoices, current: Mapping | None) -> None:
        super().__init__(parent)
        self.setAutoFillBackground(True)
        self.choices = choices
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.profile = QComboBox(self)
        self.profile.setObjectName("quickMapProfile")
        self.profile.addItem("Billing profile…", None)
        for profile in choices.profiles:
            self.profile.addItem(profile.name, profile.id)
        self.agreement = QComboBox(self)
        self.agreement.setObjectName("quickMapAgreement")
        layout.addWidget(self.profile, 1)
        layout.addWidget(self.agreement, 1)
        if current is not None:
            self.profile.setCurrentIndex(max(self.profile.findData(current.profile.id), 0))
        self._fill_agreements(current.agreement_id if current else "")
        self.profile.activated.connect(self._profile_chosen)
        self.agreement.activated.connect(self._agreement_chosen)
        self.setFocusProxy(self.profile)

    def value(self) -> tuple[str, str] | None:
        profile_id, agreement_id = self.profile.currentData(), self.agreement.currentData()
        return (profile_id, agreement_id) if profile_id and agreement_id else None

    def agreement_names(self) -> list[str]:
        return [self.agreement.itemText(n) for n in range(self.agreement.count()) if self.agreement.itemData(n)]

    def _fill_agreements(self, keep: str) -> list[str]:
        profile = self.choices.profile(self.profile.currentData() or "")
        allowed = self.choices.agreements_for(profile)
        self.agreement.clear()
        if profile is None:
            self.agreement.addItem("Agreement…", None)
        elif not allowed:
            types = ", ".join(sorted(profile.allowed_agreement_types))
            self.agreement.addItem(f"No agreement of type {types}", None)
        for agreement in allowed:
            self.agreement.addItem(agreement.name or agreement.id, agreement.id)
        position = self.agreement.findData(keep) if keep else -1
        self.agreement.setCurrentIndex(max(position, 0))
        self.agreement.setEnabled(bool(allowed))
        return [a.id for a in allowed]

    def _agreement_chosen(self, _index: int) -> None:
        if self.value():
            self.chosen.emit()

    def _profile_chosen(self) -> None:
        previous = self.agreement.currentData() or ""
        allowed = self._fill_agreements(previous)
        if len(allowed) == 1 or previous in allowed:
            self.chosen.emit()
        elif allowed:
            self.agreement.setFocus()
            self.agreement.showPopup()


class QuickMapDelegate(QStyledItemDelegate):
    mapping_chosen = Signal(object, str, str)  # the row, profile id, agreement id

    _combo_height = 0

    def __init__(self, parent: QWidget | None = None, *, role: Role = Role.OWNER) -> None:
        super().__init__(parent)
        #: The connected database user's role: without the right to map, the editor shows the mapping, disabled.
        self.role = role

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        row = index.data(ROW_ROLE)
        editor = QuickMapEditor(parent, index.data(CHOICES_ROLE), getattr(row, "mapping", None))
        editor.chosen.connect(self._finish)
        if not self.role.may_map:
            editor.setEnabled(False)
            editor.setToolTip(self.role.refusal(Ability.MAP))
        return editor

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        pass  # the editor starts from the row's mapping

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        assert isinstance(editor, QuickMapEditor)
        value = editor.value()
        row = index.data(ROW_ROLE)
        current = getattr(row, "mapping", None)
        if value and self.role.may_map and (current is None or value != (current.profile.id, current.agreement_id)):
            self.mapping_chosen.emit(row, *value)

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem, index: Index) -> None:
        editor.setGeometry(option.rect)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        size = super().sizeHint(option, index)
        if not self._combo_height:
            self._combo_height = QComboBox().sizeHint().height()
        return QSize(size.width() + 20, max(size.height(), self._combo_height))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        super().paint(painter, option, index)
        if index.data(QUICK_MAP_ROLE):
            # A dropdown arrow says the cell can be changed in place.
            arrow = QStyleOption()
            arrow.rect = option.rect.adjusted(option.rect.width() - 18, 0, -4, 0)
            arrow.palette = option.palette
            arrow.state = QStyle.StateFlag.State_Enabled
            style = option.widget.style() if option.widget else None
            if style is not None:
                style.drawPrimitive(QStyle.PrimitiveElement.PE_IndicatorArrowDown, arrow, painter, option.widget)

    def _finish(self) -> None:
        """An editor's choice made: into the model, and the editor closed."""
        editor = self.sender()
        assert isinstance(editor, QuickMapEditor)
        self.commitData.emit(editor)
        self.closeEditor.emit(editor, QAbstractItemDelegate.EndEditHint.NoHint)
