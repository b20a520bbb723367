"""What a sync changed in the PSA for one company, in words: the panel under the company's header."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QVBoxLayout, QWidget

from app.billing.operations import Operation, OpKind
from app.services.company_rows import MappingChoices
from app.ui.errors import explain
from app.ui.widgets.tones import follow_palette, tint, tone
from app.ui.widgets.plain import PlainLabel


def _product(op: Operation, choices: MappingChoices) -> str:
    for profile in choices.profiles:
        if profile.product.id == op.product_id:
            return profile.product.description or profile.product.identifier or profile.name
    return (op.description.splitlines() or [f"product {op.product_id}"])[0]


def describe(op: Operation, choices: MappingChoices) -> str:
    """One line for a written (or held) operation: what, how many, where, from when."""
    product = _product(op, choices)
    agreement = choices.agreement(op.agreement_id)
    where = agreement.name if agreement else f"agreement {op.agreement_id}"
    day = f"{op.effective:%d %b %Y}"
    if op.kind is OpKind.CREATE_LINE:
        return f"New line: {op.quantity} × {product} on {where}, from {day}"
    if op.kind is OpKind.SET_QUANTITY:
        return f"{product}: {op.before} → {op.quantity} seats on {where}, from {day}"
    if op.kind is OpKind.ADD_PRORATE:
        return f"Prorate line: +{op.quantity} {product}, {day} – {op.end:%d %b %Y} = {op.amount}"
    if op.kind is OpKind.ADD_CREDIT:
        return f"Credit line: {op.quantity} {product}, {day} – {op.end:%d %b %Y} = {op.amount}"
    if op.kind is OpKind.CANCEL_LINE:
        return f"Cancelled: {product} ({op.before} seats) on {where}, from {day}"
    return f"{product}: description updated on {where}"


def result_lines(results: Iterable[Any], choices: MappingChoices) -> tuple[str, list[str], bool]:
    """(headline, lines, failed) for the tenants' results of one sync."""
    lines: list[str] = []
    writes = held = 0
    failed = False
    for result in results:
        lines += [describe(op, choices) for op in result.applied]
        lines += [f"Waiting for approval: {describe(op, choices)} ({why})" for op, why in result.held]
        lines += [f"Failed: {describe(op, choices)} — {why}" for op, why in result.failed]
        writes, held = writes + len(result.applied), held + len(result.held)
        if str(getattr(result.status, "value", result.status)) == "failed":
            failed = True
            if result.error and not result.failed:
                lines.append(f"{result.name or result.tenant_id}: {result.error}")
    if failed:
        headline = "The sync failed for this company."
    elif writes or held:
        headline = f"Synced: {writes} change(s) written in the PSA" + (f", {held} waiting for approval" if held else "")
    else:
        headline = "Synced: no change needed, the PSA already bills what the tenants have."
    return headline, lines, failed


class SyncResultPanel(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncResult")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self.headline = PlainLabel(parent=self)
        font = self.headline.font()
        font.setBold(True)
        self.headline.setFont(font)
        self.body = PlainLabel(parent=self)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.headline)
        layout.addWidget(self.body)
        self.kind = "ok"
        follow_palette(self, self._restyle, now=False)
        self.hide()

    def show_result(self, results: Iterable[Any], choices: MappingChoices) -> None:
        headline, lines, failed = result_lines(results, choices)
        self._show(headline, lines, "error" if failed else "ok")

    def show_error(self, error: BaseException) -> None:
        self._show("The sync could not run.", [explain(error)], "error")

    def _show(self, headline: str, lines: list[str], kind: str) -> None:
        self.headline.setText(headline)
        self.body.setText("\n".join(lines))
        self.body.setVisible(bool(lines))
        self.kind = kind
        self._restyle()
        self.show()

    def _restyle(self) -> None:
        self.setStyleSheet(f"#syncResult {{ background: {tint(self.kind).name()}; border: 1px solid "
                           f"{tone(self.kind).name()}; border-radius: 4px; }}")

    def text(self) -> str:
        return "\n".join([self.headline.text(), self.body.text()]).strip()
