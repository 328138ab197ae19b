"""`ascend search` through the CLI runner, on a real index file, as a user would run it."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from typer.testing import CliRunner

import shared.services
from ascend_cli.main import app
from shared.adapters.sqlite_index import SqliteIndex
from shared.settings import Settings
from tests.support.cli import point_cli_at
from tests.support.query import job


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[SqliteIndex]:
    """Environment pointing the CLI at the test's Azurite and index, with five indexed jobs."""
    point_cli_at(settings, monkeypatch)
    index = SqliteIndex(settings.index_path)
    index.ensure()
    index.upsert(
        [
            job(
                1,
                hours_ago=1,
                status="failed",
                function_name="[bold]x[/]",
                cost_usd=1.5,
                duration_seconds=4000.0,
            ),
            job(2, hours_ago=2, packages=["torch==2.1.0"], use_gpu=True, cost_usd=9.0),
            job(3, hours_ago=3, packages=["torch==1.13.1"]),
            job(4, hours_ago=4, user="bob", status="failed"),
            job(5, hours_ago=5, status="failed", tags=["experiment=baseline"]),
        ]
    )
    yield index
    index.close()
    shared.services.reset()


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["search", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_prints_one_search_document_per_line(cli: SqliteIndex) -> None:
    """`--json` prints only the matching documents, one JSON object per line, newest first."""
    code, out, _ = invoke("status:failed", "--json")
    assert code == 0
    docs = [orjson.loads(line) for line in out.splitlines()]
    assert [d["job_id"][-2:] for d in docs] == ["01", "05"]
    assert all(d["user"] == "alice" for d in docs)


def test_a_quoted_package_specifier_works_from_the_shell(cli: SqliteIndex) -> None:
    """`ascend search 'package:"torch>=2.0.0"'` finds the job with torch 2.1."""
    code, out, _ = invoke('package:"torch>=2.0.0"', "--json")
    assert code == 0
    assert [orjson.loads(line)["job_id"][-2:] for line in out.splitlines()] == ["02"]


def test_the_table_shows_the_columns_and_values_literally(
    cli: SqliteIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --json a table lists job, status, function, cost and duration; markup is not run
    (a column no job has a value for, here ERRORS, is left out)."""
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = invoke("status:failed")
    assert code == 0
    for text in (
        "JOB ID",
        "STATUS",
        "FUNCTION",
        "COST",
        "DURATION",
        "[bold]x[/]",
        "$1.50",
        "1h06m",
        "failed",
    ):
        assert text in out


def test_a_bad_query_is_a_usage_error_saying_where(cli: SqliteIndex) -> None:
    """An unknown key exits 2 with one line naming the column and the reason."""
    code, out, err = invoke("status:failed", "colour:red")
    assert code == 2
    assert out == ""
    assert (
        err == "error: query at column 15: unknown key 'colour' (known: cost, created, dep, "
        "duration, function, gpu, image, metric, node, package, project, python, retain, "
        "signature, sort, status, tag, tier, user)\n"
    )


def test_the_next_cursor_goes_to_stderr_and_continues_the_listing(cli: SqliteIndex) -> None:
    """With --limit, stderr carries `--cursor C`, and that cursor gives the rest."""
    code, out, err = invoke("", "--limit", "3", "--json")
    assert code == 0
    first = [orjson.loads(line)["job_id"][-2:] for line in out.splitlines()]
    cursor = err.strip().splitlines()[-1]  # on a line of its own, to copy it whole
    code, out, err = invoke("", "--limit", "3", "--json", "--cursor", cursor)
    assert code == 0
    second = [orjson.loads(line)["job_id"][-2:] for line in out.splitlines()]
    assert first + second == ["01", "02", "03", "05"]
    assert err == ""


def test_a_forged_cursor_is_a_usage_error(cli: SqliteIndex) -> None:
    """A cursor that was not printed by a search exits 2 instead of showing anything."""
    code, out, err = invoke("", "--cursor", "eyJzIjoiY3JlYXRlZF9hdCJ9")
    assert (code, out) == (2, "")
    assert err.startswith("error: cursor: ")


def test_a_user_cannot_search_another_users_jobs(cli: SqliteIndex) -> None:
    """alice asking for bob's jobs gets none; an admin gets them."""
    code, out, err = invoke("user:bob", "--json")
    assert (code, out) == (0, "")
    assert "no jobs match" not in err
    code, out, err = invoke("user:bob")
    assert (code, err) == (0, "no jobs match\n")


def test_an_admin_sees_every_users_jobs(cli: SqliteIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ASCEND_ROLES=admin the same query finds bob's job."""
    monkeypatch.setenv("ASCEND_ROLES", "admin")
    code, out, _ = invoke("user:bob", "--json")
    assert code == 0
    assert [orjson.loads(line)["user"] for line in out.splitlines()] == ["bob"]


def test_a_limit_out_of_range_is_a_usage_error(cli: SqliteIndex) -> None:
    """--limit 0 is refused by the option itself with exit 2."""
    code, _, _ = invoke("", "--limit", "0")
    assert code == 2


def test_a_negated_first_term_follows_a_double_dash(cli: SqliteIndex) -> None:
    """`ascend search --json -- -status:failed` passes the negation through to the query."""
    code, out, _ = invoke("--json", "--", "-status:failed", "user:alice")
    assert code == 0
    assert [orjson.loads(line)["job_id"][-2:] for line in out.splitlines()] == ["02", "03"]
