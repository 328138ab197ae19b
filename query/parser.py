"""The query language (text) → `Query` (typed tree); errors say where and why.

Grammar: terms separated by whitespace, each `[-]KEY:VALUE`; a VALUE is bare (no whitespace, no
`"`) or double-quoted with `\\"` and `\\\\` escapes. In a bare value of an equality key, commas
separate alternatives (`status:failed,cancelled`); a quoted value is always one literal. The
meaning of each key lives in `query._terms`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from query._terms import BUILDERS, SORT_KEYS, TermError
from query.ast import Not, Query, Sort, Term
from shared.errors import InvalidInput

MAX_QUERY_CHARS = 4096
MAX_TERMS = 64
_KEY_RE = re.compile(r"[A-Za-z_]+")


class QueryError(InvalidInput):
    """A query that does not parse: `position` is the 0-based offset of the offending text."""

    def __init__(self, position: int, reason: str) -> None:
        self.position = position
        super().__init__(f"query at column {position + 1}", reason)


@dataclass(frozen=True, slots=True)
class RawTerm:
    """One `[-]KEY:VALUE` as written, with where its parts start."""

    negated: bool
    key: str
    value: str
    quoted: bool
    position: int
    value_position: int


def parse_query(text: str) -> Query:
    """The typed tree of `text`, or `QueryError` naming the column and the reason."""
    _check_text(text)
    terms: list[Term] = []
    sort: Sort | None = None
    for raw in tokenize(text):
        if raw.key == "sort":
            sort = _sort(raw, sort)
        else:
            terms.append(_term(raw))
    if len(terms) > MAX_TERMS:
        raise QueryError(0, f"too many terms ({len(terms)}; at most {MAX_TERMS})")
    return Query(tuple(terms), sort or Sort())


def tokenize(text: str) -> Iterator[RawTerm]:
    """The raw terms of `text`, left to right."""
    pos = _skip_space(text, 0)
    while pos < len(text):
        raw, pos = _read_term(text, pos)
        yield raw
        if pos < len(text) and not text[pos].isspace():
            raise QueryError(pos, "expected a space between terms")
        pos = _skip_space(text, pos)


def _check_text(text: str) -> None:
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(MAX_QUERY_CHARS, f"query longer than {MAX_QUERY_CHARS} characters")
    for pos, char in enumerate(text):
        if unicodedata.category(char) == "Cc" and not char.isspace():
            raise QueryError(pos, f"control character U+{ord(char):04X} is not allowed")


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _read_term(text: str, start: int) -> tuple[RawTerm, int]:
    negated = text[start] == "-"
    pos = start + 1 if negated else start
    match = _KEY_RE.match(text, pos)
    if match is None or match.end() >= len(text) or text[match.end()] != ":":
        raise QueryError(pos, _expected_term(text, pos))
    key = match.group().lower()
    value_pos = match.end() + 1
    if value_pos < len(text) and text[value_pos] == '"':
        value, end = _read_quoted(text, value_pos)
        return RawTerm(negated, key, value, True, start, value_pos), end
    value, end = _read_bare(text, value_pos)
    return RawTerm(negated, key, value, False, start, value_pos), end


_OPERATOR_HINTS = {
    "or": "there is no OR: for any of several values write KEY:A,B (e.g. status:failed,cancelled)",
    "and": "terms are AND-ed already: leave out AND",
    "not": "there is no NOT: put '-' before a term (e.g. -status:failed)",
}


def _expected_term(text: str, pos: int) -> str:
    """Why the text at `pos` is not a term, with a hint for what people coming from other query
    languages type."""
    word = text[pos:].split(maxsplit=1)[0] if text[pos:].strip() else ""
    if word.lower() in _OPERATOR_HINTS:
        return _OPERATOR_HINTS[word.lower()]
    if word.startswith('"'):
        return 'a quote may only start a value: write KEY:"VALUE"'
    return "expected KEY:VALUE (e.g. status:failed)"


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    chars: list[str] = []
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if char == '"':
            return "".join(chars), pos + 1
        if char == "\\" and pos + 1 < len(text) and text[pos + 1] in '"\\':
            pos += 1
            char = text[pos]
        chars.append(char)
        pos += 1
    raise QueryError(start, 'unterminated quoted value (missing closing ")')


def _read_bare(text: str, start: int) -> tuple[str, int]:
    pos = start
    while pos < len(text) and not text[pos].isspace():
        if text[pos] == '"':
            raise QueryError(pos, 'a quote may only start a value: write KEY:"VALUE"')
        pos += 1
    if pos == start:
        raise QueryError(start, "missing value after ':'")
    return text[start:pos], pos


def _term(raw: RawTerm) -> Term:
    builder = BUILDERS.get(raw.key)
    if builder is None:
        known = ", ".join(sorted([*BUILDERS, "sort"]))
        raise QueryError(raw.position + raw.negated, f"unknown key {raw.key!r} (known: {known})")
    try:
        term = builder(raw.value, raw.quoted)
    except TermError as exc:
        raise QueryError(raw.value_position, f"{raw.key}: {exc}") from None
    return Not(term) if raw.negated else term


def _sort(raw: RawTerm, previous: Sort | None) -> Sort:
    if raw.negated:
        raise QueryError(raw.position, "sort cannot be negated (use sort:-FIELD to reverse)")
    if previous is not None:
        raise QueryError(raw.position, "only one sort term is allowed")
    descending = raw.value.startswith("-")
    name = raw.value[1:] if descending else raw.value
    field = SORT_KEYS.get(name.lower())
    if field is None:
        known = ", ".join(sorted(SORT_KEYS))
        raise QueryError(raw.value_position, f"sort: unknown field {name!r} (known: {known})")
    return Sort(field, descending)


def terms(
    *, status: str | None = None, project: str | None = None, user: str | None = None
) -> Query:
    """Structured filters (`jobs list --status/--project/--user`) as a query to pass as `extra`.

    Each value is checked exactly as the same key in a query (`status:failed,cancelled`: commas
    separate alternatives); a bad one raises `InvalidInput` naming the option.
    """
    built: list[Term] = []
    for key, value in (("status", status), ("project", project), ("user", user)):
        if value is None:
            continue
        try:
            built.append(BUILDERS[key](value, False))
        except TermError as exc:
            raise InvalidInput(f"--{key} {value!r}", str(exc)) from None
    return Query(tuple(built))
