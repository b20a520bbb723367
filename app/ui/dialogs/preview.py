"""Preview: every operation the sync would apply now, then "Apply these" writes exactly that plan.

The preview is the sync's own dry run (``SyncService.plan``) of every company
or the one chosen: each operation with its company, tenant, agreement,
product, seats before → after, amount and dates, and its basis; those the
approval rules hold say why, and the findings are listed in words. "Apply
these" asks the sync gateway for a sync that writes exactly the previewed
operations (their keys): a tenant whose plan changed since gets nothing
written, the dialog says so and previews again. Reading and syncing run off
the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import QDialog, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from app.billing.operations import Operation, OpKind
from app.services.container import Services
from app.services.review.approvals import ACTION_TEXT
from app.services.sync.findings import grouped
from app.services.sync.service import RunSummary
from app.ui.formatting import day, money
from app.ui.sync_gateway import SyncGateway
from app.ui.tasks import Tasks
from app.ui.views.row_model import Column, RowTableModel
from app.ui.views.tables import StatusLine, table_view, with_details
from app.ui.widgets.plain import PlainLabel

_DATED = (OpKind.ADD_PRORATE, OpKind.ADD_CREDIT)


@dataclass(frozen=True, kw_only=True)
class PreviewRow:
    """One operation of the preview, named as the PSA names its agreement and product."""

    key: str
    company: str
    tenant: str
    agreement: str
    product: str
    op: Operation
    held: str = ""  # why it waits for approval ("" : it is applied)

    @property
    def seats(self) -> str:
        if self.op.kind in _DATED:
            return f"{self.op.quantity:+d}"
        return f"{self.op.before} → {self.op.quantity}"

    @property
    def dates(self) -> str:
        if self.op.kind in _DATED and self.op.end is not None:
            return f"{day(self.op.effective)} – {day(self.op.end)}"
        return f"from {day(self.op.effective)}"


COLUMNS: tuple[Column[PreviewRow], ...] = (
    Column("Company", lambda r: r.company),
    Column("Tenant", lambda r: r.tenant),
    Column("Agreement", lambda r: r.agreement),
    Column("Product", lambda r: r.product),
    Column("Change", lambda r: ACTION_TEXT.get(r.op.kind, r.op.kind.value)),
    Column("Seats", lambda r: r.seats),
    Column("Amount", lambda r: money(r.op.amount, None), lambda r: r.op.amount, numeric=True),
    Column("Dates", lambda r: r.dates),
    Column("Basis", lambda r: r.op.basis.formula, tooltip=lambda r: r.op.basis.formula),
    Column("Applied?", lambda r: f"held: {r.held}" if r.held else "yes", tooltip=lambda r: r.held),
)


def preview_rows(context: Services, summary: RunSummary) -> list[PreviewRow]:
    """On a worker: the plan's operations, going then held, with the PSA's names for agreements and products."""
    from app.services.uow import connected

    uow = context.uow
    with connected():
        connections = {c.id for c in uow.psa_connections.all()}
        agreements = {a.id: a.name for c in connections for a in uow.catalog.agreements(c)}
        products = {p.id: p.description or p.identifier for c in connections for p in uow.catalog.products(c)}
    rows = []
    for r in summary.results:
        named = [(op, "") for op in r.go] + list(r.held)
        rows += [PreviewRow(key=op.key, company=r.company, tenant=r.name or r.tenant_id, held=why,
                            agreement=agreements.get(op.agreement_id, op.agreement_id),
                            product=products.get(op.product_id, op.product_id), op=op) for op, why in named]
    return rows


class PreviewDialog(QDialog):
    def __init__(self, context: Services, tasks: Tasks, sync: SyncGateway, target: str,
                 plan: Callable[[], RunSummary], parent: QWidget | None = None, *,
                 scope: str = "every company") -> None:
        super().__init__(parent)
        self.setWindowTitle("Preview of the sync")
        self.context, self.tasks, self.sync, self.target, self.plan = context, tasks, sync, target, plan
        self.summary: RunSummary | None = None
        self.applying = False
        #: What the last apply said, kept in front of the preview made after it.
        self.note = ""
        layout = QVBoxLayout(self)
        layout.addWidget(PlainLabel(f"What a sync of {scope} writes now. Apply these writes exactly this."))
        self.message = StatusLine()
        layout.addWidget(self.message)
        self.model: RowTableModel[PreviewRow] = RowTableModel(COLUMNS, key=lambda r: r.key)
        self.table, _proxy = table_view(self.model, self)
        splitter, self.findings = with_details(self.table)
        layout.addWidget(splitter, 1)
        buttons = QHBoxLayout()
        self.again_button = QPushButton("Preview again")
        self.apply_button = QPushButton("Apply these")
        self.apply_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        buttons.addWidget(self.again_button)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self.again_button.clicked.connect(self.refresh)
        self.apply_button.clicked.connect(self.apply)
        self.close_button.clicked.connect(self.reject)
        sync.finished.connect(self._synced)
        self.resize(1100, 560)
        self.refresh()

    def refresh(self, *_: Any) -> None:
        self.apply_button.setEnabled(False)
        self.message.show_message("Planning…")
        context, plan = self.context, self.plan

        def work() -> tuple[RunSummary, list[PreviewRow]]:
            summary = plan()
            return summary, preview_rows(context, summary)

        self.tasks.run(work, self._planned, lambda e: self.message.show_error(e, "Previewing"), owner=self,
                       latest="plan", label="preview the sync")

    def _planned(self, result: tuple[RunSummary, list[PreviewRow]]) -> None:
        summary, rows = result
        note, self.note = self.note, ""
        self.summary = summary
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()
        going = sum(len(r.go) for r in summary.results)
        total = sum((op.amount for r in summary.results for op in r.go), Decimal("0.00"))
        findings = [f for r in summary.results for f in r.findings]
        names = {r.tenant_id: r.name or r.tenant_id for r in summary.results}
        self.findings.setPlainText("\n".join(line for group in grouped(findings)
                                             for line in group.lines(lambda f: names.get(f.tenant_id, f.tenant_id)))
                                   or "No finding.")
        failed = [r for r in summary.results if r.error]
        text = (f"{going} change(s) to apply ({money(total, None)} in all), {summary.held} held for approval, "
                f"{len(findings)} finding(s)" + (f"; {len(failed)} tenant(s) could not be planned" if failed else "")
                + ".")
        self.message.show_message(f"{note} {text}".strip(), "warning" if note or failed else "info")
        self.apply_button.setEnabled(going > 0 and self.context.role().may_sync)

    def apply(self) -> None:
        if self.summary is None:
            return
        if not self.sync.apply_previewed(self.target, self.summary.previewed()):
            self.message.show_message("A sync of this is already running: preview again when it ends.", "warning")
            return
        self.applying = True
        self.apply_button.setEnabled(False)
        self.message.show_message("Applying…")

    def _synced(self, target: str, summary: RunSummary | None, error: BaseException | None) -> None:
        if target != self.target or not self.applying:
            return
        self.applying = False
        if error is not None or summary is None:
            self.message.show_message(f"Applying failed: {error}", "error")
            return
        changed = summary.changed
        if changed:
            names = ", ".join(r.company or r.name or r.tenant_id for r in changed)
            self.note = (f"{summary.writes} change(s) written; {len(changed)} tenant(s) changed since the preview "
                         f"({names}): nothing was written for them. Previewed again:")
            self.refresh()
            return
        failed = len(summary.failed)
        self.message.show_message(f"Applied: {summary.writes} change(s) written"
                                  + (f", {failed} tenant(s) failed (see the sync result)" if failed else "") + ".",
                                  "error" if failed else "ok")
