"""`ascend report` through the CLI runner, on a real index file of seeded jobs: tables, JSON
Lines, CSV, a plot, scope, and one-line usage errors."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

import shared.services
from shared.adapters.azure_blob import AzureBlobStore
from shared.adapters.sqlite_index import SqliteIndex
from shared.documents import parse_datetime
from shared.settings import Settings
from tests.support.cli import invoke_cli, point_cli_at
from tests.support.reports import seeded_jobs

JOBS = seeded_jobs(120, seed=3)


@pytest.fixture
def index(settings: Settings, blob_store: AzureBlobStore) -> Iterator[SqliteIndex]:
    """The CLI's index file, with the seeded jobs (and its container, where the projects'
    retention policies live)."""
    built = SqliteIndex(settings.index_path)
    built.ensure()
    built.upsert([j.document for j in JOBS])
    yield built
    built.close()
    shared.services.reset()


@pytest.fixture
def admin(settings: Settings, monkeypatch: pytest.MonkeyPatch, index: SqliteIndex) -> None:
    point_cli_at(settings, monkeypatch, user="root", roles="admin")


def _json(out: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in out.splitlines()]


def test_failures_json_has_one_row_per_signature_with_count(admin: None) -> None:
    """`report failures --json`: one object per signature, counts adding up to the failures."""
    code, out, _ = invoke_cli("report", "failures", "--json")
    assert code == 0
    rows = _json(out)
    assert sum(int(r["count"]) for r in rows) == sum(j.crash is not None for j in JOBS)
    assert {
        "signature",
        "count",
        "users",
        "projects",
        "images",
        "first_seen",
        "last_seen",
        "example",
        "pattern",
        "new",
    } <= set(rows[0])


def test_failures_table_shows_the_masked_errors(admin: None) -> None:
    """The table names each error with its varying parts masked."""
    code, out, _ = invoke_cli("report", "failures")
    assert code == 0
    assert "No module named '<str>'" in out
    assert "SIGNATURE" in out


def test_cost_nests_by_keys_and_prints_csv(admin: None) -> None:
    """`--by project,user --csv`: a header and one row per (project, user), jobs adding up."""
    code, out, _ = invoke_cli("report", "cost", "--by", "project,user", "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0])[:3] == ["project", "user", "count"]
    assert sum(int(r["count"]) for r in rows) == len(JOBS)
    assert len({(r["project"], r["user"]) for r in rows}) == len(rows)


def test_cost_by_month_draws_a_plot(admin: None, tmp_path: Path) -> None:
    """`--by month --plot FILE.png` writes a PNG of the series."""
    target = tmp_path / "cost.png"
    code, _, err = invoke_cli("report", "cost", "--by", "month", "--plot", str(target))
    assert code == 0, err
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_of_a_report_that_is_not_over_time_is_a_usage_error(
    admin: None, tmp_path: Path
) -> None:
    """A plot needs --by week or month; otherwise exit 2 with one line saying so."""
    code, _, err = invoke_cli("report", "cost", "--by", "user", "--plot", str(tmp_path / "x.png"))
    assert code == 2
    assert "week" in err
    assert len(err.strip().splitlines()) == 1


def test_storage_and_images_print_json_rows(admin: None) -> None:
    """Storage by tier and images answer one JSON object per group."""
    code, out, _ = invoke_cli("report", "storage", "--by", "tier", "--json")
    assert code == 0
    assert {r["tier"] for r in _json(out)} == {j.tier for j in JOBS}
    code, out, _ = invoke_cli("report", "images", "--json")
    assert code == 0
    assert {r["image"] for r in _json(out)} == {j.image for j in JOBS}
    code, out, _ = invoke_cli("report", "images", "--packages", "--json")
    assert code == 0
    assert {r["package"] for r in _json(out)} == {
        p for j in JOBS for p in j.meta["dependencies"]["packages"]
    }


def test_a_user_report_covers_only_their_jobs(
    settings: Settings, index: SqliteIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without roles, bob's cost report counts bob's jobs only."""
    point_cli_at(settings, monkeypatch, user="bob")
    code, out, _ = invoke_cli("report", "cost", "--by", "user", "--json")
    assert code == 0
    assert {r["user"] for r in _json(out)} == {"bob"}
    assert sum(int(r["count"]) for r in _json(out)) == sum(j.meta["user"] == "bob" for j in JOBS)


@pytest.mark.parametrize(
    "args",
    [
        ["cost", "--by", "colour"],
        ["failures", "--since", "soon"],
        ["cost", "status:nope"],
        ["cost", "--json", "--csv"],
    ],
)
def test_bad_options_exit_2_with_one_line(admin: None, args: list[str]) -> None:
    """An unknown key, a bad time, a bad query, two formats: exit 2, one line on stderr."""
    code, out, err = invoke_cli("report", *args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("report", ["failures", "cost", "storage", "images"])
def test_report_tables_fit_the_terminal_without_cutting_a_cell(
    admin: None, monkeypatch: pytest.MonkeyPatch, report: str, width: int
) -> None:
    """On an 80- or 120-column terminal every report's table fits, no cell ends in an ellipsis,
    its first columns (the group and the job count) always show, and what is left out is named."""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich: treat the runner's output as a terminal
    monkeypatch.setenv("COLUMNS", str(width))
    code, out, err = invoke_cli("report", report)
    assert code == 0, err
    out = re.sub(r"\x1b\[[0-9;]*m", "", out)  # a terminal gets bold headers
    lines = [line for line in out.splitlines() if line.strip()]
    assert all(len(line.rstrip()) <= width for line in lines), out
    assert "…" not in out
    header = lines[0].split()
    assert header[0] in {"SIGNATURE", "PROJECT", "IMAGE"}
    assert "JOBS" in header
    if report == "failures":
        assert "ERROR" in header
        assert "<str>" in out  # the masked message itself is readable
    if "not shown at this width" in err:
        assert all(name not in header for name in err.split(":", 1)[1].split("(")[0].split(", "))


def test_storage_forecasts_a_project_at_the_policy_set_for_it(admin: None) -> None:
    """After `ascend retention policy set vision --delete 60`, the storage report's next sweep
    deletes vision's jobs past 60 days (not retained), and as many of the other projects' as
    before."""

    def forecast() -> dict[str, int]:
        code, out, err = invoke_cli("report", "storage", "--by", "project", "--json")
        assert code == 0, err
        return {r["project"]: r["sweep_deletes"] for r in _json(out)}

    before = forecast()
    code, _, err = invoke_cli(
        "retention", "policy", "set", "vision", "--cool", "10", "--archive", "20", "--delete", "60"
    )
    assert code == 0, err
    after, now = forecast(), datetime.now(UTC)
    vision = [j for j in JOBS if j.meta["project"] == "vision"]
    expected = sum(
        (now - parse_datetime(j.meta["created_at"])).days >= 60
        and j.meta["tags"].get("retain") != "true"
        for j in vision
    )
    assert after["vision"] == expected > before["vision"]
    assert {p: n for p, n in after.items() if p != "vision"} == {
        p: n for p, n in before.items() if p != "vision"
    }
