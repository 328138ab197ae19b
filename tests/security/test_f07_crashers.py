"""Finding 7: inputs that used to crash (traceback, HTTP 500) get one-line errors instead."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
import typer

from ascend_cli.retention import parse_now
from indexer.reconcile_partition import reconcile_partition
from indexer.rejected import list_rejections
from query import search
from query.ast import Sort
from query.cursor import decode_cursor
from query.parser import QueryError
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.errors import InvalidInput, InvalidJobId, InvalidMetadata
from shared.jobid import parse_job_id
from shared.layout import by_date_log_path
from shared.metadata import parse_metadata
from shared.partitions import Budget, Partition
from shared.principal import Principal
from shared.services import Services
from tests.support.builders import seed_job
from tests.support.worker import reconcile_all

CLOCK = FixedClock(datetime(2026, 3, 14, tzinfo=UTC))


@pytest.mark.parametrize(
    "query",
    ["created:<=9999-12-31", "created:>=-999999d", "created:>9999-12-31", "created:=9999-12-31"],
)
def test_dates_out_of_range_in_a_query_are_query_errors(query: str, tmp_path: object) -> None:
    """A date at the calendar's edge is refused with the query's column, not an OverflowError."""
    index = SqliteIndex(tmp_path / "i.sqlite3")  # type: ignore[operator]
    index.ensure()
    with pytest.raises(QueryError, match="created"):
        search(index, Principal.of("alice"), query, limit=5, clock=CLOCK)


@pytest.mark.parametrize("value", [2**63, 2**64 - 1])  # (beyond 64 bits JSON gives floats)
def test_a_cursor_with_a_huge_integer_is_refused(value: int) -> None:
    """Integers SQLite cannot bind are refused when the cursor is read."""
    payload = {"s": "cost_usd", "d": True, "v": value, "c": "2026-01-01T00:00:00Z", "j": "x"}
    text = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    with pytest.raises(InvalidInput, match="out of range"):
        decode_cursor(text, Sort("cost_usd", descending=True))


@pytest.mark.parametrize("text", ["0001-01-01", "9999-12-31T23:59:59"])
def test_retention_now_far_from_today_is_a_usage_error(text: str) -> None:
    """`retention plan --now 0001-01-01` is a bad parameter, not an OverflowError."""
    with pytest.raises(typer.BadParameter, match="must lie between"):
        parse_now(text)


def test_deeply_nested_metadata_is_refused_at_validation() -> None:
    """A 1,000-level config is an invalid metadata.json, before it can reach an index."""
    nested = '{"x":' * 1000 + "{}" + "}" * 1000
    doc = '{"job_id": "20260101-000000-alice-p-00000000-00000000", "config": ' + nested + "}"
    with pytest.raises(InvalidMetadata, match="nests deeper"):
        parse_metadata(doc)


@pytest.mark.parametrize(
    "job_id",
    [
        "00010101-000000-alice-p-00000000-00000000",
        "09991231-235959-alice-p-00000000-00000000",
        "99991231-235959-alice-p-00000000-00000000",
    ],
)
def test_job_ids_dated_at_the_calendars_edges_are_invalid(job_id: str) -> None:
    """Such IDs are rejected by name (and so recorded), never an OverflowError downstream."""
    with pytest.raises(InvalidJobId, match="year must lie between"):
        parse_job_id(job_id)


def test_forged_by_date_copies_are_recorded_as_rejected(services: Services) -> None:
    """A by-date copy (plain or .gz) the pipeline did not write is listed in `pipeline rejected`
    after a reconcile; the pipeline's own copy is not, and the forged blobs are left untouched."""

    own = parse_job_id(seed_job(services.blobs, services.index, levels=["INFO", "ERROR"]).job_id)
    reconcile_all(services)
    assert services.blobs.props(by_date_log_path(own)) is not None  # the pipeline's own copy
    assert not list(list_rejections(services.blobs))
    other = parse_job_id(seed_job(services.blobs, services.index, levels=["INFO"]).job_id)
    forged = {
        by_date_log_path(other): b'{"level": "INFO", "message": "forged"}\n',
        by_date_log_path(other, archived=True): b"\x1f\x8b not from the lifecycle",
    }
    for name, data in forged.items():
        services.blobs.write(name, data)
    counts = reconcile_all(services)
    rejected = {r.blob for r in list_rejections(services.blobs)}
    assert set(forged) <= rejected
    assert by_date_log_path(own) not in rejected
    assert counts["rejected"] >= len(forged)
    assert all(services.blobs.props(name) is not None for name in forged)


def test_a_forged_by_date_copy_is_recorded_by_the_partitioned_reconcile(services: Services) -> None:
    """Azure's daily reconcile (one project-day at a time) records it from its listing too."""

    job = parse_job_id(seed_job(services.blobs, services.index, levels=["INFO"]).job_id)
    forged = by_date_log_path(job)
    services.blobs.write(forged, b'{"level": "INFO", "message": "forged"}\n')
    part = Partition("reconcile", "test", job.project, job.created_at.date())
    reconcile_partition(
        services.blobs,
        services.index,
        services.clock,
        services.settings,
        part,
        budget=Budget.start(60.0),
    )
    assert forged in {r.blob for r in list_rejections(services.blobs)}
