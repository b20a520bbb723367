"""What a sync did, in words: the panel under a company's header, and the report of a whole run.

- ``run_sentence``: one sentence about a run, for the toolbar, the tray and
  the report ("The sync at 22:03 finished; 2 of 25 companies failed: …").
  Why a run stopped early (cancelled, a PSA not answering) is said once,
  not per company; Microsoft sign-in codes are put in words
  (``app.ui.errors.in_words``), the code kept for support.
- ``result_details``: everything about one company's result — its error,
  the findings, what was held, written or refused — as plain text.
- ``SyncResultPanel``: a company's last result; its "Details" button shows
  the details of each company that failed, selectable, in the panel itself.
- ``SyncReport``: every company a run could not sync, each with its details
  one click away; ``SyncReportButton`` opens it from the toolbar.
- ``DetailsDialog``: a sentence and its details (the Companies list's "Why?").

Names come from the PSA and Microsoft: everything here is plain text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.billing.operations import Operation, OpKind
from app.services.customers.company_rows import MappingChoices
from app.services.customers.rules import mapped_by_rule_text
from app.services.sync.engine import CANCELLED, Status
from app.services.sync.findings import grouped, needing_attention
from app.services.sync.service import companies, who
from app.services.team.syncer import SyncRunningElsewhere
from app.ui.errors import explain, in_words
from app.ui.formatting import day, moment, money
from app.ui.widgets.plain import PlainLabel
from app.ui.widgets.tones import follow_palette, tint, tone

#: How many failed companies a sentence names before "and N more".
NAMED = 3


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
    currency = agreement.currency if agreement else None
    start = day(op.effective)
    if op.kind is OpKind.CREATE_LINE:
        return f"New line: {op.quantity} × {product} on {where}, from {start}"
    if op.kind is OpKind.SET_QUANTITY:
        return f"{product}: {op.before} → {op.quantity} seats on {where}, from {start}"
    if op.kind in (OpKind.ADD_PRORATE, OpKind.ADD_CREDIT):
        what = "Prorate line: +" if op.kind is OpKind.ADD_PRORATE else "Credit line: "
        end = day(op.end) if op.end else "…"
        amount = money(op.amount, currency) if op.amount is not None else "—"
        return f"{what}{op.quantity} {product}, {start} – {end} = {amount}"
    if op.kind is OpKind.CANCEL_LINE:
        return f"Cancelled: {product} ({op.before} seats) on {where}, from {start}"
    return f"{product}: description updated on {where}"


def _when(started: datetime | None) -> str:
    """ " at 22:03" today, " at 1 Dec 2026 22:03" another day (local time), "" when unknown."""
    if started is None:
        return ""
    local = (started if started.tzinfo is not None else started.replace(tzinfo=UTC)).astimezone()
    return f" at {local:%H:%M}" if local.date() == datetime.now().astimezone().date() else f" at {moment(started)}"


def _named(results: Sequence[Any]) -> str:
    """ "Contoso (why), Fabrikam (why) and 3 more" for failed results."""
    named = [f"{who(r)} ({in_words(r.error) or 'failed'})" for r in results[:NAMED]]
    more = len(results) - len(named)
    return ", ".join(named) + (f" and {more} more" if more else "")


def run_sentence(summary: Any, error: BaseException | None = None) -> str:
    """One sentence about a run that ended: what it did, or what stopped it and what failed."""
    if isinstance(error, SyncRunningElsewhere):  # coalesced into another seatsync's sync on the team database
        return explain(error)
    if error is not None:
        return f"The sync could not run: {explain(error)}"
    if summary is None:
        return "The sync finished."
    at = _when(summary.started_at)
    failed, stops, own = summary.failed, summary.stops, summary.own_failures
    ruled = mapped_by_rule_text(getattr(summary, "mapped_by_rule", ()))
    ruled = f" {ruled}." if ruled else ""
    contacts = getattr(summary, "contacts", ())  # the contact sync after billing: a sentence a company
    ruled += f" {'; '.join(contacts)}." if contacts else ""
    not_synced = sum(len(group) for _, group in stops)
    total = len(summary.results)
    if any(reason == CANCELLED for reason, _ in stops):
        text = (f"The sync{at} was cancelled: {total - len(failed)} of {companies(total)} synced, "
                f"{not_synced} not synced")
        reasons = [f"{reason}: {companies(len(group))} not synced" for reason, group in stops if reason != CANCELLED]
        text += "".join(f"; {r}" for r in reasons)
    elif stops:
        said = "; ".join(f"{reason}, so {len(group)} of {companies(total)} were not synced"
                         for reason, group in stops)
        text = f"The sync{at} stopped: {said}"
    elif own:
        return f"The sync{at} finished; {len(own)} of {companies(total)} failed: {_named(own)}.{ruled}"
    else:
        text = f"The sync{at} finished: {companies(total)} synced, {summary.writes} change(s) written"
        if summary.held:
            text += f", {summary.held} waiting for approval"
        attention = needing_attention(f for r in summary.results for f in r.findings)
        if attention:
            text += f", {attention} finding(s) need attention"
        return text + "." + ruled
    if own:
        text += f"; {len(own)} more failed: {_named(own)}"
    return text + "." + ruled


def result_details(result: Any, choices: MappingChoices | None = None) -> str:
    """Everything about one company's result, as plain text: its error (in words, and as the PSA or
    Microsoft said it), its findings, what was held, refused and written."""
    choices = choices or MappingChoices()
    tenant = result.name or result.tenant_id
    lines = [who(result), f"Tenant: {tenant} ({result.tenant_id})" if tenant != result.tenant_id
             else f"Tenant: {result.tenant_id}"]
    if result.not_synced:
        lines.append(f"Not synced: {result.not_synced}.")
    elif result.status is Status.FAILED:
        worded = in_words(result.error)
        lines.append(f"What failed: {worded or 'the sync failed'}")
        if worded != result.error:
            lines.append(f"As Microsoft or the PSA said it: {result.error}")
    if result.findings:
        lines += ["", "Findings:"] + [f"  {line}" for group in grouped(result.findings) for line in group.lines()]
    sections = (("Waiting for approval", [f"{describe(op, choices)} ({why})" for op, why in result.held]),
                ("Refused by the PSA", [f"{describe(op, choices)} — {why}" for op, why in result.failed]),
                ("Written to the PSA", [describe(op, choices) for op in result.applied]))
    for title, items in sections:
        if items:
            lines += ["", f"{title}:"] + [f"  • {item}" for item in items]
    return "\n".join(lines)


def result_lines(results: Iterable[Any], choices: MappingChoices) -> tuple[str, list[str], bool]:
    """(headline, lines, failed) for the tenants' results of one sync."""
    lines: list[str] = []
    findings: list[Any] = []
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
                lines.append(f"{result.name or result.tenant_id}: {in_words(result.error)}")
        else:
            findings += result.findings  # a failed company's are in its details
    attention = needing_attention(findings)
    needs = f"{attention} finding(s) need attention" if attention else ""
    if failed:
        headline = "The sync failed for this company."
    elif writes or held:
        headline = f"Synced: {writes} change(s) written in the PSA" + (f", {held} waiting for approval" if held else "")
        headline += f"; {needs}" if needs else ""
    elif needs:
        headline = f"Synced: nothing written; {needs}."
    elif findings:
        headline = "Synced: nothing to write; the findings below are for information."
    else:
        headline = "Synced: no change needed, the PSA already bills what the tenants have."
    lines += [line for group in grouped(findings) for line in group.lines()]
    return headline, lines, failed


class SyncResultPanel(QFrame):
    """A company's last sync result; "Details" shows, selectable, the details of each company that failed."""

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
        self.details_button = QToolButton(self)
        self.details_button.setText("Details")
        self.details_button.setCheckable(True)
        self.details_button.setToolTip("Why it failed: the error, the findings and what was held")
        self.details = _details_view(self)
        self.details.hide()
        self.details_button.toggled.connect(self.details.setVisible)
        top = QHBoxLayout()
        top.addWidget(self.headline, 1)
        top.addWidget(self.details_button)
        layout.addLayout(top)
        layout.addWidget(self.body)
        layout.addWidget(self.details)
        self.kind = "ok"
        follow_palette(self, self._restyle, now=False)
        self.hide()

    def show_result(self, results: Iterable[Any], choices: MappingChoices) -> None:
        results = list(results)
        headline, lines, failed = result_lines(results, choices)
        details = [result_details(r, choices) for r in results if r.status is Status.FAILED]
        attention = needing_attention(f for r in results for f in r.findings)
        self._show(headline, lines, "error" if failed else "warning" if attention else "ok", "\n\n".join(details))

    def show_error(self, error: BaseException) -> None:
        self._show("The sync could not run.", [explain(error)], "error")

    def _show(self, headline: str, lines: list[str], kind: str, details: str = "") -> None:
        self.headline.setText(headline)
        self.body.setText("\n".join(lines))
        self.body.setVisible(bool(lines))
        self.details.setPlainText(details)
        self.details_button.setChecked(False)
        self.details_button.setVisible(bool(details))
        self.kind = kind
        self._restyle()
        self.show()

    def _restyle(self) -> None:
        self.setStyleSheet(f"#syncResult {{ background: {tint(self.kind).name()}; border: 1px solid "
                           f"{tone(self.kind).name()}; border-radius: 4px; }}")

    def text(self) -> str:
        return "\n".join([self.headline.text(), self.body.text()]).strip()


def _details_view(parent: QWidget) -> QPlainTextEdit:
    """Read-only, selectable plain text (names from outside are never rendered)."""
    view = QPlainTextEdit(parent)
    view.setReadOnly(True)
    view.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                 | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    view.setObjectName("syncDetails")
    return view


#: The role of a report entry's details text.
DETAILS_ROLE = Qt.ItemDataRole.UserRole + 1


def report_entries(summary: Any) -> list[tuple[str, str]]:
    """(entry, details) for each problem of a run: each reason it stopped once (with the companies it left
    unsynced), then each company that failed on its own."""
    entries = []
    for reason, group in summary.stops:
        names = "\n".join(f"  • {who(r)}" + ("" if r.not_synced else " (tried, no answer"
                                                + (f"; {r.writes} change(s) written before" if r.writes else "")
                                                + ")") for r in group)
        title = f"{'The sync was ' if reason == CANCELLED else ''}{reason}: {companies(len(group))} not synced"
        entries.append((title, f"{title}.\n\n{names}"))
    for result in summary.own_failures:
        entries.append((f"{who(result)}: {in_words(result.error) or 'failed'}", result_details(result)))
    return entries


class SyncReport(QDialog):
    """What a run could not do: its sentence, a list of its problems, and the selected one's details."""

    def __init__(self, summary: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("seatsync: the last sync")
        self.resize(760, 460)
        layout = QVBoxLayout(self)
        self.headline = PlainLabel(run_sentence(summary), self)
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.entries = QListWidget(self)
        self.entries.setObjectName("syncProblems")
        self.details = _details_view(self)
        for title, details in report_entries(summary):
            item = QListWidgetItem(title, self.entries)
            item.setData(DETAILS_ROLE, details)
        self.entries.currentItemChanged.connect(
            lambda item, _old: self.details.setPlainText(item.data(DETAILS_ROLE) if item is not None else ""))
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.entries)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(1, 2)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(self.headline)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        if self.entries.count():
            self.entries.setCurrentRow(0)


class DetailsDialog(QDialog):
    """One sentence and its details as selectable plain text (why a company's last sync failed)."""

    def __init__(self, title: str, headline: str, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(640, 320)
        self.headline = PlainLabel(headline, self)
        self.headline.setWordWrap(True)
        self.details = _details_view(self)
        self.details.setPlainText(details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)


class SyncReportButton(QToolButton):
    """The toolbar's way to the last run's problems: shown after a run that had any.

    In a toolbar, ``toolbar_action`` (what ``QToolBar.addWidget`` returned) shows and hides it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncReport")
        self.setAutoRaise(True)
        self.summary: Any = None
        self.report: SyncReport | None = None
        self.toolbar_action: QAction | None = None
        self.clicked.connect(self.open_report)
        self.set_shown(False)

    def set_shown(self, shown: bool) -> None:
        if self.toolbar_action is not None:
            self.toolbar_action.setVisible(shown)
        else:
            self.setVisible(shown)

    def show_summary(self, summary: Any) -> None:
        """The run that just ended: the button says what went wrong, or hides when nothing did."""
        self.summary = summary
        problems = len(report_entries(summary)) if summary is not None else 0
        if not problems:
            self.set_shown(False)
            return
        own = len(summary.own_failures)
        stopped = sum(len(group) for _, group in summary.stops)
        counts = [f"{own} failed"] * bool(own) + [f"{stopped} not synced"] * bool(stopped)
        self.setText(f"{', '.join(counts)}: why?")
        self.setToolTip("What the last sync could not do, and why")
        self.set_shown(True)

    def open_report(self) -> None:
        if self.summary is None:
            return
        if self.report is not None:
            self.report.close()
            self.report.deleteLater()
        self.report = SyncReport(self.summary, self.window())
        self.report.show()
        self.report.raise_()
