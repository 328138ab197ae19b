"""Listing everything: `jobs list`/`search` with --all, --cursor, --since and -o csv|tsv, through
the CLI on Azurite and a real index file."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from ascend_cli.listing import CSV_FIELDS
from shared.services import Services
from tests.support.builders import seed_job
from tests.support.cli import invoke_cli, point_cli_at

REAL_NOW = datetime.now(UTC)  # the CLI's clock is the real one, as for a user


@pytest.fixture
def job_ids(services: Services, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Five of alice's jobs, 1 to 5 days old, newest first; the CLI acts as alice."""
    point_cli_at(services.settings, monkeypatch)
    return [
        seed_job(services.blobs, services.index, REAL_NOW - timedelta(days=n, hours=1)).job_id
        for n in range(1, 6)
    ]


def _ids(out: str) -> list[str]:
    return [orjson.loads(line)["job_id"] for line in out.splitlines()]


@pytest.mark.parametrize("command", [["jobs", "list"], ["search", "user:alice"]])
def test_all_streams_every_page(job_ids: list[str], command: list[str]) -> None:
    """`--all --limit 2` prints all five jobs (three pages), newest first, and no cursor."""
    code, out, err = invoke_cli(*command, "--all", "--limit", "2", "--json")
    assert code == 0
    assert _ids(out) == job_ids
    assert "--cursor" not in err


def test_the_cursor_on_stderr_continues_jobs_list(job_ids: list[str]) -> None:
    """A page prints the next cursor on a line of its own; `--cursor` with it gives the rest."""
    _, first, err = invoke_cli("jobs", "list", "--limit", "2", "--json")
    cursor = err.strip().splitlines()[-1]
    assert " " not in cursor
    _, rest, _ = invoke_cli("jobs", "list", "--limit", "10", "--cursor", cursor, "--json")
    assert _ids(first) + _ids(rest) == job_ids


def test_since_keeps_the_recent_jobs(job_ids: list[str]) -> None:
    """`jobs list --since 3d` lists the jobs created in the last 72 hours only."""
    code, out, _ = invoke_cli("jobs", "list", "--since", "3d", "--json")
    assert code == 0
    assert _ids(out) == job_ids[:2]  # 25 and 49 hours old; the next is 73
    code, _, err = invoke_cli("jobs", "list", "--since", "lately")
    assert code == 2
    assert "--since 'lately'" in err


@pytest.mark.parametrize(("fmt", "delimiter"), [("csv", ","), ("tsv", "\t")])
def test_csv_and_tsv_have_a_header_and_one_row_per_job(
    job_ids: list[str], fmt: str, delimiter: str
) -> None:
    """`-o csv|tsv` is a header of the document's fields and one row per job."""
    code, out, _ = invoke_cli("jobs", "list", "-o", fmt)
    assert code == 0
    rows = list(csv.reader(io.StringIO(out), delimiter=delimiter))
    assert tuple(rows[0]) == CSV_FIELDS
    assert [r[0] for r in rows[1:]] == job_ids
    assert {r[CSV_FIELDS.index("status")] for r in rows[1:]} == {"completed"}


def test_retain_and_tier_can_be_searched(job_ids: list[str]) -> None:
    """`retain:false` and `tier:hot` are query terms, as `jobs status` shows those fields."""
    _, out, _ = invoke_cli("search", "retain:false", "--json")
    assert _ids(out) == job_ids
    code, _, err = invoke_cli("search", "tier:lukewarm")
    assert code == 2
    assert "unknown tier" in err


def test_an_unknown_output_format_is_a_usage_error(job_ids: list[str]) -> None:
    """`-o xml` exits 2 naming the formats."""
    code, _, err = invoke_cli("jobs", "list", "-o", "xml")
    assert code == 2
    assert "table, json, csv or tsv" in err
