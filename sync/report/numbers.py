"""Numbers as people read them: thousands separators, percentages, money in the settings' currency."""

from __future__ import annotations

import math

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF "}
NO_DATA = "no data"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def count(value: float | None) -> str:
    """``12,345``."""
    return NO_DATA if _missing(value) else f"{value:,.0f}"


def decimal(value: float | None, places: int = 1) -> str:
    """``1,234.5``."""
    return NO_DATA if _missing(value) else f"{value:,.{places}f}"


def percent(value: float | None, *, signed: bool = False) -> str:
    """``12%`` (``+12%`` when signed); one decimal below 10%."""
    if _missing(value):
        return NO_DATA
    assert value is not None
    places = 1 if abs(value) < 0.095 and value != 0 else 0
    return f"{value:+.{places}%}" if signed else f"{value:.{places}%}"


def ratio(value: float | None) -> str:
    """``3.4×``."""
    return NO_DATA if _missing(value) else f"{value:,.1f}×"


def money(value: float | None, currency: str) -> str:
    """``€1.2M``, ``€850k``, ``€920`` (code prefix for currencies without a known symbol)."""
    if _missing(value):
        return NO_DATA
    assert value is not None
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), f"{currency.upper()} ")
    size = abs(value)
    for bound, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if size >= bound:
            return f"{'-' if value < 0 else ''}{symbol}{size / bound:,.1f}{suffix}"
    return f"{'-' if value < 0 else ''}{symbol}{size:,.0f}"
