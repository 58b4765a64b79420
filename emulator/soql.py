"""A SOQL subset: tokenizer, parser and predicate compiler for the Salesforce emulator.

Supported grammar (what the connector and a curious admin send)::

    SELECT field, Rel.Field, ... | COUNT()
    FROM Object
    [WHERE cond]            cond := cond AND cond | cond OR cond | NOT cond | ( cond )
                                  | field op literal | field [NOT] IN (literal, ...)
                                  | field LIKE 'pattern'
    [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...]
    [LIMIT n] [OFFSET n]

Literals: 'strings' (backslash escapes), true/false, null, numbers, dates ``2024-01-31`` and
unquoted datetimes ``2024-01-31T10:00:00Z`` / ``...+01:00``. Problems raise
:class:`SoqlError` carrying the Salesforce error code (MALFORMED_QUERY, INVALID_FIELD, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

MAX_OFFSET = 2000


class SoqlError(Exception):
    """A query the emulator rejects, with the code Salesforce would send."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str  # = != < <= > >= IN NOT IN LIKE
    value: Any


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR
    parts: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    part: Expr


Expr = Comparison | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    field: str
    descending: bool = False
    nulls_last: bool | None = None  # None = Salesforce default (nulls first ASC, last DESC)


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    count_only: bool
    sobject: str
    where: Expr | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<op>!=|<>|<=|>=|=|<|>)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_KEYWORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
    "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "TRUE", "FALSE", "NULL", "COUNT",
}


@dataclass(frozen=True)
class _Tok:
    kind: str  # string datetime date number name keyword op punct end
    text: str
    value: Any = None


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token at position {pos}: {text[pos:pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        raw = m.group(kind)
        if kind == "string":
            tokens.append(_Tok("string", raw, _unescape(raw[1:-1])))
        elif kind == "datetime":
            stamp = raw.replace("Z", "+00:00")
            tokens.append(_Tok("datetime", raw, datetime.fromisoformat(stamp).astimezone(UTC)))
        elif kind == "date":
            tokens.append(_Tok("date", raw, date.fromisoformat(raw)))
        elif kind == "number":
            tokens.append(_Tok("number", raw, float(raw) if "." in raw else int(raw)))
        elif kind == "name" and raw.upper() in _KEYWORDS:
            tokens.append(_Tok("keyword", raw.upper()))
        else:
            tokens.append(_Tok(kind, "!=" if raw == "<>" else raw))
    tokens.append(_Tok("end", ""))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    # token helpers -----------------------------------------------------------------------
    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def accept(self, kind: str, text: str | None = None) -> _Tok | None:
        tok = self.peek()
        if tok.kind == kind and (text is None or tok.text == text):
            self.i += 1
            return tok
        return None

    def expect(self, kind: str, text: str | None = None) -> _Tok:
        tok = self.accept(kind, text)
        if tok is None:
            found = self.peek().text or "end of query"
            raise SoqlError("MALFORMED_QUERY", f"expected {text or kind} but found {found!r}")
        return tok

    # grammar -----------------------------------------------------------------------------
    def query(self) -> Query:
        self.expect("keyword", "SELECT")
        fields, count_only = self.select_list()
        self.expect("keyword", "FROM")
        sobject = self.expect("name").text
        where = self.or_expr() if self.accept("keyword", "WHERE") else None
        order: list[OrderItem] = []
        if self.accept("keyword", "ORDER"):
            self.expect("keyword", "BY")
            order.append(self.order_item())
            while self.accept("punct", ","):
                order.append(self.order_item())
        limit = self.integer() if self.accept("keyword", "LIMIT") else None
        offset = self.integer() if self.accept("keyword", "OFFSET") else None
        if offset is not None and offset > MAX_OFFSET:
            raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        if self.peek().kind != "end":
            raise SoqlError("MALFORMED_QUERY", f"unexpected token {self.peek().text!r}")
        return Query(tuple(fields), count_only, sobject, where, tuple(order), limit, offset)

    def select_list(self) -> tuple[list[str], bool]:
        if self.accept("keyword", "COUNT"):
            self.expect("punct", "(")
            self.expect("punct", ")")
            return [], True
        fields = [self.expect("name").text]
        while self.accept("punct", ","):
            fields.append(self.expect("name").text)
        return fields, False

    def integer(self) -> int:
        tok = self.expect("number")
        if not isinstance(tok.value, int) or tok.value < 0:
            raise SoqlError("MALFORMED_QUERY", f"expected a non-negative integer, found {tok.text!r}")
        return tok.value

    def order_item(self) -> OrderItem:
        name = self.expect("name").text
        descending = bool(self.accept("keyword", "DESC"))
        if not descending:
            self.accept("keyword", "ASC")
        nulls_last: bool | None = None
        if self.accept("keyword", "NULLS"):
            nulls_last = self.accept("keyword", "LAST") is not None
            if not nulls_last:
                self.expect("keyword", "FIRST")
        return OrderItem(name, descending, nulls_last)

    def or_expr(self) -> Expr:
        parts = [self.and_expr()]
        while self.accept("keyword", "OR"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolOp("OR", tuple(parts))

    def and_expr(self) -> Expr:
        parts = [self.not_expr()]
        while self.accept("keyword", "AND"):
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else BoolOp("AND", tuple(parts))

    def not_expr(self) -> Expr:
        if self.accept("keyword", "NOT"):
            return Not(self.not_expr())
        if self.accept("punct", "("):
            inner = self.or_expr()
            self.expect("punct", ")")
            return inner
        return self.comparison()

    def comparison(self) -> Expr:
        field = self.expect("name").text
        if self.accept("keyword", "NOT"):
            self.expect("keyword", "IN")
            return Comparison(field, "NOT IN", self.value_list())
        if self.accept("keyword", "IN"):
            return Comparison(field, "IN", self.value_list())
        if self.accept("keyword", "LIKE"):
            return Comparison(field, "LIKE", _like_regex(self.expect("string").value))
        op = self.expect("op").text
        return Comparison(field, op, self.literal())

    def value_list(self) -> tuple[Any, ...]:
        self.expect("punct", "(")
        values = [self.literal()]
        while self.accept("punct", ","):
            values.append(self.literal())
        self.expect("punct", ")")
        return tuple(values)

    def literal(self) -> Any:
        tok = self.take()
        if tok.kind in ("string", "datetime", "date", "number"):
            return tok.value
        if tok.kind == "keyword" and tok.text in ("TRUE", "FALSE", "NULL"):
            return {"TRUE": True, "FALSE": False, "NULL": None}[tok.text]
        raise SoqlError("MALFORMED_QUERY", f"expected a value but found {tok.text or 'end of query'!r}")


def _like_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z", re.IGNORECASE | re.DOTALL)


def parse_soql(text: str) -> Query:
    """Parse ``text`` into a :class:`Query`; raises :class:`SoqlError` (MALFORMED_QUERY)."""
    return _Parser(text).query()


def where_fields(expr: Expr | None) -> set[str]:
    """Every field name a WHERE clause mentions (to validate them up front)."""
    if expr is None:
        return set()
    if isinstance(expr, Comparison):
        return {expr.field}
    if isinstance(expr, Not):
        return where_fields(expr.part)
    return set().union(*(where_fields(p) for p in expr.parts))


Getter = Callable[[Any], Any]
Predicate = Callable[[Any], bool]


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _coerce(literal: Any, actual: Any) -> Any:
    """Make a literal comparable with a field value (date vs datetime, int vs float)."""
    if isinstance(actual, datetime) and type(literal) is date:
        return datetime(literal.year, literal.month, literal.day, tzinfo=UTC)
    return literal


def _compare(op: str, actual: Any, literal: Any) -> bool:
    if op in ("=", "!="):
        equal = _fold(actual) == _fold(_coerce(literal, actual)) if literal is not None else actual is None
        return equal if op == "=" else not equal
    if actual is None or literal is None:
        return False
    literal = _coerce(literal, actual)
    try:
        if op == "<":
            return bool(actual < literal)
        if op == "<=":
            return bool(actual <= literal)
        if op == ">":
            return bool(actual > literal)
        return bool(actual >= literal)
    except TypeError:
        raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"cannot compare {actual!r} with {literal!r}") from None


def compile_where(expr: Expr, getter_for: Callable[[str], Getter]) -> Predicate:
    """Turn a WHERE tree into a predicate over records, using ``getter_for(field)``."""
    if isinstance(expr, Not):
        inner = compile_where(expr.part, getter_for)
        return lambda rec: not inner(rec)
    if isinstance(expr, BoolOp):
        parts = [compile_where(p, getter_for) for p in expr.parts]
        if expr.op == "AND":
            return lambda rec: all(p(rec) for p in parts)
        return lambda rec: any(p(rec) for p in parts)
    get = getter_for(expr.field)
    op, value = expr.op, expr.value
    if op in ("IN", "NOT IN"):
        members = {_fold(v) for v in value}
        if op == "IN":
            return lambda rec: _fold(get(rec)) in members
        return lambda rec: _fold(get(rec)) not in members
    if op == "LIKE":
        return lambda rec: isinstance(get(rec), str) and value.match(get(rec)) is not None
    return lambda rec: _compare(op, get(rec), value)


def split_stamp_floor(expr: Expr | None, stamp_field: str) -> tuple[datetime | None, bool, Expr | None]:
    """Pull a top-level ``stamp_field >= / > datetime`` conjunct out of ``expr``.

    Returns (lower bound, strict?, rest of the clause) so the caller can bisect a
    time-sorted index for the bound and evaluate only the rest generically.
    """
    if expr is None:
        return None, False, None
    parts = list(expr.parts) if isinstance(expr, BoolOp) and expr.op == "AND" else [expr]
    for i, part in enumerate(parts):
        if (
            isinstance(part, Comparison)
            and part.field.lower() == stamp_field.lower()
            and part.op in (">=", ">")
            and isinstance(part.value, datetime)
        ):
            rest = parts[:i] + parts[i + 1:]
            remaining: Expr | None = None
            if len(rest) == 1:
                remaining = rest[0]
            elif rest:
                remaining = BoolOp("AND", tuple(rest))
            return part.value, part.op == ">", remaining
    return None, False, expr
