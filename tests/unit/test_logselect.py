"""Log selection as logcli users ask for it: time window, text and regex, stream, level, tail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from query.logselect import parse_moment, select, selection
from shared.errors import InvalidInput

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)


def _line(
    minutes_ago: int, message: str, level: str = "INFO", logger: str = "ascend.user"
) -> bytes:
    moment = (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")
    return (
        orjson.dumps({"timestamp": moment, "level": level, "logger": logger, "message": message})
        + b"\n"
    )


LOG = [
    _line(180, "Job started", logger="ascend.runner"),
    _line(120, "epoch 1 finished loss=2.1"),
    _line(90, "printed to stdout", logger="ascend.job.stdout"),
    _line(60, "Disk almost full", "WARNING", "ascend.job.stderr"),
    _line(30, "epoch 2 finished loss=0.4"),
    _line(5, "Upload FAILED", "ERROR"),
]


def _messages(**options: object) -> list[str]:
    wanted = selection(now=NOW, **options)  # type: ignore[arg-type]
    chunks = [b"".join(LOG)[i : i + 50] for i in range(0, len(b"".join(LOG)), 50)]
    return [str((line.record or {}).get("message")) for line in select(chunks, wanted)]


def test_tail_keeps_the_last_n_lines_that_pass_the_other_filters() -> None:
    """--tail 2 with --grep epoch: the last two epoch lines, not the last two lines."""
    assert _messages(tail=2, grep="epoch") == [
        "epoch 1 finished loss=2.1",
        "epoch 2 finished loss=0.4",
    ]
    assert _messages(tail=1) == ["Upload FAILED"]


def test_since_a_duration_and_from_to_an_iso_window() -> None:
    """--since 1h counts back from now; --from/--to is a half-open window."""
    assert _messages(since="1h") == [
        "Disk almost full",
        "epoch 2 finished loss=0.4",
        "Upload FAILED",
    ]
    assert _messages(start="2026-03-14T10:15:00Z", end="2026-03-14T11:30:00Z") == [
        "printed to stdout",
        "Disk almost full",
    ]


def test_grep_is_text_by_default_and_a_regex_on_request() -> None:
    """A '.' in --grep is literal unless --regex; -i ignores case."""
    assert _messages(grep="loss=0.4") == ["epoch 2 finished loss=0.4"]
    assert _messages(grep=r"loss=[0-1]\.\d", regex=True) == ["epoch 2 finished loss=0.4"]
    assert _messages(grep="failed", ignore_case=True) == ["Upload FAILED"]


def test_stream_and_level_choose_the_jobs_output_streams() -> None:
    """--stream stderr keeps what the job wrote to stderr; the level filter still applies."""
    assert _messages(stream="stderr") == ["Disk almost full"]
    assert _messages(stream="stdout", minimum="WARNING") == []


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"since": "yesterday"}, "--since"),
        ({"grep": "([", "regex": True}, "--grep"),
        ({"stream": "stdin"}, "--stream"),
        ({"since": "1h", "start": "2026-03-14"}, "--since/--from"),
    ],
)
def test_bad_words_are_one_line_naming_the_option(options: dict[str, object], named: str) -> None:
    """A bad duration, regex or stream is InvalidInput naming the option."""
    with pytest.raises(InvalidInput) as caught:
        selection(now=NOW, **options)  # type: ignore[arg-type]
    assert str(caught.value).startswith(named)


@given(st.integers(min_value=0, max_value=10_000), st.sampled_from("smhdw"))
def test_a_duration_counts_back_from_now(amount: int, unit: str) -> None:
    """Any N with s/m/h/d/w is that long before now."""
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}[unit]
    assert parse_moment(f"{amount}{unit}", NOW, "--since") == NOW - timedelta(
        seconds=amount * seconds
    )
