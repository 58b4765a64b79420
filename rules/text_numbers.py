"""Numbers as spreadsheets write them: decimal points or commas, thousands separators.

``1.5``, ``1,5``, ``1.234,5``, ``1,234.5``, ``1.234.567`` and ``1,234,567`` each say how they
are written. Only ``1.234``/``1,234`` (one separator, three digits after it, 1-3 before) can
mean two things: :class:`NumberEvidence` finds how the rest of a file writes decimals, and
:func:`parse_number` takes that style. Used through :class:`territory.rules.text_files.TextFile`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from territory.rules.errors import TextFileError

DECIMAL_STYLES = ("point", "comma")


class AmbiguousNumber(ValueError):
    """``1.234``/``1,234`` without a style: a thousands separator or a decimal one."""


_NUMBER_FORMS = {
    "ambiguous": re.compile(r"[+-]?[1-9]\d{0,2}[.,]\d{3}"),
    "point": re.compile(r"[+-]?([1-9]\d{0,2}(,\d{3})+(\.\d*)?|\d*\.\d+|\d+\.)([eE][+-]?\d+)?"),
    "comma": re.compile(r"[+-]?([1-9]\d{0,2}(\.\d{3})+(,\d*)?|\d*,\d+|\d+,)"),
    "plain": re.compile(r"[+-]?\d+([eE][+-]?\d+)?"),
}


_DOT_GROUPS = re.compile(r"\.\d{3}\.")  # 1.234.567: decimal comma style without a comma
_NUMERIC_COLUMN = re.compile(r"[0-9.,+\-eE\n]*")  # only what numbers are written with
_EVIDENCE = {
    style: re.compile(rf"(?m)^(?!{_NUMBER_FORMS['ambiguous'].pattern}$)(?:{_NUMBER_FORMS[style].pattern})$")
    for style in DECIMAL_STYLES
}


def number_form(text: str) -> str | None:
    """How a stripped value writes its number: ``plain`` (no separator), ``point``,
    ``comma``, ``ambiguous``; None when it is no number of these forms."""
    for form, pattern in _NUMBER_FORMS.items():
        if pattern.fullmatch(text):
            return form
    return None


def parse_number(text: str, style: str | None = None) -> float | None:
    """Parse one value; ``style`` (point/comma) decides ambiguous values (and only those
    when None: unambiguous ones say how they are written). Empty gives None.

    Raises:
        AmbiguousNumber: ``1.234``-like and no style.
        ValueError: not a number (in ``style``, when given).
    """
    value = text.strip()
    if not value:
        return None
    dot = value.find(".")
    if "," not in value and (dot < 0 or style == "point" or (len(value) - dot != 4 and style is None)):
        try:  # the common plain forms (12, 1.5, 1e5), at float()'s speed
            return float(value)
        except ValueError:
            pass
    form = number_form(value)
    if form == "ambiguous":
        if style is None:
            raise AmbiguousNumber(value)
        form = style
    elif style is not None and form in DECIMAL_STYLES and form != style:
        raise ValueError(value)
    if form == "point":
        return float(value.replace(",", ""))
    if form == "comma":
        return float(value.replace(".", "").replace(",", "."))
    return float(value)  # plain, or what Python reads as a number (inf, 1_000): callers check ranges


@dataclass(frozen=True)
class NumberEvidence:
    """The first line that writes decimals each way, over the file's numeric columns."""

    source: str
    point: tuple[int, str] | None
    comma: tuple[int, str] | None

    @classmethod
    def of(cls, source: str, width: int, records: Iterable[tuple[int, list[str]]]) -> NumberEvidence:
        """Evidence over ``records`` (``(line, fields)``) of a file with ``width`` columns.

        Only columns that hold numbers throughout count: ids and names say nothing. Each
        column is checked as one joined string with one regular expression (fast)."""
        records = list(records)
        lines = [line for line, _ in records]
        found: dict[str, list[tuple[int, str]]] = {"point": [], "comma": []}
        for index in range(width):
            column = [fields[index] if index < len(fields) else "" for _, fields in records]
            first = next((value.strip() for value in column if value.strip()), "")
            if number_form(first) is None:
                continue  # the usual text column ends here, at its first value
            joined = "\n".join(column)
            if " " in joined or "\t" in joined:
                joined = "\n".join(value.strip() for value in column)
            if ("." not in joined and "," not in joined) or not _NUMERIC_COLUMN.fullmatch(joined):
                continue
            # the full patterns are tried only where their telltale characters occur (fast)
            wanted = {"point": True, "comma": "," in joined or bool(_DOT_GROUPS.search(joined))}
            for style, pattern in _EVIDENCE.items():
                match = pattern.search(joined) if wanted[style] else None
                if match:
                    found[style].append((lines[joined.count("\n", 0, match.start())], match.group()))
        return cls(source, min(found["point"], default=None), min(found["comma"], default=None))

    def style_for(self, value: str, line: int, column: str) -> str:
        """The style ``value`` (ambiguous, on ``line``) is read in.

        Raises:
            TextFileError: the file writes decimals both ways, or shows neither.
        """
        if self.point and self.comma:
            raise TextFileError(self.source, line, (
                f"column {column}: {value!r} is ambiguous: line {self.point[0]} writes {self.point[1]!r} "
                f"with a decimal point, line {self.comma[0]} {self.comma[1]!r} with a decimal comma; "
                "write it without a thousands separator, or say which (--decimal point|comma)"))
        if self.point or self.comma:
            return "point" if self.point else "comma"
        raise TextFileError(self.source, line, (
            f"column {column}: {value!r} could be a thousand-something or a decimal and nothing else in the file "
            "tells which; write it without a thousands separator (1234 or 1,234 vs 1.234), or say how the file "
            "writes decimals (--decimal point|comma)"))
