"""The fake Azure AI Search service is an honest stand-in: its OData filter evaluation agrees
with the plain-Python oracle of the query language, and its facet answers have the documented
shape (hierarchies, metrics)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from query.evaluate import evaluate
from query.parser import parse_query
from query.resolve import bind_times
from shared.adapters.azure_search_payloads import to_azure
from shared.adapters.odata_query import compile_odata
from shared.jobdocument import package_names
from shared.packages import matching_package_texts
from shared.querytree import Package, Query, Tag, map_terms, matching_tag_texts
from tests.support.odata_eval import answer_facets, compile_filter, parse_facets
from tests.support.query import NOW, documents, query_texts
from tests.support.search_transport import as_service_time


def _as_stored(doc: dict[str, Any]) -> dict[str, Any]:
    """A document as the service keeps it: the adapter's form, times in the service's text,
    `package_names` derived as the indexer derives it."""
    doc = {**doc, "package_names": package_names(doc.get("packages") or [])}
    stored = to_azure(doc)  # type: ignore[arg-type]
    for name in ("created_at", "updated_at"):
        stored[name] = as_service_time(stored[name])
    return stored


def _resolved(query: Query, docs: list[dict[str, Any]]) -> Query:
    """What the adapter does before compiling: specifiers and `tag:key` become indexed texts."""
    packages = sorted({p for d in docs for p in d.get("packages") or ()})
    tags = sorted({t for d in docs for t in d.get("tags") or ()})

    def resolve(term: Any) -> Any:
        if isinstance(term, Package) and term.specifier:
            return replace(term, texts=matching_package_texts(term.name, term.specifier, packages))
        if isinstance(term, Tag) and term.value is None:
            return replace(term, texts=matching_tag_texts(term.key, tags))
        return term

    return map_terms(query, resolve)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(0, 10_000), max_size=20, unique=True).flatmap(
        lambda ns: st.tuples(*[documents(n) for n in ns])
    ),
    query_texts(),
)
def test_the_fake_filters_exactly_the_documents_the_oracle_matches(
    docs: tuple[dict[str, Any], ...], text: str
) -> None:
    """The compiled OData filter, evaluated by the fake, matches what the oracle matches."""
    query = _resolved(bind_times(parse_query(text), NOW), list(docs))
    matches = compile_filter(compile_odata(query).filter)
    expected = {d["job_id"] for d in evaluate(query, docs)}
    assert {d["job_id"] for d in docs if matches(_as_stored(d))} == expected


def test_a_hierarchy_with_metrics_answers_nested_buckets_and_sums() -> None:
    """`a > (b > (m,metric:sum ; m,metric:max))`: buckets per value, metrics per leaf."""
    hits: list[dict[str, Any]] = [
        {"project": "p", "status": "failed", "cost_usd": 1.5},
        {"project": "p", "status": "failed", "cost_usd": 2.0},
        {"project": "p", "status": "completed", "cost_usd": None},
    ]
    (facet,) = parse_facets(
        "project,count:5 > (status,count:5 > (cost_usd,metric:sum ; cost_usd,metric:max))"
    )
    assert answer_facets([facet], hits) == {
        "project": [
            {
                "value": "p",
                "count": 3,
                "@search.facets": {
                    "status": [
                        {
                            "value": "failed",
                            "count": 2,
                            "@search.facets": {"cost_usd": [{"sum": 3.5}, {"max": 2.0}]},
                        },
                        {
                            "value": "completed",
                            "count": 1,
                            "@search.facets": {"cost_usd": [{"sum": 0.0}, {"max": None}]},
                        },
                    ]
                },
            }
        ]
    }


@pytest.mark.parametrize(
    "bad", ["user eq", "user zz 'a'", "(user eq 'a'", "user eq 'a' )", "user eq alice"]
)
def test_a_filter_the_fake_cannot_read_is_a_value_error(bad: str) -> None:
    """What the fake cannot evaluate is refused (the service answers 400), never guessed."""
    with pytest.raises(ValueError, match=r"too early|unknown operator|unexpected|expected a"):
        compile_filter(bad)({"user": "a"})
