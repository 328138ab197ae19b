"""The dashboard's pure cores: log pages by offset and filter, chart downsampling, CSV, the
vendored front-end files."""

from __future__ import annotations

import filecmp
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard import metrics
from dashboard.assets import VENDOR, VENDORED
from dashboard.logview import LogFilter, scan
from dashboard.views import narrowed
from shared.jobid import JobId
from shared.ports import BlobStore

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"


def _log(levels: list[str]) -> bytes:
    return b"".join(
        orjson.dumps(
            {
                "timestamp": f"2026-01-01T00:00:{i:02d}Z",
                "level": level,
                "logger": "x",
                "message": f"message {i}",
            }
        )
        + b"\n"
        for i, level in enumerate(levels)
    )


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_pages_read_in_turn_number_every_line_once() -> None:
    """Paging by next_offset/next_line shows each line once, numbered from 1, in order."""
    data = _log(["INFO"] * 25)
    offset, line, seen = 0, 0, []
    while True:
        page = scan(
            _chunks(data[offset:], 7), offset=offset, line=line, wanted=LogFilter(), limit=10
        )
        seen += [(ln.number, ln.message) for ln in page.lines]
        offset, line = page.next_offset, page.next_line
        if page.end:
            break
    assert seen == [(i + 1, f"message {i}") for i in range(25)]


def test_a_level_and_text_filter_keep_only_matching_lines() -> None:
    """`level=ERROR` keeps ERROR and CRITICAL; the text filter is case-insensitive."""
    data = _log(["INFO", "ERROR", "WARNING", "CRITICAL", "ERROR"])
    page = scan([data], offset=0, line=0, wanted=LogFilter.of("error", None))
    assert [(ln.number, ln.level) for ln in page.lines] == [
        (2, "ERROR"),
        (4, "CRITICAL"),
        (5, "ERROR"),
    ]
    page = scan([data], offset=0, line=0, wanted=LogFilter.of(None, "MESSAGE 3"))
    assert [ln.number for ln in page.lines] == [4]


def test_a_partial_last_line_waits_for_its_newline() -> None:
    """A line still being written is not shown, and the next page starts at it."""
    data = _log(["INFO", "INFO"])
    page = scan([data + b'{"level":"INFO","mes'], offset=0, line=0, wanted=LogFilter())
    assert (len(page.lines), page.next_offset, page.next_line) == (2, len(data), 2)


@given(
    st.lists(st.sampled_from(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]), max_size=40),
    st.integers(1, 50),
    st.sampled_from([None, "WARNING", "ERROR"]),
)
def test_the_fast_byte_check_never_drops_a_matching_line(
    levels: list[str], size: int, level: str | None
) -> None:
    """Whatever the chunking, the filtered page equals filtering every parsed line."""
    data = _log(levels)
    wanted = LogFilter.of(level, None)
    page = scan(_chunks(data, size), offset=0, line=0, wanted=wanted, limit=1000)
    expected = [i + 1 for i, name in enumerate(levels) if name in wanted.levels]
    assert [ln.number for ln in page.lines] == expected


def test_downsampling_keeps_each_buckets_extremes() -> None:
    """100,000 points become at most 2 per bucket, and a single spike survives."""
    rows = [(float(i), {"y": 1.0}) for i in range(100_000)]
    rows[54_321] = (54_321.0, {"y": 99.0})
    out = metrics.downsample(rows, ["y"], 500)
    assert len(out) <= 1000
    assert max(v["y"] for _, v in out if "y" in v) == 99.0
    assert [x for x, _ in out] == sorted(x for x, _ in out)


def test_csv_keeps_every_record_and_neutralises_formulas() -> None:
    """Every record is a row; a text value starting with = stays text."""
    records = [
        {"timestamp": "t1", "metrics": {"loss": 1.5, "note": "=cmd()"}},
        {"timestamp": "t2", "metrics": {"loss": 0.5}},
    ]
    assert metrics.csv_text(records).splitlines() == [
        "timestamp,loss,note",
        "t1,1.5,'=cmd()",
        "t2,0.5,",
    ]


def test_a_facet_click_adds_a_quoted_term_once() -> None:
    """Narrowing adds `field:value` (quoted when needed), never twice."""
    assert narrowed("status:failed", "project", "fraud") == "status:failed project:fraud"
    assert narrowed("project:fraud", "project", "fraud") == "project:fraud"
    assert narrowed("", "node_type", "gpu small") == 'node:"gpu small"'


@pytest.mark.skipif(not NODE_MODULES.is_dir(), reason="node_modules not installed")
@pytest.mark.parametrize(("destination", "source"), sorted(VENDORED.items()))
def test_vendored_files_equal_their_npm_package(destination: str, source: str) -> None:
    """Each file under dashboard/static/vendor is the locked npm package's (make vendor)."""
    assert filecmp.cmp(VENDOR / destination, NODE_MODULES / source, shallow=False)


def test_a_sort_header_replaces_the_querys_sort() -> None:
    """Sorting from a column header keeps the terms and swaps the one `sort:` term."""
    from dashboard.views import sorted_by

    assert sorted_by("status:failed sort:-cost", "created") == "status:failed sort:created"
    assert sorted_by("", "-cost") == "sort:-cost"


def _store_with_log(data: bytes, *, gzipped: bool) -> tuple[BlobStore, JobId]:
    import gzip

    from shared.adapters.memory_blob import MemoryBlobStore
    from shared.gunzip import SOURCE_ETAG
    from shared.layout import archived_log_path, log_path
    from tests.support.builders import make_job_id

    store, job = MemoryBlobStore(), make_job_id()
    if gzipped:  # as the lifecycle writes the copy: gzip encoding, the source's etag
        store.write(
            archived_log_path(job),
            gzip.compress(data),
            content_encoding="gzip",
            metadata={SOURCE_ETAG: "0x1"},
        )
    else:
        store.write(log_path(job), data)
    return store, job


@pytest.mark.parametrize("gzipped", [False, True])
def test_a_page_from_an_offset_reads_the_plain_log_or_its_gzip_copy(gzipped: bool) -> None:
    """Paging from a byte offset gives the same lines whether the log is plain or only its
    gzip copy is left."""
    from dashboard.logview import log_chunks

    data = _log(["INFO"] * 30)
    store, job = _store_with_log(data, gzipped=gzipped)
    first = scan(
        log_chunks(store, job, 0, 1 << 20),
        offset=0,
        line=0,
        wanted=LogFilter(),
        limit=10,
    )
    second = scan(
        log_chunks(store, job, first.next_offset, 1 << 20),
        offset=first.next_offset,
        line=first.next_line,
        wanted=LogFilter(),
        limit=10,
    )
    assert [ln.message for ln in second.lines] == [f"message {i}" for i in range(10, 20)]
    assert second.lines[0].number == 11


def test_compare_uses_the_shared_x_key_or_elapsed_time() -> None:
    """Jobs whose rule picks the same key share it; otherwise time since each job's start."""

    def recs(rows: list[dict[str, float]]) -> list[dict[str, object]]:
        return [
            {"timestamp": f"2026-01-01T00:00:{i:02d}Z", "metrics": r} for i, r in enumerate(rows)
        ]

    by_epoch = recs([{"epoch": i, "loss": 1.0 / (i + 1)} for i in range(5)])
    other_epoch = recs([{"epoch": i, "loss": 2.0 / (i + 1)} for i in range(3)])
    by_step = recs([{"step": i * 10, "loss": 0.5} for i in range(5)])
    same = metrics.compare({"a": by_epoch, "b": other_epoch})
    assert same["x"] == "epoch"
    assert [c["metric"] for c in same["charts"]] == ["loss"]
    assert same["charts"][0]["data"][0] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert same["charts"][0]["data"][2] == [2.0, 1.0, 2 / 3, None, None]
    mixed = metrics.compare({"a": by_epoch, "b": by_step})
    assert mixed["x"] == "time"
    assert mixed["charts"][0]["data"][0][0] == 0.0


@given(st.from_regex(r"[A-Za-z0-9_.-]{1,30}", fullmatch=True))
def test_a_narrowed_query_still_parses_and_carries_the_value(value: str) -> None:
    """Whatever node type a facet shows, the narrowed query parses and names that value."""
    from query.parser import parse_query

    parsed = parse_query(narrowed("status:failed", "node_type", value))
    assert len(parsed.terms) == 2
    assert value in repr(parsed.terms[1])


@given(
    st.lists(
        st.sampled_from(
            [
                b'{"level":"INFO","message":"x","metrics":{"loss":1.5}}',
                b'{"level":"INFO","message":"\\"metrics\\":{ in text"}',
                b'{"level":"INFO","message":"plain"}',
                b'{"metrics":{}}',
                b'not json "metrics":{',
                b"",
            ]
        ),
        max_size=30,
    ),
    st.integers(1, 40),
)
def test_the_metrics_scan_finds_what_parsing_every_line_finds(
    lines: list[bytes], size: int
) -> None:
    """Cutting only the marked lines out of chunks gives the records parsing each line gives."""
    data = b"\n".join(lines)
    naive = []
    for line in data.split(b"\n"):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if (
            isinstance(record, dict)
            and isinstance(record.get("metrics"), dict)
            and record["metrics"]
        ):
            naive.append(record)
    assert list(metrics.metrics_records(_chunks(data, size))) == naive


def test_an_oversized_line_is_skipped_and_the_next_metrics_line_still_found() -> None:
    """A line over the 1 MiB limit is dropped (not held), and the scan goes on after it."""
    good = b'{"level":"INFO","metrics":{"loss":1.0}}'
    data = b'{"metrics":{"x":1},"m":"' + b"y" * (2 << 20) + b'"}\n' + good + b"\n"
    found = list(metrics.metrics_records(_chunks(data, 64 << 10)))
    assert found == [orjson.loads(good)]
