"""Money: Decimal only, never float, rounded once per line half-up."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

#: Minor units per ISO 4217 currency where it is not 2.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}


def minor_unit(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (2 unless known otherwise)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def to_money(value: object) -> Decimal:
    """Return ``value`` as a Decimal; floats and other inexact types are refused.

    Accepts Decimal, int and numeric strings ("12.50"). A float raises
    TypeError: binary floating point cannot hold most cent amounts exactly.
    """
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount of money")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not an amount of money: {value!r}") from None
    else:
        raise TypeError(f"money must be Decimal, int or str, not {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"not an amount of money: {value!r}")
    return result


def round_money(amount: Decimal, currency: str = "USD") -> Decimal:
    """Round ``amount`` half-up to the currency's minor unit (once per line)."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be Decimal, not {type(amount).__name__}")
    return amount.quantize(_smallest_unit(currency), rounding=ROUND_HALF_UP)


@lru_cache(maxsize=64)  # currencies come from the PSA: a few in practice, bounded in any case
def _smallest_unit(currency: str) -> Decimal:
    """0.01 for most currencies (``minor_unit`` digits after the point), made once per currency."""
    return Decimal(1).scaleb(-minor_unit(currency))


def spelled(amount: Decimal, currency: str = "USD") -> str:
    """``amount`` in words of a message: at least the currency's minor unit (22 → "22.00"), never rounded
    (22.005 stays "22.005": a PSA may keep more digits than it bills)."""
    exponent = amount.as_tuple().exponent  # an int for every finite amount
    short = isinstance(exponent, int) and -exponent < minor_unit(currency)
    return str(amount.quantize(_smallest_unit(currency)) if short else amount)
