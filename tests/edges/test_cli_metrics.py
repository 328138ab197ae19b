"""`ascend jobs metrics` through its runner, against Azurite, as a user types it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.image import imread
from typer.testing import CliRunner

from ascend_cli.main import app
from ascend_cli.metrics import sparkline
from producer.capture import capture_job_output
from producer.demo import write_plan
from producer.demo_plan import plan_job
from producer.streamer import LogStreamer
from shared.jobid import JobId, parse_job_id
from shared.ports import BlobStore
from shared.services import Services
from tests.support.cli import point_cli_at

ALICE_JOB = parse_job_id("20260310-093000-alice-frauddetect-a3f5d2c8-7b9e4f1a")
BOB_JOB = parse_job_id("20260310-093000-bob-frauddetect-a3f5d2c8-7b9e4f1a")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def cli(services: Services, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose environment points at the test's Azurite container and index, as alice."""
    point_cli_at(services.settings, monkeypatch)
    return CliRunner()


def run(cli: CliRunner, *args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def captured_training(blobs: BlobStore, job: JobId, epochs: int = 3) -> None:
    """A job that prints chatter and one metrics line per epoch, through the real capture."""
    with LogStreamer(blobs, job, flush_interval=0.05) as streamer, capture_job_output(streamer):
        for epoch in range(1, epochs + 1):
            print(f"epoch {epoch} running")
            print(
                json.dumps(
                    {
                        "epoch": epoch,
                        "loss": round(1 / epoch, 3),
                        "acc": 0.5 + epoch / 10,
                        "phase": "train",
                    }
                )
            )


def test_table_shows_metrics_newest_first(services: Services, cli: CliRunner) -> None:
    """The table has a column per key and the last epoch on top."""
    captured_training(services.blobs, ALICE_JOB)
    code, out, err = run(cli, "jobs", "metrics", str(ALICE_JOB))
    assert (code, err) == (0, "")
    header, *rows = [line.split() for line in out.strip().splitlines()]
    assert header == ["TIME", "epoch", "loss", "acc", "phase"]
    assert [row[2] for row in rows] == ["3", "2", "1"]
    assert rows[0][3:] == ["0.333", "0.8", "train"]


def test_in_a_terminal_each_series_gets_a_sparkline(
    services: Services, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a terminal, each series but the X axis is drawn, oldest to newest, after the table."""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    captured_training(services.blobs, ALICE_JOB)
    code, out, _ = run(cli, "jobs", "metrics", str(ALICE_JOB))
    assert code == 0
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert plain.splitlines()[-2:] == ["             acc ▁▄█  0.8", "            loss █▂▁  0.333"]


def test_limit_keeps_the_newest_rows_and_says_so(services: Services, cli: CliRunner) -> None:
    """`--limit 2` shows the two newest records and notes how many there are."""
    captured_training(services.blobs, ALICE_JOB, epochs=5)
    code, out, err = run(cli, "jobs", "metrics", str(ALICE_JOB), "--limit", "2")
    assert code == 0
    assert [line.split()[2] for line in out.strip().splitlines()[1:]] == ["5", "4"]
    assert err == "showing the newest 2 of 5 metrics records (--limit)\n"


def test_json_prints_the_metrics_records_unchanged(services: Services, cli: CliRunner) -> None:
    """`--json` is JSON Lines of exactly the stored records that carry metrics, in log order."""
    captured_training(services.blobs, ALICE_JOB)
    code, out, err = run(cli, "jobs", "metrics", str(ALICE_JOB), "--json")
    assert (code, err) == (0, "")
    records = [orjson.loads(line) for line in out.splitlines()]
    assert [r["metrics"]["epoch"] for r in records] == [1, 2, 3]
    assert {r["logger"] for r in records} == {"ascend.job.stdout"}
    assert records[0]["message"] == ('{"epoch": 1, "loss": 1.0, "acc": 0.6, "phase": "train"}')


def test_help_says_which_order_the_table_and_the_json_have(cli: CliRunner) -> None:
    """`--help` tells the table is newest first and `--json` oldest first (they differ)."""
    code, out, _ = run(cli, "jobs", "metrics", "--help")
    text = " ".join(out.split())
    assert code == 0
    assert "newest first" in text
    assert "oldest first" in text


def test_plot_of_a_seeded_job_is_a_readable_png(
    services: Services, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A demo-seeded job plots its numeric series by epoch, one panel each, into a real PNG."""
    monkeypatch.setenv("ASCEND_ROLES", "admin")
    plans = [plan_job(7, i, datetime(2026, 3, 14, tzinfo=UTC)) for i in range(12)]
    plan = max(plans, key=lambda p: sum("metrics" in r for r in p.log))
    write_plan(services.blobs, plan)
    target = tmp_path / "seeded.png"
    code, _, err = run(cli, "jobs", "metrics", str(plan.job), "--plot", str(target))
    assert code == 0, err
    assert err == f"wrote {target}: 2 series against epoch ('epoch': the key 'epoch')\n"
    data = target.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    height, width, _ = imread(target).shape
    assert (width, height) == (900, 600)  # 9 in wide, 1.2 + 2 x 2.4 in high, at 100 dpi


def test_plot_against_time_when_no_key_fits(
    services: Services, cli: CliRunner, tmp_path: Path
) -> None:
    """With a single numeric series the X axis is time, and the PNG is still written."""
    with (
        LogStreamer(services.blobs, ALICE_JOB, flush_interval=0.05) as streamer,
        capture_job_output(streamer),
    ):
        for loss in (0.9, 0.5, 0.2):
            print(json.dumps({"loss": loss}))
    code, _, err = run(cli, "jobs", "metrics", str(ALICE_JOB), "--plot", str(tmp_path / "t.png"))
    assert code == 0
    assert "1 series against time (no metric fits, so time)" in err
    assert (tmp_path / "t.png").read_bytes().startswith(PNG_SIGNATURE)


def test_plot_needs_a_png_name(cli: CliRunner) -> None:
    """`--plot out.jpg` is a usage error that names the option and the reason."""
    code, out, err = run(cli, "jobs", "metrics", str(ALICE_JOB), "--plot", "out.jpg")
    assert (code, out) == (2, "")
    assert err == "error: --plot 'out.jpg': must name a .png file\n"


def test_plot_into_a_missing_folder_fails_in_one_line(
    services: Services, cli: CliRunner, tmp_path: Path
) -> None:
    """An unwritable plot path is a failure with the path and the reason, not a traceback."""
    captured_training(services.blobs, ALICE_JOB)
    target = tmp_path / "missing" / "p.png"
    code, _, err = run(cli, "jobs", "metrics", str(ALICE_JOB), "--plot", str(target))
    assert code == 1
    assert err == f"error: cannot write the plot to {target}: No such file or directory\n"


def test_a_job_without_metrics_says_so(services: Services, cli: CliRunner, tmp_path: Path) -> None:
    """No metrics: the table says so and succeeds; a plot fails because there is nothing to draw."""
    with (
        LogStreamer(services.blobs, ALICE_JOB, flush_interval=0.05) as streamer,
        capture_job_output(streamer),
    ):
        print("just text")
    assert run(cli, "jobs", "metrics", str(ALICE_JOB)) == (
        0,
        "",
        f"job {ALICE_JOB} has no metrics records\n",
    )
    code, _, err = run(cli, "jobs", "metrics", str(ALICE_JOB), "--plot", str(tmp_path / "x.png"))
    assert (code, err) == (1, f"error: job {ALICE_JOB} has no numeric metrics to plot\n")


def test_another_users_job_is_not_shown(services: Services, cli: CliRunner) -> None:
    """Alice cannot read bob's metrics: a failure, without telling whether the job exists."""
    captured_training(services.blobs, BOB_JOB)
    code, out, err = run(cli, "jobs", "metrics", str(BOB_JOB), "--json")
    assert (code, out) == (1, "")
    assert err.startswith("error: ")
    assert err.count("\n") == 1


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(min_size=1, max_size=40))
def test_any_job_id_text_is_refused_cleanly(cli: CliRunner, text: str) -> None:
    """Whatever is typed as the job ID, the answer is an exit code and one line, never a crash."""
    result = cli.invoke(app, ["jobs", "metrics", "--", text])
    assert result.exit_code in {1, 2}
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.count("\n") <= 1 or "Usage" in result.stderr


def test_sparkline_spans_the_block_characters() -> None:
    """The lowest value draws the lowest block, the highest the highest."""
    assert sparkline([1.0, 2.0, 3.0]) == "▁▄█"
    assert len(sparkline([float(i) for i in range(500)], width=40)) == 40
