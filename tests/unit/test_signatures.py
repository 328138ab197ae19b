"""Error signatures: failures that differ only in numbers, IDs, paths, quoted values or
addresses share one; different errors (other words, another exception type) never do."""

from __future__ import annotations

import string
from collections import Counter
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from indexer.logstats import summarize
from producer.demo_plan import plan_job
from query import parse_query
from query.ast import Equals
from shared.metadata import JobStatus
from shared.signatures import error_pattern, error_signature, mask_message
from tests.support.builders import job_id, log_record

HEX = "0123456789abcdef"
WORD = st.text(string.ascii_letters, min_size=2, max_size=12).filter(
    lambda w: w.lower() not in {"byte", "bytes"}
)
KIND = st.sampled_from(["RuntimeError", "ValueError", "OSError", "KeyError", "TimeoutError", ""])


def _hex_id() -> st.SearchStrategy[str]:
    return st.text(HEX, min_size=6, max_size=40).filter(
        lambda h: any(c.isdigit() for c in h) and any(c.isalpha() for c in h)
    )


def _path() -> st.SearchStrategy[str]:
    segment = st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=10)
    return st.lists(segment, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts))


_NUMBER = st.one_of(
    st.integers(0, 10**12).map(str), st.floats(0, 1e6, allow_nan=False).map(lambda f: f"{f:.2f}")
)
_JOB_ID = st.builds(lambda n: job_id(run=f"{n:08x}"), st.integers(0, 2**32 - 1))
SLOTS = {
    "number": _NUMBER,
    "size": st.builds(lambda n, unit: f"{n} {unit}", _NUMBER, st.sampled_from(["GiB", "MiB"])),
    "hex": _hex_id(),
    "address": st.integers(1, 2**48).map(hex),
    "path": _path(),
    "quoted": st.text(string.ascii_letters + string.digits + " .-_", max_size=30).map(
        lambda t: f"'{t}'"
    ),
    "ip": st.builds(
        lambda *p: ".".join(map(str, p[:4])) + f":{p[4]}",
        *(st.integers(0, 255) for _ in range(4)),
        st.integers(1, 65535),
    ),
    "job": _JOB_ID,
    "uuid": st.uuids().map(str),
    "url": st.builds(lambda h, p: f"https://{h}.example.com{p}", WORD, _path()),
}
SAME_SIZE_UNIT = {"size"}  # a size's unit is part of the varying part
Template = list[str]  # words, and "{slot}" placeholders
TEMPLATE = st.lists(
    st.one_of(WORD, st.sampled_from([f"{{{s}}}" for s in SLOTS])), min_size=1, max_size=12
)


@st.composite
def _filled(draw: st.DrawFn, template: Template) -> str:
    parts = [draw(SLOTS[part[1:-1]]) if part.startswith("{") else part for part in template]
    return " ".join(parts)


@given(KIND, TEMPLATE, st.data())
def test_messages_differing_only_in_varying_parts_share_a_signature(
    kind: str, template: Template, data: st.DataObject
) -> None:
    """Two fillings of one template (numbers, sizes, hex IDs, paths, quoted values, addresses,
    job IDs, UUIDs, URLs) give one pattern and one signature."""
    first, second = data.draw(_filled(template)), data.draw(_filled(template))
    assert error_pattern(kind, first) == error_pattern(kind, second), (first, second)


@given(KIND, TEMPLATE, TEMPLATE, st.data())
def test_messages_with_other_words_get_other_signatures(
    kind: str, one: Template, other: Template, data: st.DataObject
) -> None:
    """Templates with different words (placeholders aside) never share a signature."""
    words = [p for p in one if not p.startswith("{")]
    other_words = [p for p in other if not p.startswith("{")]
    if words == other_words:
        return
    first, second = data.draw(_filled(one)), data.draw(_filled(other))
    assert error_signature(error_pattern(kind, first)) != error_signature(
        error_pattern(kind, second)
    )


@given(TEMPLATE, st.data())
def test_another_exception_type_is_another_error(template: Template, data: st.DataObject) -> None:
    """The same message raised as another exception type is another signature."""
    message = data.draw(_filled(template))
    assert error_signature(error_pattern("ValueError", message)) != error_signature(
        error_pattern("TypeError", message)
    )


def test_the_realistic_failures_mask_as_an_operator_would_read_them() -> None:
    """CUDA OOM, a missing module, a timeout, a shape mismatch and a network error."""
    cases = {
        (
            "RuntimeError",
            "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.78 GiB total capacity)",
        ): "RuntimeError: CUDA out of memory. Tried to allocate <size> "
        "(GPU <n>; <size> total capacity)",
        (
            "ModuleNotFoundError",
            "No module named 'transformers'",
        ): "ModuleNotFoundError: No module named '<str>'",
        (
            "TimeoutError",
            f"job {job_id()} exceeded its timeout of 3600 s",
        ): "TimeoutError: job <job> exceeded its timeout of <n> s",
        (
            "RuntimeError",
            "mat1 and mat2 shapes cannot be multiplied (64x512 and 256x10)",
        ): "RuntimeError: mat<n> and mat<n> shapes cannot be multiplied (<n>x<n> and <n>x<n>)",
        (
            "ConnectionError",
            "Max retries exceeded with url: /v1/data (Caused by "
            "NewConnectionError('<HTTPConnection object at 0x7f3a2b1c4d90>: [Errno 111]'))",
        ): "ConnectionError: Max retries exceeded with url: <path> (Caused by "
        "NewConnectionError('<str>'))",
    }
    for (kind, message), pattern in cases.items():
        assert error_pattern(kind, message) == pattern


def test_ordinary_words_and_hex_looking_words_are_kept() -> None:
    """Words made of hex letters ('deadbeef', 'cafe') and words with digits inside stay words."""
    assert mask_message("bad cafe deadbeef at 10.0.0.1:80") == "bad cafe deadbeef at <ip>"


def test_a_hex_id_whose_only_letter_or_digit_comes_first_is_a_hex_id() -> None:
    """`a00000` and `00000a` are hex IDs like any other (found by the property test)."""
    assert mask_message("a00000 00000a 0a0a0a") == "<hex> <hex> <hex>"


def test_no_error_has_no_signature() -> None:
    """No type and no message: no pattern, no signature."""
    assert error_pattern(None, None) is None
    assert error_signature(None) is None


def test_the_log_pattern_is_the_last_exception_not_the_crash_line_after_it() -> None:
    """A crash logs the exception, then a bare "Function crashed": the exception is the cause."""
    jid = job_id()
    records = [
        {
            **log_record(jid, "ERROR", "Failed to upload checkpoint, retrying"),
            "exception": {"type": "ConnectionResetError", "message": "[Errno 104] reset"},
        },
        {
            **log_record(jid, "ERROR", "Function raised an exception"),
            "exception": {
                "type": "RuntimeError",
                "message": "CUDA out of memory. Tried to allocate 20.00 MiB",
            },
        },
        log_record(jid, "CRITICAL", "Function crashed"),
    ]
    stats = summarize(records)
    assert stats.error_pattern == "RuntimeError: CUDA out of memory. Tried to allocate <size>"


def test_without_an_exception_the_last_error_message_is_the_pattern() -> None:
    """Errors logged without exception details are grouped by their masked message."""
    jid = job_id()
    stats = summarize([log_record(jid, "ERROR", "disk /mnt/x is 97% full")])
    assert stats.error_pattern == "disk <path> is <n>% full"
    assert summarize([log_record(jid, "INFO", "fine")]).error_pattern is None


def test_signature_is_a_query_term_on_the_document_field() -> None:
    """`signature:HASH` is equality on `error_signature`; other text is a clear error."""
    assert parse_query("signature:8DA38735CCEB").terms == (
        Equals("error_signature", ("8da38735cceb",)),
    )


def test_the_demo_seed_fails_with_five_realistic_signatures() -> None:
    """The demo's failed jobs fall into the five failures an operator expects to see, however
    their sizes, names, shapes and addresses vary."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    plans = (plan_job(7, i, now) for i in range(600))
    patterns = Counter(
        summarize(p.log).error_pattern for p in plans if p.status is JobStatus.FAILED
    )
    kinds = {str(p).split(":")[0] for p in patterns}
    assert kinds == {
        "torch.cuda.OutOfMemoryError",
        "ModuleNotFoundError",
        "TimeoutError",
        "RuntimeError",
        "requests.exceptions.ConnectionError",
    }
    assert len(patterns) == 5
    assert min(patterns.values()) >= 5


def test_the_fast_masks_are_those_of_the_first_version() -> None:
    """Masks (hence the signatures of indexed jobs) did not change with their cost: a size found
    inside a longer number, and messages without digits or tell-tale characters."""
    assert mask_message("1.5e1.5GiB") == "<n>e<size>"
    assert mask_message("No module named 'torch'") == "No module named '<str>'"
    assert mask_message("  plain   words only ") == "plain words only"
    assert mask_message("id deadbeef-cafe-face-beef-facadedecade") == "id <uuid>"
