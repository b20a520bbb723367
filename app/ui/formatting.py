"""How the window writes money, days and moments, and reads them back from what a person types.

One way for each, everywhere:

- ``money(amount, currency)``: the user's locale (its digits, thousands separators, decimal point and
  where it puts the currency), the currency's symbol when it is the locale's own currency, else its
  ISO code (``$1,234.50`` in the United States, ``EUR 1,234.50`` there for euros, ``1.234,50 €`` in
  Germany). Formatted from the Decimal's own digits, never through a float: at least the currency's
  minor unit of decimals, and every further digit the amount holds (a unit price of ``0.125`` stays
  ``0.125``). ``per_month`` adds " a month".
- ``day(d)``: ``1 Dec 2026`` (day, English month abbreviation, year: unambiguous in every country);
  ``moment(dt)``: ``1 Dec 2026 14:05`` in local time.
- ``parse_day``, ``parse_whole`` and ``parse_amount`` read what was typed exactly, or raise
  ``Refused`` with a sentence saying what is wrong: they never round, clamp or guess.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from PySide6.QtCore import QLocale

from app.billing.money import minor_unit

#: What an amount that cannot be computed (an unmapped license) shows.
NO_AMOUNT = "—"

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                "october", "november", "december")
#: The format ``day`` writes, as a person reads it in a hint.
DAY_EXAMPLE = "15 Nov 2026"
_NUMBER_MARK = "1"
_SYMBOL_MARK = "\u00a4"


class Refused(ValueError):
    """What was typed is not a value of the kind asked: the message says why, for a person."""


# -- money -----------------------------------------------------------------------------------------


def _digits(amount: Decimal, minimum: int) -> tuple[bool, str, str]:
    """(negative, integer digits, fraction digits) of ``amount``: exact, at least ``minimum`` decimals."""
    sign, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int):
        raise ValueError(f"not an amount of money: {amount}")
    text = "".join(map(str, digits))
    if exponent >= 0:
        whole, fraction = text + "0" * exponent, ""
    else:
        text = text.rjust(-exponent + 1, "0")
        whole, fraction = text[:exponent], text[exponent:]
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0").ljust(minimum, "0")
    negative = bool(sign) and any(d != "0" for d in whole + fraction)
    return negative, whole, fraction


class _Style:
    """How one locale writes money, asked of Qt once: a table of 50,000 licenses writes 150,000 amounts."""

    def __init__(self, locale: QLocale) -> None:
        self.locale = QLocale(locale)
        self.number = QLocale(locale)
        self.number.setNumberOptions(QLocale.NumberOption.DefaultNumberOptions)  # C omits separators by default
        self.digits = str.maketrans({str(d): locale.toString(d) for d in range(10)})
        self.point = locale.decimalPoint()
        self.negative = locale.negativeSign()
        self.pattern = _pattern(locale)
        self._around: dict[str, tuple[str, str]] = {}

    def grouped(self, whole: str) -> str:
        """The integer digits in the locale's digits, grouped as the locale groups them."""
        value = int(whole)
        if value < 2**63:
            return self.number.toString(value)
        groups = [whole[max(i - 3, 0):i] for i in range(len(whole), 0, -3)][::-1]  # beyond Qt's integers
        return self.number.groupSeparator().join(g.translate(self.digits) for g in groups)

    def around(self, currency: str) -> tuple[str, str]:
        """What the locale writes before and after an amount's number in ``currency``."""
        found = self._around.get(currency)
        if found is None:
            symbol = _symbol(currency, self.locale)
            pattern = self.pattern
            if symbol.isalpha():  # a code reads as a word: never glued to the digits
                pattern = pattern.replace(_SYMBOL_MARK + _NUMBER_MARK, f"{_SYMBOL_MARK}\u00a0{_NUMBER_MARK}")
                pattern = pattern.replace(_NUMBER_MARK + _SYMBOL_MARK, f"{_NUMBER_MARK}\u00a0{_SYMBOL_MARK}")
            before, _, after = pattern.partition(_NUMBER_MARK)
            found = self._around[currency] = (before.replace(_SYMBOL_MARK, symbol), after.replace(_SYMBOL_MARK, symbol))
        return found


@lru_cache(maxsize=16)
def _style(locale: QLocale) -> _Style:
    """The style of ``locale`` (QLocale compares and hashes by its data: the default locale set anew is another)."""
    return _Style(locale)


def _symbol(currency: str, locale: QLocale) -> str:
    own = locale.currencySymbol(QLocale.CurrencySymbolFormat.CurrencyIsoCode)
    if own and own.upper() == currency.upper():
        return locale.currencySymbol(QLocale.CurrencySymbolFormat.CurrencySymbol) or currency.upper()
    return currency.upper()


def _pattern(locale: QLocale) -> str:
    """Where the locale puts the currency: a text with ``_SYMBOL_MARK`` and ``_NUMBER_MARK`` in it."""
    if locale.language() == QLocale.Language.C:
        return f"{_SYMBOL_MARK}\u00a0{_NUMBER_MARK}"
    sample = locale.toCurrencyString(1, _SYMBOL_MARK)
    one = locale.toString(1)
    if sample.count(one) != 1 or _SYMBOL_MARK not in sample:
        return f"{_SYMBOL_MARK}\u00a0{_NUMBER_MARK}"
    return sample.replace(one, _NUMBER_MARK)


def money(amount: Decimal, currency: str | None, locale: QLocale | None = None) -> str:
    """``amount`` in ``currency`` as the user's locale writes money (no currency: the number alone)."""
    if isinstance(amount, (float, bool)) or not isinstance(amount, (Decimal, int)):
        raise TypeError(f"money must be Decimal, not {type(amount).__name__}")
    amount = Decimal(amount)
    if not amount.is_finite():
        raise ValueError(f"not an amount of money: {amount}")
    style = _style(locale if locale is not None else QLocale())
    negative, whole, fraction = _digits(amount, minor_unit(currency) if currency else 2)
    text = style.grouped(whole)
    if fraction:
        text += style.point + fraction.translate(style.digits)
    if currency:
        before, after = style.around(currency)
        text = before + text + after
    return style.negative + text if negative else text


def per_month(amount: Decimal, currency: str | None, locale: QLocale | None = None) -> str:
    """``money`` a month: "$42,885.00 a month"."""
    return f"{money(amount, currency, locale)} a month"


def money_or_dash(amount: Decimal | None, currency: str | None, locale: QLocale | None = None) -> str:
    """``money``, or "—" when there is no amount (an unmapped license)."""
    return NO_AMOUNT if amount is None else money(amount, currency, locale)


# -- days and moments --------------------------------------------------------------------------------


def day(d: date) -> str:
    """A day as the window writes every day: "1 Dec 2026"."""
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def moment(dt: datetime) -> str:
    """An instant in local time: "1 Dec 2026 14:05" (a naive datetime is taken as UTC, as stored)."""
    local = (dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)).astimezone()
    return f"{day(local.date())} {local:%H:%M}"


_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_NAMED_DAY = re.compile(r"(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})")


def parse_day(text: str) -> date:
    """The day typed: "15 Nov 2026", "15 November 2026" or "2026-11-15"; anything else is refused."""
    typed = text.strip()
    if not typed:
        raise Refused(f"Type a date, such as {DAY_EXAMPLE}.")
    iso, named = _ISO_DAY.fullmatch(typed), _NAMED_DAY.fullmatch(typed)
    if iso:
        year, month, number = int(iso[1]), int(iso[2]), int(iso[3])
    elif named:
        word = named[2].lower()
        months = [n for n, name in enumerate(_MONTH_NAMES, 1) if len(word) >= 3 and name.startswith(word)]
        if len(months) != 1:
            raise Refused(f"“{named[2]}” is not a month: type a date such as {DAY_EXAMPLE}.")
        year, month, number = int(named[3]), months[0], int(named[1])
    else:
        raise Refused(f"“{typed}” is not a date: type one such as {DAY_EXAMPLE} or 2026-11-15.")
    try:
        return date(year, month, number)
    except ValueError:
        raise Refused(f"“{typed}” is not a day of the calendar.") from None


# -- numbers -----------------------------------------------------------------------------------------


def parse_whole(text: str, *, minimum: int = 0, maximum: int, what: str = "The number") -> int:
    """A whole number typed in [minimum, maximum]: anything else (a sign, a fraction, out of range) is refused."""
    typed = text.strip()
    if not typed:
        raise Refused(f"{what} is empty: type a whole number from {minimum:,} to {maximum:,}.")
    if not re.fullmatch(r"[+-]?(\d+|\d{1,3}(,\d{3})+)", typed):
        raise Refused(f"{what} must be a whole number from {minimum:,} to {maximum:,}, not “{typed}”.")
    value = int(typed.replace(",", ""))
    if value < minimum:
        raise Refused(f"{what} cannot be below {minimum:,}: “{text.strip()}” was typed.")
    if value > maximum:
        raise Refused(f"{what} cannot be above {maximum:,}: “{text.strip()}” was typed.")
    return value


def parse_amount(text: str, *, what: str = "The amount", negative: bool = False,
                 limit: Decimal = Decimal("1000000000"), places: int | None = None) -> Decimal:
    """An amount typed ("1,234.50", "1234.5", "12,50"): exact, or refused with the reason.

    A comma is read as the decimal mark when it is the only mark and is followed by one or two digits
    ("12,50"), as thousands separators when a decimal point follows or there are several ("1,234.50",
    "1,234,567"); a lone comma before three digits ("1,234") could be either and is refused.
    ``places`` caps the decimals (a price in cents).
    """
    typed = text.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if not typed:
        raise Refused(f"{what} is empty: type an amount such as 12.50.")
    if re.fullmatch(r"[+-]?\d+,\d{1,2}", typed):
        typed = typed.replace(",", ".")
    elif re.fullmatch(r"[+-]?\d{1,3},\d{3}", typed):
        whole, _, part = typed.partition(",")
        raise Refused(f"{what} “{text.strip()}” could be {whole}{part} or {whole}.{part}: type it without the comma.")
    elif re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", typed):
        typed = typed.replace(",", "")
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)", typed):
        raise Refused(f"{what} must be a number such as 12.50, not “{text.strip()}”.")
    try:
        value = Decimal(typed)
    except InvalidOperation:
        raise Refused(f"{what} must be a number such as 12.50, not “{text.strip()}”.") from None
    if value < 0 and not negative:
        raise Refused(f"{what} cannot be negative: “{text.strip()}” was typed.")
    if abs(value) >= limit:
        raise Refused(f"{what} must be below {limit:,}: “{text.strip()}” was typed.")
    if places is not None and -value.normalize().as_tuple().exponent > places:  # type: ignore[operator]
        raise Refused(f"{what} has more than {places} decimals: “{text.strip()}” was typed.")
    return value
