"""A real job run through the capture leaves in Azurite exactly the log the rules say."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from producer.capture import capture_job_output
from producer.streamer import LogStreamer
from shared.adapters.azure_blob import AzureBlobStore, RetryPolicy
from shared.jobid import JobId, parse_job_id
from shared.layout import log_path, metadata_path
from shared.logrecords import iter_log_lines
from shared.ports import BlobStore
from shared.services import Services
from shared.settings import Settings, azurite_connection_string
from tests.support.builders import HASH12, make_metadata, write_metadata
from tests.support.events import deliver

JOB = parse_job_id("20260310-093000-alice-frauddetect-a3f5d2c8-7b9e4f1a")
ACCOUNT_KEY = base64.b64encode(bytes(range(64))).decode()


def training_job() -> str:
    """The issue's job: installs nothing, bars, repeats, metrics, a secret, a switch, a raise."""
    logging.getLogger("ascend.deps").info("no dependencies to install")
    logging.getLogger("ascend.workspace").info("workspace ready")
    print("loading data")
    for percent in range(0, 101, 25):
        sys.stderr.write(f"\rdownload {percent:3d}%")
    sys.stderr.write("\n")
    for _ in range(4):
        print("waiting for GPU")
    print("\n\n")
    print(json.dumps({"epoch": 1, "loss": 0.5, "acc": 0.8}))
    print(" " + json.dumps({"epoch": 1.5}))
    print(f"storage: AccountName=acme;AccountKey={ACCOUNT_KEY};")
    print('/LOGCOMMAND {"mode":"metadata"}')
    print("hidden in metadata mode")
    print(json.dumps({"epoch": 2, "loss": 0.12, "acc": 0.97}))
    print("/LOGCOMMAND {mode: enabled}")
    print("still hidden")
    print('/LOGCOMMAND {"mode":"enabled"}')
    print("visible again", end="")
    raise RuntimeError("diverged at epoch 3")


def stored_records(blobs: BlobStore, job: JobId) -> list[dict[str, Any]]:
    records = list(iter_log_lines(blobs.read_chunks(log_path(job))))
    assert all(isinstance(r, dict) for r in records), records
    return records  # type: ignore[return-value]


def shape(record: dict[str, Any]) -> tuple[Any, ...]:
    """What a reader checks of a record: level, logger, stream, message, metrics, extra keys."""
    return (
        record["level"],
        record["logger"],
        record.get("context", {}).get("stream"),
        record["message"],
        record.get("metrics"),
    )


@pytest.fixture
def streamer(blob_store: AzureBlobStore) -> Iterator[LogStreamer]:
    """The producer's real log streamer on the test's Azurite container."""
    with LogStreamer(blob_store, JOB, flush_interval=0.05) as streamer:
        yield streamer


def test_a_real_job_leaves_exactly_the_records_the_rules_say(
    streamer: LogStreamer, blob_store: AzureBlobStore
) -> None:
    """Rendering, collapsing, masking, metrics, commands and modes, asserted line by line."""
    with pytest.raises(RuntimeError, match="diverged"), capture_job_output(streamer) as captured:
        training_job()
    streamer.close()
    records = stored_records(blob_store, JOB)
    assert [shape(r) for r in records] == [
        ("INFO", "ascend.deps", None, "no dependencies to install", None),
        ("INFO", "ascend.workspace", None, "workspace ready", None),
        ("INFO", "ascend.job.stdout", "stdout", "loading data", None),
        ("INFO", "ascend.job.stderr", "stderr", "download 100%", None),
        ("INFO", "ascend.job.stdout", "stdout", "waiting for GPU", None),
        (
            "INFO",
            "ascend.job.stdout",
            "stdout",
            "(previous line repeated 3 more times; repetitions dropped)",
            None,
        ),
        ("INFO", "ascend.job.stdout", "stdout", "", None),
        (
            "INFO",
            "ascend.job.stdout",
            "stdout",
            '{"epoch": 1, "loss": 0.5, "acc": 0.8}',
            {"epoch": 1, "loss": 0.5, "acc": 0.8},
        ),
        ("INFO", "ascend.job.stdout", "stdout", ' {"epoch": 1.5}', None),
        ("INFO", "ascend.job.stdout", "stdout", "storage: AccountName=acme;AccountKey=***;", None),
        ("INFO", "ascend.capture", "stdout", '/LOGCOMMAND {"mode":"metadata"}', None),
        (
            "INFO",
            "ascend.job.stdout",
            "stdout",
            '{"epoch": 2, "loss": 0.12, "acc": 0.97}',
            {"epoch": 2, "loss": 0.12, "acc": 0.97},
        ),
        (
            "WARNING",
            "ascend.capture",
            "stdout",
            "malformed logger command ignored: not valid JSON "
            "(unexpected character, expected a string key)",
            None,
        ),
        ("INFO", "ascend.capture", "stdout", '/LOGCOMMAND {"mode":"enabled"}', None),
        ("INFO", "ascend.job.stdout", "stdout", "visible again", None),
        ("ERROR", "ascend.job", None, "function raised RuntimeError: diverged at epoch 3", None),
        (
            "INFO",
            "ascend.capture",
            None,
            "output captured: 19 lines, 16 records, 3 repetitions dropped, 0 records not stored",
            None,
        ),
    ]
    assert ACCOUNT_KEY not in blob_store.read(log_path(JOB)).data.decode()
    assert records[3]["job_id"] == str(JOB)
    assert records[5]["extra"] == {"repetitions_dropped": 3}
    assert records[10]["extra"] == {"command": {"mode": "metadata"}, "previous_mode": "enabled"}
    assert records[15]["exception"]["type"] == "RuntimeError"
    assert "training_job" in records[15]["exception"]["stacktrace"]
    assert captured.unwritten == 0
    assert captured.tail[-3:-1] == [
        "visible again",
        "ERROR ascend.job: function raised RuntimeError: diverged at epoch 3",
    ]
    assert captured.tail[-1].startswith("output captured: 19 lines")


def test_the_search_document_of_a_captured_job_carries_metrics_last(
    services: Services, blob_store: AzureBlobStore
) -> None:
    """Indexing the captured job's metadata gives `metrics_last` from its metrics lines."""
    with (
        LogStreamer(blob_store, JOB, flush_interval=0.05) as streamer,
        pytest.raises(RuntimeError),
        capture_job_output(streamer),
    ):
        training_job()
    meta = make_metadata(
        status="failed", created_at=JOB.created_at, dependency_hash=HASH12, run_hash=JOB.run_hash
    )
    write_metadata(blob_store, meta)
    assert deliver(services, metadata_path(JOB)).kind == "indexed"
    document = services.index.get(str(JOB))
    assert document is not None
    assert document["metrics_last"] == {"epoch": 2.0, "loss": 0.12, "acc": 0.97}
    assert document["log_errors"] == 1


def test_logging_configuration_sets_the_starting_mode(
    streamer: LogStreamer, blob_store: AzureBlobStore
) -> None:
    """`mode: disabled` keeps only the commands until one enables output again."""
    with capture_job_output(streamer, config_yaml="mode: disabled\n"):
        print("secret work")
        print(json.dumps({"step": 1, "loss": 1.0}))
        logging.getLogger("ascend.job").info("also dropped")
        print('/LOGCOMMAND {"mode":"enabled"}')
        print("public work")
    streamer.close()
    messages = [r["message"] for r in stored_records(blob_store, JOB)]
    assert messages[:2] == ['/LOGCOMMAND {"mode":"enabled"}', "public work"]
    assert messages[2].startswith("output captured: 4 lines, 2 records")


def test_logged_records_are_masked_everywhere_and_their_metrics_kept_in_metadata_mode(
    streamer: LogStreamer, blob_store: AzureBlobStore
) -> None:
    """Secrets in a logging record's message, extra and exception are masked; a record with
    `metrics` counts as metrics, so mode metadata keeps it."""
    log = logging.getLogger("ascend.job")
    with capture_job_output(streamer, config_yaml="mode: metadata"):
        log.info("plain info is dropped in metadata mode")
        log.info("epoch done", extra={"metrics": {"epoch": 1, "loss": 0.3}})
        print('/LOGCOMMAND {"mode":"enabled"}')
        try:
            raise ConnectionError(f"AccountKey={ACCOUNT_KEY}")
        except ConnectionError:
            log.exception(
                "upload with Bearer abcdefghijklmnop failed",
                extra={"url": "https://x/y?sv=1&sig=SECRETSIG", "conn": object()},
            )
    streamer.close()
    records = stored_records(blob_store, JOB)
    assert [r["message"] for r in records[:3]] == [
        "epoch done",
        '/LOGCOMMAND {"mode":"enabled"}',
        "upload with Bearer *** failed",
    ]
    assert records[0]["metrics"] == {"epoch": 1, "loss": 0.3}
    assert records[2]["extra"]["url"] == "https://x/y?sv=1&sig=***"
    assert "AccountKey=***" in records[2]["exception"]["message"]
    assert ACCOUNT_KEY not in blob_store.read(log_path(JOB)).data.decode()


def test_a_bad_logging_configuration_starts_disabled_and_says_why(
    streamer: LogStreamer, blob_store: AzureBlobStore
) -> None:
    """A typo in the configuration never logs everything: it warns and keeps only commands."""
    with capture_job_output(streamer, config_yaml="mdoe: metadata\n"):
        print("not stored")
    streamer.close()
    first = stored_records(blob_store, JOB)[0]
    assert first["level"] == "WARNING"
    assert first["message"] == (
        "logging configuration: unknown option 'mdoe' (known: mode); starting in mode disabled"
    )


def test_storage_down_lets_the_job_finish_and_counts_what_was_not_stored(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """With nothing listening for storage, the job returns its value and the loss is reported."""
    dead = settings.model_copy(
        update={"storage_connection_string": azurite_connection_string("127.0.0.1", 9)}
    )
    blobs = AzureBlobStore.from_settings(
        dead, retry=RetryPolicy(attempts=2, base=0.01, cap=0.01), connection_timeout=1
    )
    with (
        LogStreamer(blobs, JOB, flush_interval=0.05) as streamer,
        capture_job_output(streamer) as captured,
    ):
        for step in range(5):
            print(f"step {step}")
        result = "trained"
    assert result == "trained"
    assert captured.unwritten == 6  # five lines and the summary
    assert captured.tail[-1].startswith("output captured: 5 lines, 5 records")
    assert f"ascend: 6 log records of job {JOB} could not be stored" in capsys.readouterr().err


def test_file_descriptor_capture_takes_subprocess_output(
    streamer: LogStreamer, blob_store: AzureBlobStore
) -> None:
    """With `fd_level`, a child process's stdout and stderr become records of their streams."""
    with capture_job_output(streamer, fd_level=True):
        subprocess.run(["sh", "-c", "echo from child; echo child error >&2"], check=True)
        print("from python")
    streamer.close()
    shapes = {(r["logger"], r["message"]) for r in stored_records(blob_store, JOB)}
    assert {
        ("ascend.job.stdout", "from child"),
        ("ascend.job.stderr", "child error"),
        ("ascend.job.stdout", "from python"),
    } <= shapes


def test_streams_and_loggers_are_restored_after_the_capture(streamer: LogStreamer) -> None:
    """The process's stdout, stderr and logger settings are as before, even after a raise."""
    before = (sys.stdout, sys.stderr, logging.getLogger("ascend.job").propagate)
    with pytest.raises(ValueError, match="x"), capture_job_output(streamer):
        raise ValueError("x")
    assert (sys.stdout, sys.stderr, logging.getLogger("ascend.job").propagate) == before


def test_the_tail_is_bounded(streamer: LogStreamer) -> None:
    """Only the last `tail_lines` kept lines come back for the function's response."""
    with capture_job_output(streamer, tail_lines=3) as captured:
        for n in range(10):
            print(f"line {n}")
    assert captured.tail[:2] == ["line 8", "line 9"]
    assert len(captured.tail) == 3
