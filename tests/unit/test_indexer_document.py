"""The pure core of the indexer: metadata + log stats + prices → the search document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from indexer.document import LogFacts, build_document, job_cost, package_names, week_of
from shared.documents import FIELDS, SearchDocument
from shared.jobdocument import LogStats
from shared.metadata import parse_metadata
from shared.settings import DEFAULT_NODE_PRICES
from tests.support.builders import EVENTS_CREATED, make_metadata

ONE_HOUR = {
    "start_time": "2026-03-10T09:30:24.000Z",
    "end_time": "2026-03-10T10:30:24.000Z",
    "duration_seconds": 3600.0,
    "exit_code": 0,
}


def _doc(log: LogFacts | None = None, **fields: Any) -> SearchDocument:
    """The document of a job created at EVENTS_CREATED, `fields` replacing top-level keys."""
    meta = parse_metadata(orjson.dumps(make_metadata(created_at=EVENTS_CREATED) | fields))
    return build_document(
        meta, prices=DEFAULT_NODE_PRICES, source_version="v1", log=log or LogFacts()
    )


def test_the_document_has_exactly_the_contract_fields() -> None:
    """Every field of `FIELDS` is present, and nothing else."""
    assert set(_doc()) == {f.name for f in FIELDS}


def test_times_are_in_the_one_document_form() -> None:
    """created_at and updated_at are UTC with milliseconds and a Z."""
    doc = _doc(created_at="2026-03-10T10:30:00+01:00")
    assert doc["created_at"] == "2026-03-10T09:30:00.000Z"
    assert doc["updated_at"] == "2026-03-10T09:35:00.000Z"


def test_cost_is_node_hours_times_the_hourly_price() -> None:
    """One hour on gpu_small costs its hourly price; an unknown node type costs 0."""
    assert _doc(execution=ONE_HOUR)["cost_usd"] == DEFAULT_NODE_PRICES["gpu_small"]
    assert _doc(execution=ONE_HOUR, config={"node_type": "quantum_xl"})["cost_usd"] == 0.0
    assert job_cost(None, "gpu_small", DEFAULT_NODE_PRICES) is None


def test_duration_falls_back_to_end_minus_start() -> None:
    """Without duration_seconds the duration is the execution's end minus its start."""
    doc = _doc(execution={"start_time": "2026-03-10T09:30:00Z", "end_time": "2026-03-10T09:31:30Z"})
    assert doc["duration_seconds"] == 90.0


def test_retain_and_tags_come_from_the_metadata_tags() -> None:
    """Tags become sorted key=value strings; retain=true (any case) sets retain."""
    doc = _doc(tags={"retain": "True", "b": "2", "a": "1"})
    assert doc["tags"] == ["a=1", "b=2", "retain=True"]
    assert doc["retain"] is True


def test_log_fields_are_unknown_until_the_log_was_read() -> None:
    """Without stats the log fields are None; with them they are filled."""
    assert _doc()["log_errors"] is None
    stats = LogStats(lines=3, errors=1, last_error="boom", metrics_last={"loss": 0.1})
    doc = _doc(LogFacts(stats=stats, tier="Cool"))
    assert (doc["log_lines"], doc["log_errors"], doc["log_last_error"]) == (3, 1, "boom")
    assert doc["metrics_last"] == {"loss": 0.1}
    assert doc["tier"] == "Cool"


def test_package_names_follow_pep_503() -> None:
    """Names are normalized, repeats dropped, order kept, odd specs handled."""
    specs = ["Scikit_Learn==1.3", "scikit-learn>=1", "Foo.Bar[extra]~=2.0", "weird name!!"]
    assert package_names(specs) == ["scikit-learn", "foo-bar", "weird"]


@given(st.lists(st.text(max_size=40), max_size=8))
def test_package_names_never_fail_and_are_normalized(specs: list[str]) -> None:
    """Any package text gives lowercase names without runs of separators, never an error."""
    for name in package_names(specs):
        assert name == name.lower()
        assert not any(bad in name for bad in ("--", "_", "."))


def test_the_document_keeps_the_field_order_and_owns_its_lists() -> None:
    """Keys come in `FIELDS` order (as `empty_document` gives them), and two documents built
    from one job share no list or dict: changing one leaves the other as it was."""
    meta = parse_metadata(orjson.dumps(make_metadata(created_at=EVENTS_CREATED)))
    first, second = (
        build_document(meta, prices=DEFAULT_NODE_PRICES, source_version="v1") for _ in range(2)
    )
    assert list(first) == [f.name for f in FIELDS]
    for name, value in first.items():
        if isinstance(value, list | dict):
            assert value is not second[name], name  # type: ignore[literal-required]
    first["packages"].append("changed==1")
    assert "changed==1" not in second["packages"]
    assert meta.dependencies.packages == second["packages"]


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 5), max_value=datetime(8999, 12, 1), timezones=st.just(UTC)
    ).map(lambda d: d.replace(microsecond=0))
)
def test_the_week_and_month_are_those_of_the_creation_time(created: datetime) -> None:
    """created_week is the Monday of the UTC creation day (`week_of`), created_month its
    year and month (`%Y-%m`), both as the time text the document stores begins."""
    meta = parse_metadata(orjson.dumps(make_metadata(created_at=created)))
    doc = build_document(meta, prices=DEFAULT_NODE_PRICES, source_version="v1")
    assert doc["created_week"] == week_of(created)
    assert doc["created_month"] == f"{created:%Y-%m}"
    monday = datetime.fromisoformat(doc["created_week"] or "").date()
    assert monday.weekday() == 0
    assert 0 <= (created.date() - monday).days < 7
