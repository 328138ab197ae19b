"""What the fake search service evaluates: OData `$filter` expressions and facet expressions.

Written from the service's documented grammar, not from the adapter's compiler: filters with
`and`/`or`/`not`, parentheses, `eq ne gt ge lt le` against string, number, boolean, null and
DateTimeOffset literals, `search.in(field, 'a|b', '|')`, and `collection/any(x: ...)` lambdas
(`metrics_last/any(m: m/name eq 'loss' and m/value lt 0.5)`); facets with the preview
hierarchy operators (`a > (b ; c)`, options after commas: `count:N`, `metric:sum|min|max|avg`),
answered in the documented shape (`value`, `count`, nested `@search.facets`, `{"sum": x}`).
Anything else raises `ValueError`, which the fake service answers as a 400.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Document = Mapping[str, Any]
Predicate = Callable[[Document], bool]
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<time>\d{4}-\d\d-\d\dT[\d:.]+Z)"
    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(?P<name>[A-Za-z_][\w./]*)|(?P<punct>[(),:]))"
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}


def _tokens(text: str) -> list[tuple[str, str]]:
    found, at = [], 0
    text = text.rstrip()
    while at < len(text):
        match = _TOKEN.match(text, at)
        if not match or match.end() == at:
            raise ValueError(f"cannot read {text[at:]!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        at = match.end()
    return found


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class _Parser:
    tokens: list[tuple[str, str]]
    at: int = 0
    scope: dict[str, str] = field(default_factory=dict)  # lambda variable -> its collection

    def peek(self) -> str:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise ValueError("the filter ends too early")
        token = self.tokens[self.at]
        if expected is not None and token[1] != expected:
            raise ValueError(f"expected {expected!r}, found {token[1]!r}")
        self.at += 1
        return token

    def expression(self) -> Callable[[Document, dict[str, Any]], bool]:
        parts = [self.conjunction()]
        while self.peek() == "or":
            self.take()
            parts.append(self.conjunction())
        return lambda doc, env: any(p(doc, env) for p in parts)

    def conjunction(self) -> Callable[[Document, dict[str, Any]], bool]:
        parts = [self.unary()]
        while self.peek() == "and":
            self.take()
            parts.append(self.unary())
        return lambda doc, env: all(p(doc, env) for p in parts)

    def unary(self) -> Callable[[Document, dict[str, Any]], bool]:
        if self.peek() == "not":
            self.take()
            inner = self.unary()
            return lambda doc, env: not inner(doc, env)
        return self.primary()

    def primary(self) -> Callable[[Document, dict[str, Any]], bool]:
        if self.peek() == "(":
            self.take("(")
            inner = self.expression()
            self.take(")")
            return inner
        kind, text = self.take()
        if text in {"true", "false"}:
            return lambda doc, env: text == "true"
        if text == "search.in":
            return self.search_in()
        if kind == "name" and text.endswith("/any"):
            return self.any_of(text.removesuffix("/any"))
        if kind != "name":
            raise ValueError(f"expected a field, found {text!r}")
        op = self.take()[1]
        if op not in _OPS:
            raise ValueError(f"unknown operator {op!r}")
        literal = self.literal()
        path = text
        return lambda doc, env: _OPS[op](_typed(_value(doc, env, path), literal), literal)

    def literal(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "time":
            return _time(text)
        if kind == "num":
            return float(text)
        if text not in {"true", "false", "null"}:
            raise ValueError(f"expected a literal, found {text!r}")
        return {"true": True, "false": False, "null": None}[text]

    def search_in(self) -> Callable[[Document, dict[str, Any]], bool]:
        self.take("(")
        path = self.take()[1]
        self.take(",")
        values = self.literal()
        delimiter = " ,"
        if self.peek() == ",":
            self.take(",")
            delimiter = self.literal()
        self.take(")")
        wanted = frozenset(re.split("|".join(map(re.escape, delimiter)), values))
        return lambda doc, env: _value(doc, env, path) in wanted

    def any_of(self, collection: str) -> Callable[[Document, dict[str, Any]], bool]:
        self.take("(")
        variable = self.take()[1]
        self.take(":")
        inner = self.expression()
        self.take(")")

        def test(doc: Document, env: dict[str, Any]) -> bool:
            items = doc.get(collection) or ()
            return any(inner(doc, {**env, variable: item}) for item in items)

        return test


def _value(doc: Document, env: Mapping[str, Any], path: str) -> Any:
    head, _, rest = path.partition("/")
    if head in env:
        item = env[head]
        return item.get(rest) if rest else item
    return doc.get(path)


def _typed(value: Any, literal: Any) -> Any:
    if isinstance(literal, datetime) and isinstance(value, str):
        return _time(value)
    if isinstance(literal, float) and isinstance(value, int | float) and value is not True:
        return float(value)
    return value


def compile_filter(expression: str | None) -> Predicate:
    """The filter as a predicate on stored documents; ValueError for what it cannot read."""
    if not expression:
        return lambda doc: True
    parser = _Parser(_tokens(expression))
    test = parser.expression()
    if parser.at != len(parser.tokens):
        raise ValueError(f"unexpected {parser.peek()!r}")
    return lambda doc: test(doc, {})


# ---- facets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facet:
    """One facet of an expression: a field, its options, and the facets nested under it."""

    name: str
    options: dict[str, str]
    children: tuple[Facet, ...] = ()


def parse_facets(expression: str) -> list[Facet]:
    """`a,count:5 > (b ; c,metric:sum)` as facets (`,` options, `>` nesting, `;` siblings)."""
    text = expression.strip()
    facets, rest = _facet_list(text)
    if rest.strip():
        raise ValueError(f"unexpected {rest!r} in facet {expression!r}")
    return facets


def _facet_list(text: str) -> tuple[list[Facet], str]:
    facets = []
    while True:
        facet, text = _facet(text.lstrip())
        facets.extend(facet)
        if not text.lstrip().startswith(";"):
            return facets, text
        text = text.lstrip()[1:]


def _facet(text: str) -> tuple[list[Facet], str]:
    if text.startswith("("):
        inner, rest = _facet_list(text[1:])
        if not rest.lstrip().startswith(")"):
            raise ValueError(f"unbalanced parentheses near {rest!r}")
        parents, text = inner, rest.lstrip()[1:]
    else:
        match = re.match(r"[^>;()]+", text)
        if not match:
            raise ValueError(f"expected a facet at {text!r}")
        name, *options = [p.strip() for p in match.group(0).split(",")]
        pairs = dict(o.split(":", 1) for o in options if o)
        parents, text = (
            [Facet(name, {k.strip(): v.strip() for k, v in pairs.items()})],
            text[match.end() :],
        )
    if not text.lstrip().startswith(">"):
        return parents, text
    if len(parents) != 1:
        raise ValueError("the parent of a facet hierarchy must be one field")
    children, text = _facet(text.lstrip()[1:].lstrip())
    return [Facet(parents[0].name, parents[0].options, tuple(children))], text


def answer_facets(
    facets: Sequence[Facet], hits: Sequence[Document]
) -> dict[str, list[dict[str, Any]]]:
    """`@search.facets` of `facets` over `hits`, in the documented shape."""
    answer: dict[str, list[dict[str, Any]]] = {}
    for facet in facets:
        entries = answer.setdefault(facet.name, [])
        if "metric" in facet.options:
            entries.append(_metric(facet, hits))
        else:
            entries.extend(_buckets(facet, hits))
    return answer


def _metric(facet: Facet, hits: Sequence[Document]) -> dict[str, Any]:
    op = facet.options["metric"]
    numbers = [float(v) for v in _values(hits, facet.name)]
    if op == "sum":
        return {"sum": sum(numbers)}
    if op not in {"min", "max", "avg"}:
        raise ValueError(f"unsupported metric {op!r}")
    if not numbers:
        return {op: None}
    value = {"min": min(numbers), "max": max(numbers), "avg": sum(numbers) / len(numbers)}[op]
    return {op: value}


def _buckets(facet: Facet, hits: Sequence[Document]) -> list[dict[str, Any]]:
    limit = int(facet.options.get("count", 10))
    groups: dict[Any, list[Document]] = {}
    for doc in hits:
        for value in set(_values([doc], facet.name)):
            groups.setdefault(value, []).append(doc)
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))
    buckets = []
    for value, docs in ranked[: limit or None]:
        bucket: dict[str, Any] = {"value": value, "count": len(docs)}
        if facet.children:
            bucket["@search.facets"] = answer_facets(facet.children, docs)
        buckets.append(bucket)
    return buckets


def _values(hits: Sequence[Document], name: str) -> Iterator[Any]:
    for doc in hits:
        value = doc.get(name)
        if isinstance(value, list):
            yield from value
        elif value is not None:
            yield value
