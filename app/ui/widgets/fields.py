"""Inputs that take exactly what was typed, or say why not.

A spin box turns "-5" into 0 and "99999999999" into its maximum, and a date
edit keeps its old day when the typed one does not fit its format: both
change what the person typed without a word. These line edits read the text
with ``app.ui.formatting``'s parsers instead; while the text is not a value
of the kind asked, ``error()`` says why and the field's ``message`` label
(put it beside the field: ``holder()`` does) shows it. The forms disable or
refuse their Save while a field has an error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Generic, TypeVar

from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from app.ui.formatting import DAY_EXAMPLE, Refused, day, parse_amount, parse_day, parse_whole
from app.ui.widgets.plain import PlainLabel
from app.ui.widgets.tones import text_tone

T = TypeVar("T")


class CheckedField(QLineEdit, Generic[T]):
    """A line edit whose text is read by ``parse``; an empty text is ``blank`` when given, else an error."""

    _REQUIRED = object()

    def __init__(self, parse: Callable[[str], T], *, blank: object = _REQUIRED, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._parse = parse
        self._blank = blank
        self._error = ""
        self.message = PlainLabel()
        self.message.setWordWrap(True)
        text_tone(self.message, "error")
        self.message.hide()
        self.textChanged.connect(self._check)
        self._check()

    def lineEdit(self) -> QLineEdit:  # the spin boxes' name, so a form can be typed into alike
        return self

    def _read(self) -> T:
        if not self.text().strip() and self._blank is not self._REQUIRED:
            return self._blank  # type: ignore[return-value]
        return self._parse(self.text())

    def _check(self, *_: object) -> None:
        try:
            self._read()
        except Refused as refused:
            error = str(refused)
        else:
            error = ""
        self._error = error
        self.message.setText(error)
        self._show_message()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        self._show_message()

    def _show_message(self) -> None:
        """The message shows while the text is wrong and the field in use (a disabled field is not read)."""
        message = getattr(self, "message", None)  # None while the line edit is being built
        if message is not None and message.parent() is not None:  # beside the field, never a window of its own
            message.setVisible(bool(self._error) and self.isEnabled())

    def error(self) -> str:
        """Why the text is not a value ('' when it is)."""
        return self._error

    def value(self) -> T:
        """The value typed; ``Refused`` (a ValueError) says why the text is not one."""
        return self._read()

    def holder(self, parent: QWidget | None = None) -> QWidget:
        """The field with its message beneath: what a form row holds."""
        box = QWidget(parent)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self)
        layout.addWidget(self.message)
        return box


class WholeField(CheckedField[int]):
    """A whole number in [minimum, maximum]; ``blank`` is the value of an empty field (e.g. None: no cap)."""

    def __init__(self, what: str, *, minimum: int = 0, maximum: int, blank: object = CheckedField._REQUIRED,
                 parent: QWidget | None = None) -> None:
        self.minimum, self.maximum = minimum, maximum
        super().__init__(lambda text: parse_whole(text, minimum=minimum, maximum=maximum, what=what), blank=blank,
                         parent=parent)

    def setValue(self, value: int | None) -> None:  # as a spin box
        self.setText("" if value is None else str(value))


class DateField(CheckedField[date]):
    """A day, typed as "15 Nov 2026" or "2026-11-15"; shown as ``formatting.day`` writes it."""

    def __init__(self, *, blank: object = CheckedField._REQUIRED, parent: QWidget | None = None) -> None:
        super().__init__(parse_day, blank=blank, parent=parent)
        self.setPlaceholderText(f"e.g. {DAY_EXAMPLE}")

    def set_day(self, value: date | None) -> None:
        self.setText("" if value is None else day(value))


class AmountField(CheckedField[Decimal]):
    """An exact decimal amount (a price, a percentage); see ``formatting.parse_amount``."""

    def __init__(self, what: str, *, negative: bool = False, places: int | None = None,
                 limit: Decimal = Decimal(1_000_000_000), blank: object = CheckedField._REQUIRED,
                 parent: QWidget | None = None) -> None:
        super().__init__(lambda text: parse_amount(text, what=what, negative=negative, places=places, limit=limit),
                         blank=blank, parent=parent)

    def set_amount(self, value: Decimal | None) -> None:
        self.setText("" if value is None else format(value, "f"))
