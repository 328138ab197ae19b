"""Log stats in one streaming pass: counts, the last error, the last value of each metric."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from indexer.logstats import numeric_metrics, summarize
from shared.jobdocument import LogStats
from shared.logrecords import iter_log_lines
from tests.support.builders import default_log, job_id, lines


def _stats(data: bytes, size: int = 1 << 20) -> LogStats:
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    return summarize(iter_log_lines(chunks))


def test_counts_lines_and_errors_and_keeps_the_last_error() -> None:
    """ERROR and CRITICAL count as errors; the last one's message is kept."""
    stats = _stats(lines(default_log(job_id())))
    assert (stats.lines, stats.errors, stats.last_error) == (5, 2, "CUDA out of memory")


def test_metrics_last_holds_the_last_numeric_value_of_each_metric() -> None:
    """A later record's metric overrides an earlier one; others stay."""
    assert _stats(lines(default_log(job_id()))).metrics_last == {"loss": 0.4, "gpu_util": 80.0}


def test_text_booleans_and_non_finite_values_are_not_metrics() -> None:
    """Only finite numbers count as metrics."""
    assert numeric_metrics({"a": "1", "b": True, "c": float("nan"), "d": 2}) == {"d": 2.0}


def test_bad_lines_are_counted_not_fatal() -> None:
    """Garbage between records is counted apart; the records around it still count."""
    good = lines(default_log(job_id()))
    stats = _stats(good + b"not json\n\xff\xfe\n" + good)
    assert (stats.lines, stats.bad_lines) == (10, 2)


def test_the_digest_changes_when_any_field_changes() -> None:
    """The fingerprint stored with the copy tells two different stats apart."""
    assert LogStats(1, 0).digest() != LogStats(1, 1).digest()
    assert LogStats(1, 1, "a").digest() != LogStats(1, 1, "b").digest()
    assert LogStats(1, 0).digest() == LogStats(1, 0).digest()


@given(st.integers(min_value=1, max_value=300))
def test_the_result_does_not_depend_on_how_the_bytes_are_chunked(size: int) -> None:
    """Streaming in chunks of any size gives the same stats as reading at once."""
    data = lines(default_log(job_id())) * 3
    assert _stats(data, size) == _stats(data)


_VALUES = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(max_size=5), st.booleans(), st.none()
)


@given(st.lists(st.dictionaries(st.text(max_size=5), _VALUES, max_size=4), max_size=6))
def test_any_metrics_objects_are_summarized_without_error(metrics: list[dict[str, Any]]) -> None:
    """Whatever the records' metrics hold, stats come out and hold only finite floats."""
    records = [
        {
            "timestamp": "t",
            "level": "INFO",
            "logger": "l",
            "job_id": "j",
            "user": "u",
            "project": "p",
            "message": "m",
            "metrics": m,
        }
        for m in metrics
    ]
    data = b"".join(orjson.dumps(r) + b"\n" for r in records)
    stats = _stats(data)
    assert stats.lines == len(records)
    assert all(isinstance(v, float) for v in stats.metrics_last.values())
