"""The query language parser: every term of the contract, and errors that say where and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from query import QueryError, parse_query, terms
from query.ast import (
    AllOf,
    Compare,
    Equals,
    IsTrue,
    Metric,
    Not,
    Package,
    Query,
    Relative,
    Sort,
    Tag,
)
from shared.errors import InvalidInput
from tests.support.query import query_texts

DAY = datetime(2025, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status:failed", Equals("status", ("failed",))),
        ("status:failed,cancelled", Equals("status", ("failed", "cancelled"))),
        ("user:Alice", Equals("user", ("alice",))),
        ("project:frauddetect", Equals("project", ("frauddetect",))),
        ("function:train_model", Equals("function_name", ("train_model",))),
        ('function:"a,b"', Equals("function_name", ("a,b",))),
        ("node:gpu_small", Equals("node_type", ("gpu_small",))),
        ("python:3.11", Equals("python_version", ("3.11",))),
        ("dep:A3F5D2C8", Equals("dep_hash", ("a3f5d2c8",))),
        (
            "image:alice-a3f5d2c8e9b1",
            AllOf((Equals("user", ("alice",)), Equals("image_hash", ("a3f5d2c8e9b1",)))),
        ),
        ("package:Torch", Package("torch")),
        ('package:"torch>=2.0.0,<2.2"', Package("torch", "<2.2,>=2.0.0")),
        ("package:Scikit_Learn==1.3", Package("scikit-learn", "==1.3")),
        ("tag:experiment=baseline", Tag("experiment", "baseline")),
        ("tag:retain", Tag("retain")),
        ("tag:empty=", Tag("empty", "")),
        ('tag:"note=a b"', Tag("note", "a b")),
        ("gpu:true", IsTrue("use_gpu", True)),
        ("gpu:FALSE", IsTrue("use_gpu", False)),
        ("created:>=2025-12-01", Compare("created_at", ">=", DAY)),
        ("created:<2025-12-01", Compare("created_at", "<", DAY)),
        ("created:<=2025-12-01", Compare("created_at", "<", DAY + timedelta(days=1))),
        ("created:>2025-12-01", Compare("created_at", ">=", DAY + timedelta(days=1))),
        (
            "created:2025-12-01",
            AllOf(
                (
                    Compare("created_at", ">=", DAY),
                    Compare("created_at", "<", DAY + timedelta(days=1)),
                )
            ),
        ),
        ("created:<2025-12-08T00:00:00Z", Compare("created_at", "<", DAY + timedelta(days=7))),
        ("created:>=2025-12-01T01:00:00+01:00", Compare("created_at", ">=", DAY)),
        ("created:>=-7d", Compare("created_at", ">=", Relative(timedelta(days=7)))),
        ("created:<-12h", Compare("created_at", "<", Relative(timedelta(hours=12)))),
        ("duration:>3600", Compare("duration_seconds", ">", 3600.0)),
        ("cost:>=10", Compare("cost_usd", ">=", 10.0)),
        ("cost:2.5", Compare("cost_usd", "=", 2.5)),
        ("cost:<=1e3", Compare("cost_usd", "<=", 1000.0)),
        ("metric:loss<0.5", Metric("loss", "<", 0.5)),
        ("metric:acc>=0.9", Metric("acc", ">=", 0.9)),
        ("metric:loss", Metric("loss")),
        ('metric:"val loss<=1"', Metric("val loss", "<=", 1.0)),
        ("-status:failed", Not(Equals("status", ("failed",)))),
    ],
)
def test_each_term_of_the_contract_parses_to_its_tree(text: str, expected: object) -> None:
    """Every row of the contract's query table becomes the term it means."""
    assert parse_query(text).terms == (expected,)


def test_terms_separated_by_spaces_are_anded_in_order() -> None:
    """Several terms give several conjuncts, left to right, with the default sort."""
    query = parse_query("  status:failed \t user:bob  ")
    assert query == Query((Equals("status", ("failed",)), Equals("user", ("bob",))), Sort())


@pytest.mark.parametrize(
    ("text", "sort"),
    [
        ("sort:-cost", Sort("cost_usd", True)),
        ("sort:created", Sort("created_at", False)),
        ("sort:-duration", Sort("duration_seconds", True)),
        ("", Sort("created_at", True)),
    ],
)
def test_sort_terms_choose_the_order_and_default_to_newest_first(text: str, sort: Sort) -> None:
    """`sort:-FIELD` is descending, `sort:FIELD` ascending, nothing means newest first."""
    assert parse_query(text).sort == sort


def test_quoted_values_unescape_quotes_and_backslashes() -> None:
    """Inside double quotes, `\\"` is a quote and `\\\\` a backslash; other text is literal."""
    query = parse_query(r'function:"say \"hi\" \\ c:\temp"')
    assert query.terms == (Equals("function_name", ('say "hi" \\ c:\\temp',)),)


@pytest.mark.parametrize(
    ("text", "column", "reason"),
    [
        ("status:failed bogus:1", 15, "unknown key 'bogus'"),
        ("status:done", 8, "unknown status 'done'"),
        ("user:", 6, "missing value"),
        ("failed", 1, "expected KEY:VALUE"),
        ('function:"open', 10, "unterminated quoted value"),
        ('function:a"b', 11, "a quote may only start a value"),
        ('user:"a"b', 9, "expected a space between terms"),
        ("user:alice,' or 1=1 --", 6, "not a valid user name"),
        ("dep:a3f5", 5, "not 8 hex digits"),
        ("image:alice-a3f5", 7, "not an image tag"),
        ('package:"torch>>2"', 9, "not NAME or NAME<PEP 440 specifiers>"),
        ('package:"torch[cuda]"', 9, "only a name and version specifiers"),
        ("gpu:yes", 5, "not true or false"),
        ("created:>=yesterday", 9, "not a date"),
        ("created:=-7d", 9, "a relative time needs"),
        ("cost:>ten", 6, "'ten' is not a number"),
        ("cost:!=5", 6, "unknown operator in '!=5'"),
        ("duration:=>5", 10, "unknown operator"),
        ("created:<<2025-12-01", 9, "unknown operator"),
        ("cost:>nan", 6, "'nan' is not a number"),
        ("duration:>1_000", 10, "not a number"),
        ("metric:<0.5", 8, "is not NAME"),
        ("metric:loss<", 8, "'' is not a number"),
        ("sort:-price", 6, "sort: unknown field 'price'"),
        ("sort:cost sort:created", 11, "only one sort term"),
        ("-sort:cost", 1, "sort cannot be negated"),
        ("tag:=v", 5, "has no tag key"),
        ("user:alice\x00", 11, "control character U+0000"),
    ],
)
def test_bad_queries_say_the_column_and_the_reason(text: str, column: int, reason: str) -> None:
    """A query that does not parse raises QueryError with its 1-based column and why."""
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    assert caught.value.position == column - 1
    assert f"query at column {column}:" in str(caught.value)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_query_error_is_a_usage_error() -> None:
    """QueryError is an InvalidInput, which the CLI and API turn into a usage error."""
    assert issubclass(QueryError, InvalidInput)


@given(st.text(max_size=80))
def test_any_text_either_parses_or_raises_a_one_line_query_error(text: str) -> None:
    """Arbitrary text never crashes the parser with anything but a one-line QueryError."""
    error: QueryError | None = None
    try:
        parse_query(text)
    except QueryError as exc:
        error = exc
    if error is not None:
        assert 0 <= error.position <= len(text)
        assert "\n" not in str(error)


@given(query_texts())
def test_generated_queries_always_parse(text: str) -> None:
    """Every query the test vocabulary can write is valid (the property tests rely on it)."""
    parse_query(text)


def test_structured_terms_are_checked_like_query_terms() -> None:
    """`terms()` builds the same terms as the query keys, and names a bad option."""
    assert terms(status="failed,running", user="bob").terms == (
        Equals("status", ("failed", "running")),
        Equals("user", ("bob",)),
    )
    with pytest.raises(InvalidInput, match=r"--project \"' or 1=1\": .*not a valid project"):
        terms(project="' or 1=1")
