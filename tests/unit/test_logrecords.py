"""The JSON Lines log record: the formatter emits exactly the design's fields, and the reader
streams records out of any bytes, in any chunking, reporting bad lines instead of failing."""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from shared.logrecords import (
    LEVELS,
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    BadLine,
    JobContext,
    JobLogFormatter,
    JobLogHandler,
    dump_record,
    format_timestamp,
    iter_log_lines,
    make_record,
)

JOB = JobContext(
    job_id="20251204-143022-alice-frauddetect-a3f5d2c8-7b9e4f1a",
    user="alice",
    project="frauddetect",
    context={"namespace": "ascend-users-alice"},
)


def log_record(
    message: str = "Job started", level: int = logging.INFO, *, exc_info: Any = None, **extra: Any
) -> logging.LogRecord:
    record = logging.LogRecord("ascend.runner", level, "run.py", 42, message, None, exc_info)
    record.created = datetime(2025, 12, 4, 14, 30, 22, 123456, tzinfo=UTC).timestamp()
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def formatted(record: logging.LogRecord) -> dict[str, Any]:
    line = JobLogFormatter(JOB).format(record)
    assert "\n" not in line
    parsed: dict[str, Any] = orjson.loads(line)
    return parsed


def test_the_formatter_emits_the_required_fields_in_the_designs_order() -> None:
    """A plain record has exactly the required fields (plus the bound context), in order."""
    record = formatted(log_record())
    assert list(record) == [*REQUIRED_FIELDS, "context"]
    assert record == {
        "timestamp": "2025-12-04T14:30:22.123456Z",
        "level": "INFO",
        "logger": "ascend.runner",
        "job_id": JOB.job_id,
        "user": "alice",
        "project": "frauddetect",
        "message": "Job started",
        "context": {"namespace": "ascend-users-alice"},
    }


def test_optional_fields_come_from_the_records_extras() -> None:
    """context merges with the bound one; duration_ms, metrics and other extras are placed."""
    record = formatted(
        log_record(
            context={"function_name": "train_model"},
            duration_ms=12.5,
            metrics={"epoch": 3, "loss": 0.4},
            dataset="v2",
        )
    )
    assert record["context"] == {"namespace": "ascend-users-alice", "function_name": "train_model"}
    assert (record["duration_ms"], record["metrics"]) == (12.5, {"epoch": 3, "loss": 0.4})
    assert record["extra"] == {"dataset": "v2"}
    assert set(record) <= {*REQUIRED_FIELDS, *OPTIONAL_FIELDS}


def test_exceptions_carry_type_message_and_stacktrace() -> None:
    """An ERROR with exc_info gets `exception` with the three parts of the design."""
    try:
        raise MemoryError("Out of memory")
    except MemoryError:
        import sys

        info = sys.exc_info()
    record = formatted(log_record("Function crashed", logging.CRITICAL, exc_info=info))
    assert record["level"] == "CRITICAL"
    assert record["exception"]["type"] == "MemoryError"
    assert record["exception"]["message"] == "Out of memory"
    assert "Traceback (most recent call last)" in record["exception"]["stacktrace"]


@pytest.mark.parametrize(
    ("levelname", "expected"),
    [("WARN", "WARNING"), ("FATAL", "CRITICAL"), ("NOTICE", "INFO"), ("debug", "DEBUG")],
)
def test_level_names_map_onto_the_five_levels(levelname: str, expected: str) -> None:
    """Aliases and custom levels are normalized to DEBUG, INFO, WARNING, ERROR or CRITICAL."""
    record = log_record()
    record.levelname = levelname
    assert formatted(record)["level"] == expected


def test_messages_with_newlines_and_odd_values_stay_one_json_line() -> None:
    """Newlines are escaped and values JSON cannot hold become strings."""
    record = formatted(
        log_record("two\nlines", when=datetime(2025, 1, 1, tzinfo=UTC), path=object.__new__(object))
    )
    assert record["message"] == "two\nlines"
    assert record["extra"]["when"] == "2025-01-01T00:00:00+00:00"
    assert record["extra"]["path"].startswith("<object object at")


def test_timestamps_are_utc_with_microseconds_and_z() -> None:
    """Any aware time is written in UTC with six fractional digits and a Z."""
    from datetime import timedelta, timezone

    local = datetime(2025, 12, 4, 16, 30, 22, 5, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(local) == "2025-12-04T14:30:22.000005Z"


def test_a_failing_sink_is_counted_and_never_raised() -> None:
    """The handler swallows a sink's failure (logging must not break the job) and counts it."""

    def broken(_line: bytes) -> None:
        raise OSError("disk full")

    handler = JobLogHandler(JOB, broken)
    logger = logging.getLogger("ascend.test.broken")
    logger.propagate = False  # only our handler sees these records
    logger.addHandler(handler)
    try:
        logger.error("x")
        logger.error("bad %d args", "not a number")
    finally:
        logger.removeHandler(handler)
    assert handler.failures == 2


# ---- reading -------------------------------------------------------------------------------


def line(**fields: Any) -> bytes:
    return dump_record(
        make_record(
            JOB,
            level="INFO",
            logger="l",
            message="m",
            when=datetime(2025, 1, 1, tzinfo=UTC),
            **fields,
        )
    )


def test_bad_lines_are_reported_with_their_number_and_reason() -> None:
    """Non-JSON, non-objects, missing fields and unknown levels are `BadLine`s; the rest parse."""
    good = line()
    data = b"\n".join(
        [
            good.strip(),
            b"not json",
            b"[1]",
            b'{"level": "INFO"}',
            good.replace(b'"INFO"', b'"LOUD"').strip(),
            good.replace(b'"INFO"', b"[1]").strip(),
            b"",
            b"   ",
            good.strip() + b"\r",
        ]
    )
    results = list(iter_log_lines([data]))
    assert results[0] == orjson.loads(good)
    bad = [r for r in results if isinstance(r, BadLine)]
    assert [(b.line_number, b.reason.split(" (")[0]) for b in bad] == [
        (2, "not valid JSON"),
        (3, "not a JSON object"),
        (4, "missing timestamp, logger, job_id, user, project, message"),
        (5, "unknown level 'LOUD'"),
        (6, "unknown level '[1]'"),
    ]
    assert results[-1] == orjson.loads(good)
    assert len(results) == 7


def test_an_endless_line_is_reported_without_being_held_whole() -> None:
    """A 3 MiB line without a newline becomes one BadLine; the next line still parses."""
    chunks = [b"x" * (1 << 20)] * 3 + [b"\n", line()]
    results = list(iter_log_lines(chunks))
    assert isinstance(results[0], BadLine)
    assert results[0].reason == "longer than 1048576 bytes"
    assert len(results[0].raw) == 200
    assert isinstance(results[1], dict)
    assert results[1]["message"] == "m"


records = st.lists(
    st.builds(
        lambda level, message, metrics: make_record(
            JOB,
            level=level,
            logger="ascend.user",
            message=message,
            when=datetime(2025, 1, 1, tzinfo=UTC),
            metrics=metrics,
        ),
        st.sampled_from(LEVELS),
        st.text(max_size=30),
        st.dictionaries(st.text(max_size=5), st.integers(-1000, 1000), max_size=3),
    ),
    max_size=15,
)


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(records=records, cuts=st.lists(st.integers(0, 5000), max_size=20))
def test_the_same_records_come_out_whatever_the_chunk_boundaries(
    records: list[dict[str, Any]], cuts: list[int]
) -> None:
    """Records dumped as JSON Lines read back identically however the bytes are split."""
    data = b"".join(dump_record(r) for r in records)
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in itertools.pairwise(points)]
    assert list(iter_log_lines(chunks)) == records
    assert list(iter_log_lines([data])) == records


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(data=st.binary(max_size=2000), cuts=st.lists(st.integers(0, 2000), max_size=10))
def test_arbitrary_bytes_in_any_chunking_never_crash_the_reader(
    data: bytes, cuts: list[int]
) -> None:
    """Random bytes yield records or `BadLine`s, the same ones for every chunking."""
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    chunks = [data[a:b] for a, b in itertools.pairwise(points)]
    results = list(iter_log_lines(chunks))
    assert all(isinstance(r, dict | BadLine) for r in results)
    assert results == list(iter_log_lines([data]))
