"""The capture's core (`OutputRouter`): any output becomes valid, masked, mode-filtered records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from producer.commands import Mode
from producer.router import OutputRouter
from shared.clock import FixedClock
from shared.logrecords import JobContext, dump_record, parse_line

JOB = "20260310-093000-alice-frauddetect-a3f5d2c8-7b9e4f1a"
CONTEXT = JobContext(job_id=JOB, user="alice", project="frauddetect")
CLOCK = FixedClock(datetime(2026, 3, 10, 9, 31, tzinfo=UTC))


def route(chunks: list[tuple[str, str]], mode: Mode = Mode.ENABLED) -> list[dict[str, Any]]:
    stored: list[dict[str, Any]] = []
    router = OutputRouter(stored.append, CONTEXT, mode, CLOCK)
    for stream, text in chunks:
        router.write(stream, text)
    router.close()
    return stored


TOKENS = [
    *'ab {}":1\r\n\x1b[m/',
    "/LOGCOMMAND ",
    '{"mode":"metadata"}',
    '{"mode":"enabled"}',
    '{"loss":1}',
    "Bearer abcdefghijk",
    "\u2028",
    "\x00",
]
output_pieces = st.lists(
    st.tuples(
        st.sampled_from(["stdout", "stderr"]),
        st.lists(st.sampled_from(TOKENS), max_size=15).map("".join),
    ),
    max_size=20,
)


@given(output_pieces, st.sampled_from(list(Mode)))
def test_any_output_becomes_records_that_read_back_valid(
    chunks: list[tuple[str, str]], mode: Mode
) -> None:
    """Whatever is printed, every stored record is one valid JSON line of the design."""
    for record in route(chunks, mode):
        line = dump_record(record).rstrip(b"\n")
        assert b"\n" not in line
        assert isinstance(parse_line(line, 1), dict)
        assert record["context"]["stream"] in {"stdout", "stderr"}


@given(output_pieces)
def test_metrics_records_come_only_from_stdout(chunks: list[tuple[str, str]]) -> None:
    """Stderr lines are never metrics, whatever they look like."""
    for record in route(chunks):
        if "metrics" in record:
            assert record["logger"] == "ascend.job.stdout"


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=10, max_size=30))
def test_a_printed_password_never_reaches_a_record(secret: str) -> None:
    """A password printed in a URL, in pieces, is masked before it is stored."""
    chunks = [("stdout", "db at postgres://app:"), ("stdout", secret), ("stdout", "@db:5432\n")]
    stored = route(chunks)
    assert stored[0]["message"] == "db at postgres://app:***@db:5432"


def test_disabled_mode_keeps_only_commands() -> None:
    """In mode disabled, output and metrics are dropped and commands kept."""
    stored = route(
        [("stdout", 'x\n{"loss": 1}\n/LOGCOMMAND {"mode":"disabled"}\ny\n')], Mode.DISABLED
    )
    assert [r["message"] for r in stored] == ['/LOGCOMMAND {"mode":"disabled"}']


def test_metadata_mode_keeps_metrics_and_their_repetition_notices() -> None:
    """In mode metadata, a repeated metrics line keeps its notice; plain lines are dropped."""
    stored = route([("stdout", 'plain\n{"loss": 1}\n{"loss": 1}\nplain\n')], Mode.METADATA)
    assert [r["message"] for r in stored] == [
        '{"loss": 1}',
        "(previous line repeated 1 more time; repetitions dropped)",
    ]


def test_streams_collapse_repeats_separately() -> None:
    """The same line on stdout and stderr is two lines, not a repetition."""
    stored = route([("stdout", "same\n"), ("stderr", "same\n")])
    assert [(r["logger"], r["message"]) for r in stored] == [
        ("ascend.job.stdout", "same"),
        ("ascend.job.stderr", "same"),
    ]


def test_a_failing_sink_never_raises_into_the_job() -> None:
    """If storing raises, writing still returns and the failure is counted."""

    def broken(_: dict[str, Any]) -> None:
        raise OSError("disk on fire")

    router = OutputRouter(broken, CONTEXT, Mode.ENABLED, CLOCK)
    router.write("stdout", "hello\n")
    assert router.internal_errors == 1
