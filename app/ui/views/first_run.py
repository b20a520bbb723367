"""The first-run guide: a panel above the views with the six set-up steps, each with its state and a button.

The window shows it on an install with no PSA connection (and again at each
start while set-up is unfinished and the guide was left open), reads the
steps on a worker (app/services/setup_guide.py) whenever background work
settles, and opens the place where each step is done when its button is
clicked (``step_requested``). Once every step is done the panel collapses to
one line, "Set-up complete". Help > Set-up guide shows it again. It never
blocks the window: every view stays usable beside it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QPushButton, QToolButton, QVBoxLayout, QWidget

from app.services.setup_guide import STEPS, SetupGuide, StepState
from app.ui.widgets.plain import ElidedLabel, PlainLabel, tip
from app.ui.widgets.tones import muted, style, tint, tone

#: What each step's button says: (while the step is to do, once it is done).
BUTTONS = {
    "psa": ("Connect PSA…", "PSA settings"),
    "profiles": ("Billing profiles", "Billing profiles"),
    "microsoft": ("Connect Microsoft…", "Microsoft settings"),
    "companies": ("Add companies…", "Add companies…"),
    "mappings": ("Show unmapped", "Show unmapped"),
    "preview": ("Open Reports", "Open Reports"),
}
STATE_TEXT = {StepState.DONE: "✓ Done", StepState.NEXT: "Next", StepState.TODO: "To do"}
STATE_TONE = {StepState.DONE: "ok", StepState.NEXT: "info", StepState.TODO: "muted"}
COMPLETE_TEXT = "Set-up complete: every step is done, and seatsync keeps the agreements in step."


@dataclass
class StepRow:
    number: PlainLabel
    title: PlainLabel
    state: PlainLabel
    detail: ElidedLabel
    button: QPushButton


class SetupGuidePanel(QFrame):
    step_requested = Signal(str)  # a step's key: open where it is done
    hide_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("setupGuide")
        self.guide: SetupGuide | None = None
        style(self, lambda: f"QFrame#setupGuide {{ background: {tint('info', strength=0.08).name()}; "
                            f"border: 1px solid {tint('info', strength=0.45).name()}; border-radius: 4px; }}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 10)
        layout.setSpacing(6)
        header = QHBoxLayout()
        self.heading = PlainLabel("Set up seatsync", self)
        font = self.heading.font()
        font.setBold(True)
        self.heading.setFont(font)
        self.progress = PlainLabel(parent=self)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("hideGuide")
        self.close_button.setText("Hide")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Hide the guide (Help > Set-up guide shows it again)")
        self.close_button.clicked.connect(self.hide_requested)
        header.addWidget(self.heading)
        header.addWidget(self.progress, 1)
        header.addWidget(self.close_button)
        layout.addLayout(header)
        self.steps = QWidget(self)
        grid = QGridLayout(self.steps)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        grid.setColumnStretch(3, 1)
        self.rows: dict[str, StepRow] = {}
        self._tones: dict[str, str] = {}
        for number, (key, title) in enumerate(STEPS, start=1):
            row = StepRow(number=PlainLabel(f"{number}.", self.steps), title=PlainLabel(title, self.steps),
                          state=PlainLabel(parent=self.steps), detail=ElidedLabel(parent=self.steps),
                          button=QPushButton(BUTTONS[key][0], self.steps))
            row.button.setObjectName(f"guide.{key}")
            row.button.clicked.connect(lambda _=False, k=key: self.step_requested.emit(k))
            for column, widget in enumerate((row.number, row.title, row.state, row.detail, row.button)):
                grid.addWidget(widget, number - 1, column)
            self.rows[key] = row
            style(row.state, functools.partial(self._state_sheet, key))
        layout.addWidget(self.steps)
        # Room for the longest title in bold and the widest state: rows keep their places as steps get done.
        bold = self.heading.fontMetrics()
        grid.setColumnMinimumWidth(1, max(bold.horizontalAdvance(title) for _, title in STEPS) + 4)
        grid.setColumnMinimumWidth(2, max(bold.horizontalAdvance(text) for text in STATE_TEXT.values()))
        self.show_reading()

    def show_reading(self) -> None:
        self.progress.setText("Reading what is set up…")

    def show_guide(self, guide: SetupGuide) -> None:
        """Show the steps' states; collapse to one line when every step is done."""
        self.guide = guide
        complete = guide.complete
        self.steps.setVisible(not complete)
        self.heading.setText("Set-up complete" if complete else "Set up seatsync")
        self.progress.setText(COMPLETE_TEXT if complete else f"{guide.done} of {len(guide.steps)} steps done")
        for step in guide.steps:
            row = self.rows[step.key]
            row.title.setText(step.title)
            font = row.title.font()
            font.setBold(step.state is StepState.NEXT)
            row.title.setFont(font)
            row.state.setText(STATE_TEXT[step.state])
            self._tones[step.key] = STATE_TONE[step.state]
            row.state.setStyleSheet(self._state_sheet(step.key))
            row.detail.setText(step.detail)
            row.detail.setToolTip(tip(step.detail))
            row.button.setText(BUTTONS[step.key][1 if step.done else 0])
            row.button.setDefault(step.state is StepState.NEXT)

    def _state_sheet(self, key: str) -> str:
        name = self._tones.get(key, "muted")
        return f"color: {(muted() if name == 'muted' else tone(name)).name()}"

    def failed(self, text: str) -> None:
        self.progress.setText(text)

    @property
    def complete(self) -> bool:
        return self.guide is not None and self.guide.complete

    def state_of(self, key: str) -> str:
        """What the guide says about step ``key`` (tests and screen readers read the same)."""
        return self.rows[key].state.text()

