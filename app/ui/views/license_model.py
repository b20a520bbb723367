"""A company's license table as a tree: one row per license, its subscriptions as children.

Top-level rows are ``LicenseRow`` values, children ``SubscriptionRow``
values (ROW_ROLE returns either). A license's badge counts what it says
(its notices) and what the latest sync found about it (its findings, named
in red and listed in its tooltip and under the table). An index's internal id says where it sits:
0 for a license, the license's row + 1 for one of its subscriptions.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt

from app.billing.types import Mapping, Subscription, Term
from app.services.customers.company_rows import (
    MISSING_PROFILE,
    CompanyDetail,
    LicenseRow,
    LicenseState,
    MappingChoices,
    Monthly,
    SubscriptionRow,
)
from app.ui.formatting import NO_AMOUNT, day, money
from app.ui.widgets.badge import BADGE_ROLE
from app.ui.widgets.plain import tip
from app.ui.widgets.tones import follow_palette, muted, recolour, tone

LICENSE, PURCHASED, ASSIGNED, UNASSIGNED, MAPPING, MONTHLY, TERM, ENDS, RENEWS, TENANT = range(10)
HEADERS = ("License", "Purchased", "Assigned", "Unassigned", "Billing profile · agreement", "Bills a month",
           "Term · billing", "Commitment ends", "Renews", "Tenant")
NUMERIC = (PURCHASED, ASSIGNED, UNASSIGNED, MONTHLY)
#: Columns sized to their contents (and header); the license's name takes the rest of the width.
FITTED = (PURCHASED, ASSIGNED, UNASSIGNED, MONTHLY, TERM, ENDS, RENEWS)
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
CHOICES_ROLE = Qt.ItemDataRole.UserRole + 3
QUICK_MAP_ROLE = Qt.ItemDataRole.UserRole + 4  # True where the row takes the quick-mapping dropdown
Index = QModelIndex | QPersistentModelIndex
Row = LicenseRow | SubscriptionRow
_NOTHING = Decimal(-1)  # what an unbilled row sorts by: below every amount


def term_text(sub: Subscription) -> str:
    term = {Term.MONTH: "Monthly", Term.YEAR: "Annual commitment", Term.THREE_YEARS: "3-year commitment"}[sub.term]
    text = f"{term} · billed {sub.billing_cycle.value}"
    if sub.is_trial:
        text = f"Trial · {text}"
    return text


def _day(value: date | None) -> str:
    return day(value) if value else ""


def monthly_text(amounts: tuple[Monthly, ...] | Monthly | None) -> str:
    """What a row bills a month ("—": not mapped, or it cannot be told)."""
    if isinstance(amounts, Monthly):
        amounts = (amounts,)
    return " + ".join(money(m.amount, m.currency) for m in amounts or ()) or NO_AMOUNT


def monthly_tip(amount: Monthly | None, unpriced: int = 0) -> str:
    """How a row's monthly amount is reached: "12 × $22.00 = $264.00 a month"."""
    if amount is None or amount.quantity is None or amount.unit_price is None:
        if unpriced:
            return ("Its seats are users (a user filter or UPN domain), which the stored reads do not keep, and "
                    "seatsync has not billed the line yet: the mapping dialog counts them.")
        return ""
    line = f"{amount.quantity} × {money(amount.unit_price, amount.currency)}"
    if amount.annual:
        return f"{line} a year ÷ 12 = {money(amount.amount, amount.currency)} a month"
    return f"{line} = {money(amount.amount, amount.currency)} a month"


class LicenseTreeModel(QAbstractItemModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.detail: CompanyDetail | None = None
        self._rows: tuple[LicenseRow, ...] = ()
        # Missing profiles, partial splits and excluded rows are coloured from the palette: follow it.
        follow_palette(self, lambda: recolour(self, [Qt.ItemDataRole.ForegroundRole]), now=False)

    @property
    def choices(self) -> MappingChoices:
        return self.detail.choices if self.detail else MappingChoices()

    def set_detail(self, detail: CompanyDetail | None) -> None:
        self.beginResetModel()
        self.detail = detail
        self._rows = detail.licenses if detail else ()
        self.endResetModel()

    def license_rows(self) -> tuple[LicenseRow, ...]:
        return self._rows

    def row_of(self, index: Index) -> Row | None:
        if not index.isValid():
            return None
        parent = index.internalId()
        if parent == 0:
            return self._rows[index.row()]
        return self._rows[parent - 1].subscriptions[index.row()]

    def parent_license(self, index: Index) -> LicenseRow | None:
        row = self.row_of(index)
        if isinstance(row, SubscriptionRow):
            return self._rows[index.internalId() - 1]
        return row

    # -- structure ---------------------------------------------------------------------

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        return self.createIndex(row, column, 0 if not parent.isValid() else parent.row() + 1)

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid() or index.internalId() == 0:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, 0)

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        if not parent.isValid():
            return len(self._rows)
        if parent.internalId() == 0 and parent.column() == 0:
            return len(self._rows[parent.row()].subscriptions)
        return 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section in NUMERIC:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == MAPPING and self._quick_mappable(index):
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def _quick_mappable(self, index: Index) -> bool:
        row, owner = self.row_of(index), self.parent_license(index)
        if owner is None or owner.excluded or not self.choices.profiles:
            return False
        if isinstance(row, SubscriptionRow):
            return owner.split
        return not owner.split and owner.in_tenant

    # -- contents ------------------------------------------------------------------------

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_of(index)
        if row is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, index, column)
        if role == ROW_ROLE:
            return row
        if role == SORT_ROLE:
            return self._sort(row, index, column)
        if role == CHOICES_ROLE:
            return self.choices
        if role == QUICK_MAP_ROLE:
            return column == MAPPING and self._quick_mappable(index)
        if role == BADGE_ROLE and column == LICENSE and isinstance(row, LicenseRow):
            return len(row.notices) + len(row.findings)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMERIC:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(row, index, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return tip(self._tooltip(row, column))
        return None

    def _text(self, row: Row, index: Index, column: int) -> str:
        if isinstance(row, LicenseRow):
            lic = row.license
            active = [s for s in lic.subscriptions if s.status == "active"]
            values = {
                LICENSE: row.name, PURCHASED: str(lic.purchased), ASSIGNED: str(lic.assigned),
                UNASSIGNED: str(lic.unassigned),
                TERM: f"Custom · {row.custom_rule}" if row.custom_rule else term_text(active[0]) if len(active) == 1
                else (f"{len(active)} subscriptions" if active else ""),
                ENDS: _day(min((s.commitment_end for s in active if s.commitment_end), default=None)),
                RENEWS: _day(min((s.renewal_date for s in active if s.renewal_date), default=None)),
                MAPPING: self._license_mapping(row), TENANT: row.tenant_name,
                MONTHLY: monthly_text(row.monthly),
            }
            return values[column]
        sub = row.subscription
        owner = self.parent_license(index)
        status = "" if sub.status == "active" else f" ({sub.status})"
        values = {
            LICENSE: f"{sub.offer_name or 'Subscription ' + sub.id[-8:]}{status}", PURCHASED: str(sub.quantity),
            ASSIGNED: "" if row.assigned is None else str(row.assigned), UNASSIGNED: "", TERM: term_text(sub),
            ENDS: _day(sub.commitment_end),
            RENEWS: _day(sub.renewal_date) + ("" if sub.auto_renew or not sub.renewal_date else " (auto-renew off)"),
            MAPPING: (self.mapping_text(row.mapping) if owner and owner.split else ""),
            TENANT: owner.tenant_name if owner else "",
            MONTHLY: monthly_text(row.monthly) if owner and owner.split else "",
        }
        return values[column]

    def _license_mapping(self, row: LicenseRow) -> str:
        if row.excluded:
            return "Excluded everywhere" if row.excluded_globally else "Excluded"
        if row.split:
            mapped = sum(1 for s in row.subscriptions if s.mapping is not None)
            return f"Split: {mapped} of {len(row.subscriptions)} subscriptions mapped"
        return self.mapping_text(row.mapping)

    def mapping_text(self, mapping: Mapping | None) -> str:
        if mapping is None:
            return MISSING_PROFILE
        agreement = self.choices.agreement(mapping.agreement_id)
        where = agreement.name if agreement else f"agreement {mapping.agreement_id} (not active or not found)"
        return f"{mapping.profile.name} · {where}"

    def _sort(self, row: Row, index: Index, column: int) -> Any:
        if column in (LICENSE, TERM, MAPPING, TENANT):
            return self._text(row, index, column).casefold()
        if isinstance(row, LicenseRow):
            lic = row.license
            days = [s.commitment_end for s in lic.subscriptions if s.commitment_end and s.status == "active"]
            numbers = {PURCHASED: lic.purchased, ASSIGNED: lic.assigned, UNASSIGNED: lic.unassigned,
                       ENDS: min(days).toordinal() if days else 0, RENEWS: min(days).toordinal() + 1 if days else 0,
                       MONTHLY: row.monthly[0].amount if row.monthly else _NOTHING}
            return numbers[column]
        sub = row.subscription
        numbers = {PURCHASED: sub.quantity, ASSIGNED: row.assigned or 0, UNASSIGNED: 0,
                   ENDS: sub.commitment_end.toordinal() if sub.commitment_end else 0,
                   RENEWS: sub.renewal_date.toordinal() if sub.renewal_date else 0,
                   MONTHLY: row.monthly.amount if row.monthly else _NOTHING}
        return numbers[column]

    def _foreground(self, row: Row, index: Index, column: int) -> Any:
        owner = self.parent_license(index)
        if owner is not None and owner.excluded:
            return muted()
        if column == MAPPING:
            text = self._text(row, index, column)
            if text == MISSING_PROFILE:
                return tone("error")
            if text.startswith("Split:") and owner is not None and owner.state is LicenseState.PARTLY:
                return tone("warning")
        if column == UNASSIGNED and isinstance(row, LicenseRow) and row.unassigned:
            return tone("warning")
        if column == LICENSE and isinstance(row, LicenseRow) and any(f.attention for f in row.findings):
            return tone("error")
        return None

    def _tooltip(self, row: Row, column: int) -> str | None:
        if column == MONTHLY:
            if isinstance(row, LicenseRow):
                one = row.monthly[0] if len(row.monthly) == 1 and not row.split else None
                return monthly_tip(one, row.unpriced) or None
            return monthly_tip(row.monthly, 1 if row.mapping is not None and row.monthly is None else 0) or None
        if isinstance(row, LicenseRow):
            lines = [f"{row.name} — SKU {row.license.sku_id}"]
            if row.license.part_number:
                lines.append(f"Part number {row.license.part_number}")
            lines += [f"• {notice}" for notice in row.notices]
            lines += [f"• {finding.text()}" for finding in row.findings]
            if row.excluded:
                lines.append("Excluded: never billed, raises no notifications.")
            return "\n".join(lines)
        sub = row.subscription
        return "\n".join(x for x in (sub.offer_name, f"Subscription {sub.id}") if x)
