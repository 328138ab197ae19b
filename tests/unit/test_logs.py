"""The log filter core: exact level filtering over arbitrary byte chunks, and streaming gunzip."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from query.logs import filter_raw, filter_records, parse_level, whole_lines
from shared.errors import InvalidInput, StorageError
from shared.gunzip import gunzip
from shared.logrecords import LEVEL_RANK, LEVELS

JOB = "20251204-143022-alice-frauddetect-a3f5d2c8-7b9e4f1a"


def line(level: str, message: str = "step done", **extra: object) -> bytes:
    record = {
        "timestamp": "2025-12-04T14:30:22.123456Z",
        "level": level,
        "logger": "ascend.runner",
        "job_id": JOB,
        "user": "alice",
        "project": "frauddetect",
        "message": message,
        **extra,
    }
    return orjson.dumps(record) + b"\n"


def cut(data: bytes, positions: list[int]) -> Iterator[bytes]:
    """`data` split at the given positions (sorted, deduplicated, clipped)."""
    start = 0
    for position in sorted({p % (len(data) + 1) for p in positions}):
        yield data[start:position]
        start = position
    yield data[start:]


def reference(data: bytes, minimum: str) -> bytes:
    """The obvious, slow filter: parse every line."""
    kept = []
    for raw in data.splitlines(keepends=True):
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        level = record.get("level") if isinstance(record, dict) else None
        rank = LEVEL_RANK.get(level, -1) if isinstance(level, str) else -1
        if rank >= LEVEL_RANK[minimum]:
            kept.append(raw if raw.endswith(b"\n") else raw + b"\n")
    return b"".join(kept)


def test_error_filter_keeps_error_and_critical_lines_unchanged_in_order() -> None:
    """Only ERROR and CRITICAL lines pass, byte for byte, in the stored order."""
    data = (
        line("INFO")
        + line("ERROR", "boom")
        + line("DEBUG")
        + line("CRITICAL", "dead")
        + line("WARNING")
    )
    assert b"".join(filter_raw([data], "ERROR")) == line("ERROR", "boom") + line("CRITICAL", "dead")


def test_a_message_that_mentions_error_does_not_make_an_info_line_pass() -> None:
    """The byte pre-filter is confirmed by parsing: `"ERROR"` inside a message is not a level."""
    data = line("INFO", '"ERROR"') + line("INFO", "ERROR") + line("INFO", context={"x": "ERROR"})
    assert b"".join(filter_raw([data], "ERROR")) == b""


def test_a_level_spelled_with_json_escapes_or_spaces_still_passes() -> None:
    """Lines a writer other than ours might produce are found too: the filter is exact."""
    escaped = line("INFO").replace(b'"INFO"', b'"\\u0045RROR"')
    spaced = b'{"level" : "CRITICAL", "message": "x"}\n'
    assert b"".join(filter_raw([escaped + line("INFO") + spaced], "ERROR")) == escaped + spaced


def test_lines_that_are_not_records_are_left_out_by_a_filter_but_kept_without_one() -> None:
    """Garbage has no level, so a level filter drops it; without a filter it passes unchanged."""
    data = b"not json\n[1,2]\n" + line("ERROR") + b'{"level": 3}\n\n'
    assert b"".join(filter_raw([data], "ERROR")) == line("ERROR")
    assert b"".join(filter_raw([data], None)) == data


def test_the_last_line_without_a_newline_is_kept_and_terminated() -> None:
    """A log cut before its final newline still yields its last record, as a whole line."""
    data = line("ERROR", "one") + line("ERROR", "two").rstrip(b"\n")
    assert b"".join(filter_raw(cut(data, [7, 100]), "ERROR")) == data + b"\n"


def test_an_overlong_line_is_dropped_and_the_lines_after_it_survive() -> None:
    """A line longer than the limit is skipped whole, without swallowing its neighbours."""
    long_line = line("ERROR", "x" * 5000)
    data = line("ERROR", "before") + long_line + line("ERROR", "after")
    kept = b"".join(
        b.to_bytes() for b in whole_lines(cut(data, list(range(0, len(data), 300))), max_line=1000)
    )
    assert kept == line("ERROR", "before") + line("ERROR", "after")


def test_records_come_back_parsed_with_their_fields() -> None:
    """`filter_records` gives dicts of the passing lines."""
    records = list(filter_records([line("WARNING", "hm") + line("INFO")], "WARNING"))
    assert [(r["level"], r["message"]) for r in records] == [("WARNING", "hm")]


levels = st.sampled_from([*LEVELS, "TRACE", "error"])
messages = st.text(max_size=40) | st.sampled_from(['"ERROR"', "ERROR", "\\u0045RROR", "\n"])
records = st.builds(line, levels, messages)
garbage = st.sampled_from([b"garbage\n", b"{}\n", b'{"level":"ERROR"\n', b"\n", b'"CRITICAL"\n'])


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(records | garbage, max_size=30),
    positions=st.lists(st.integers(min_value=0, max_value=5000), max_size=8),
    minimum=st.sampled_from(LEVELS[1:]),
)
def test_any_chunking_of_any_log_filters_like_parsing_every_line(
    lines: list[bytes], positions: list[int], minimum: str
) -> None:
    """However the bytes are cut into chunks, the result equals parsing each line and comparing."""
    data = b"".join(lines)
    assert b"".join(filter_raw(cut(data, positions), minimum)) == reference(data, minimum)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300), positions=st.lists(st.integers(0, 400), max_size=6))
def test_without_a_filter_any_bytes_pass_through_unchanged(
    data: bytes, positions: list[int]
) -> None:
    """`--json` without `--level` gives back exactly the stored bytes (plus a final newline)."""
    expected = data if not data or data.endswith(b"\n") else data + b"\n"
    assert b"".join(filter_raw(cut(data, positions), None)) == expected


@pytest.mark.parametrize(
    ("text", "level"),
    [("error", "ERROR"), (" Warn ", "WARNING"), ("CRITICAL", "CRITICAL"), ("", None), (None, None)],
)
def test_levels_are_read_in_any_case_with_the_usual_aliases(
    text: str | None, level: str | None
) -> None:
    """`--level` accepts the five names in any case, WARN and FATAL; empty means no filter."""
    assert parse_level(text) == level


def test_an_unknown_level_is_refused_with_the_allowed_names() -> None:
    """A typo in `--level` says what it got and what it accepts."""
    with pytest.raises(InvalidInput, match=r"level 'LOUD': must be one of DEBUG, INFO"):
        parse_level("LOUD")


@settings(max_examples=50, deadline=None)
@given(
    parts=st.lists(st.binary(max_size=200), min_size=1, max_size=3),
    positions=st.lists(st.integers(0, 600), max_size=6),
)
def test_gunzip_streams_any_chunking_of_concatenated_members(
    parts: list[bytes], positions: list[int]
) -> None:
    """Streaming gunzip gives back the original bytes whatever the chunk boundaries."""
    packed = b"".join(gzip.compress(p) for p in parts)
    assert b"".join(gunzip(cut(packed, positions))) == b"".join(parts)


def test_a_truncated_gzip_log_fails_with_its_name() -> None:
    """A gzip copy cut short is an error naming the blob, not a silently shorter log."""
    packed = gzip.compress(line("ERROR") * 100)
    with pytest.raises(StorageError, match=r"job\.log\.jsonl\.gz: ends in the middle"):
        b"".join(gunzip([packed[:-10]], "job.log.jsonl.gz"))


def test_corrupt_gzip_fails_with_its_name() -> None:
    """Bytes that are not gzip at all are refused with the blob's name and the reason."""
    with pytest.raises(StorageError, match=r"x\.gz: is not valid gzip"):
        b"".join(gunzip([b"definitely not gzip"], "x.gz"))
