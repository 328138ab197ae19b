"""Job IDs, names, dependency hashes, image tags and artifact names: every bad input refused
with a one-line reason, and the parsers checked with properties."""

from __future__ import annotations

import contextlib
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from shared.errors import InvalidJobId, InvalidName
from shared.jobid import (
    DependencySet,
    JobId,
    artifact_name,
    compute_run_hash,
    find_collision,
    image_tag,
    is_job_id,
    is_valid_name,
    make_job_id,
    parse_artifact_name,
    parse_image_tag,
    parse_job_id,
    sanitize_name,
    sanitize_project,
    sanitize_user,
)

EXAMPLE = "20251204-143022-alice-frauddetect-a3f5d2c8-7b9e4f1a"
PARTS = "expected 6 (YYYYMMDD-HHMMSS-user-project-dep_hash-run_hash)"
NAME_RULE = "must be 1-16 of a-z, 0-9, _ (not at the ends)"

names = st.from_regex(r"[a-z0-9]([a-z0-9_]{0,14}[a-z0-9])?", fullmatch=True)
hex8 = st.text("0123456789abcdef", min_size=8, max_size=8)
moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


def one_line_error(call: object, *args: object) -> str:
    with pytest.raises((InvalidJobId, InvalidName)) as caught:
        call(*args)  # type: ignore[operator]
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_designs_example_parses_into_its_parts() -> None:
    """The design's example job ID yields its timestamp, user, project and both hashes."""
    job = parse_job_id(EXAMPLE)
    assert job == JobId(
        datetime(2025, 12, 4, 14, 30, 22, tzinfo=UTC),
        "alice",
        "frauddetect",
        "a3f5d2c8",
        "7b9e4f1a",
    )
    assert str(job) == EXAMPLE


def jid(
    *,
    date: str = "20251204",
    time: str = "143022",
    user: str = "alice",
    project: str = "frauddetect",
    dep: str = "a3f5d2c8",
    run: str = "7b9e4f1a",
) -> str:
    """The example job ID with some parts replaced."""
    return f"{date}-{time}-{user}-{project}-{dep}-{run}"


NOT_REAL = "timestamp is not a real UTC date and time"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "is empty"),
        (" ", f"has 1 dash-separated parts, {PARTS}"),
        (EXAMPLE.rsplit("-", 1)[0], f"has 5 dash-separated parts, {PARTS}"),
        (jid(project="fraud-detect"), f"has 7 dash-separated parts, {PARTS}"),
        (jid(date="20250230"), NOT_REAL),
        (jid(date="20251301"), NOT_REAL),
        (jid(time="246060"), NOT_REAL),
        (jid(date="2025124"), "date part must be YYYYMMDD"),
        (jid(date="２０２５１２０４"), "date part must be YYYYMMDD"),
        (jid(time="1430"), "time part must be HHMMSS"),
        (jid(user="Alice"), f"user {NAME_RULE}"),
        (jid(user="alicé"), f"user {NAME_RULE}"),
        (jid(user="abcdefghijklmnopq"), f"user {NAME_RULE}"),
        (jid(user="_alice"), f"user {NAME_RULE}"),
        (jid(project=""), f"project {NAME_RULE}"),
        (jid(project="fraud detect"), f"project {NAME_RULE}"),
        (jid(dep="a3f5d2cz"), "dep_hash must be 8 lowercase hex digits"),
        (jid(dep="A3F5D2C8"), "dep_hash must be 8 lowercase hex digits"),
        (jid(dep="a3f5d2c8e9b1"), "dep_hash must be 8 lowercase hex digits"),
        (jid(run="7b9e4f1a0"), "run_hash must be 8 lowercase hex digits"),
        (" " + EXAMPLE, "date part must be YYYYMMDD"),
        (EXAMPLE + "\n", "run_hash must be 8 lowercase hex digits"),
        (EXAMPLE + "\u200b", "run_hash must be 8 lowercase hex digits"),
    ],
)
def test_text_that_is_not_a_job_id_is_refused_with_the_reason(text: str, reason: str) -> None:
    """Each malformed job ID names the ID and the first part that is wrong, on one line."""
    assert one_line_error(parse_job_id, text) == f"job ID {text[:120]!r}: {reason}"
    assert not is_job_id(text)


def test_a_non_text_job_id_is_refused() -> None:
    """Bytes or numbers are not job IDs."""
    assert one_line_error(parse_job_id, b"20251204") == "job ID b'20251204': is not text"


def test_a_huge_job_id_is_reported_shortened() -> None:
    """A 100 kB string is refused with its first 120 characters, not echoed whole."""
    message = one_line_error(parse_job_id, "x" * 100_000)
    assert len(message) < 300


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(moment=moments, user=names, project=names, dep=hex8, run=hex8)
def test_every_valid_job_id_round_trips_through_text(
    moment: datetime, user: str, project: str, dep: str, run: str
) -> None:
    """Formatting any valid parts and parsing the text gives the same parts back."""
    job = JobId(moment, user, project, dep, run)
    assert parse_job_id(str(job)) == job
    assert str(parse_job_id(str(job))) == str(job)


def _six_ints(date: str, time: str) -> datetime | None:
    """The job ID timestamp as the parser once read it: six ints, or None when not a time."""
    try:
        year, month, day = int(date[:4]), int(date[4:6]), int(date[6:])
        return datetime(year, month, day, int(time[:2]), int(time[2:4]), int(time[4:]), tzinfo=UTC)
    except ValueError:
        return None


digits = st.text("0123456789", min_size=1, max_size=1)
days = st.builds(
    "{}{:02d}{:02d}".format,
    st.sampled_from(["0000", "0001", "1969", "1970", "2024", "2025", "2100", "9000", "9999"]),
    st.integers(0, 99),
    st.integers(0, 99),
) | st.text("0123456789", min_size=8, max_size=8)
times = st.builds("{:02d}{:02d}{:02d}".format, *[st.integers(0, 99)] * 3)


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(date=days, time=times)
def test_the_timestamp_is_read_as_the_six_numbers_say(date: str, time: str) -> None:
    """Any 8 + 6 digits: the job ID parses exactly when they are a real UTC date and time of
    the allowed years, to that time in `UTC` (the parser reads them with fromisoformat now)."""
    text = f"{date}-{time}-alice-proj-a3f5d2c8-7b9e4f1a"
    expected = _six_ints(date, time)
    if expected is None or not 1970 <= expected.year <= 9000:
        assert not is_job_id(text)
    else:
        created = parse_job_id(text).created_at
        assert created == expected
        assert created.tzinfo is UTC


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(st.text(max_size=80))
def test_random_text_is_never_mistaken_for_a_job_id(text: str) -> None:
    """Arbitrary text either is a canonical job ID or raises InvalidJobId, never anything else."""
    if is_job_id(text):
        assert str(parse_job_id(text)) == text
    else:
        assert "\n" not in one_line_error(parse_job_id, text)


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(st.text(alphabet=string.ascii_lowercase + string.digits + "-_", min_size=40, max_size=70))
def test_near_misses_are_refused_or_round_trip(text: str) -> None:
    """Text made of job-ID characters parses only when it is exactly canonical."""
    if is_job_id(text):
        assert str(parse_job_id(text)) == text


# ---- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Alice", "alice"),
        ("Alice Smith", "alice_smith"),
        ("Jürgen Müller", "jurgen_muller"),
        ("ÅÉÎ", "aei"),
        ("ﬁle", "file"),
        ("x--y", "x_y"),
        ("  padded  ", "padded"),
        ("a" * 20, "a" * 16),
        ("aaaaaaaaaaaaaaa_b", "a" * 15),
        ("Fraud Detection", "fraud_detection"),
    ],
)
def test_names_are_folded_to_safe_lowercase_of_at_most_16(raw: str, expected: str) -> None:
    """Unicode folds to ASCII, other runs become one `_`, the cut never ends in `_`."""
    assert sanitize_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "!!!", "日本", "   ", "___", "\u200b"])
def test_names_with_nothing_left_are_refused(raw: str) -> None:
    """A name with no ASCII letters or digits after folding is an InvalidName naming it."""
    assert one_line_error(sanitize_user, raw) == (
        f"user {raw!r}: has no letters or digits left after sanitizing"
    )


def test_a_blank_project_is_default_but_a_punctuation_project_is_refused() -> None:
    """Missing or blank projects become `default`; `!!!` is refused rather than merged."""
    assert sanitize_project(None) == "default"
    assert sanitize_project("  ") == "default"
    assert one_line_error(sanitize_project, "!!!") == (
        "project '!!!': has no letters or digits left after sanitizing"
    )


def test_collisions_between_raw_names_are_found() -> None:
    """`Alice` collides with an existing `alice`; a name never collides with itself."""
    assert find_collision("Alice", ["bob", "alice"]) == "alice"
    assert find_collision("fraud-detect", ["fraud_detect"]) == "fraud_detect"
    assert find_collision("alice", ["alice", "bob"]) is None
    assert find_collision("carol", ["alice", "bob"]) is None


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(st.text(max_size=40))
def test_sanitizing_is_idempotent_and_yields_valid_names_or_refuses(raw: str) -> None:
    """Any text sanitizes to a valid name that sanitizes to itself, or raises InvalidName."""
    try:
        name = sanitize_name(raw)
    except InvalidName:
        return
    assert is_valid_name(name)
    assert sanitize_name(name) == name


# ---- hashes, tags, artifact names -----------------------------------------------------------


def test_a_dependency_hash_ignores_order_case_and_name_spelling() -> None:
    """Reordered packages and PEP 503 spellings (Scikit_Learn, scikit-learn) hash alike."""
    one = DependencySet(("Scikit_Learn==1.3.0", "numpy==1.24.0"), "3.11")
    two = DependencySet(("numpy==1.24.0", "scikit-learn==1.3.0"), "3.11")
    assert one.calculate_hash() == two.calculate_hash()
    assert len(one.calculate_hash()) == 12
    assert DependencySet(one.packages, "3.12").calculate_hash() != one.calculate_hash()
    assert (
        DependencySet(one.packages, "3.11", use_gpu=True).calculate_hash() != one.calculate_hash()
    )


def test_the_job_ids_dep_hash_is_the_image_tags_hash_prefix() -> None:
    """A job's dep_hash is the first 8 characters of its image tag's 12-character hash."""
    deps = DependencySet(("torch==2.0.0",), "3.11", use_gpu=True)
    job = make_job_id(
        user="Alice",
        project=None,
        dependency_hash=deps.calculate_hash(),
        run_hash=compute_run_hash("train", "args", "nonce"),
        created_at=datetime(2025, 12, 4, 14, 30, 22, 999, tzinfo=UTC),
    )
    tag = image_tag("Alice", deps.calculate_hash())
    assert parse_image_tag(tag) == ("alice", deps.calculate_hash())
    assert tag.split("-")[1].startswith(job.dep_hash)
    assert (job.project, job.created_at.microsecond) == ("default", 0)


def test_run_hashes_are_8_hex_and_random_without_a_nonce() -> None:
    """Same inputs and nonce give the same run hash; without a nonce they differ."""
    assert compute_run_hash("f", "a", "n") == compute_run_hash("f", "a", "n")
    assert compute_run_hash("f", "a") != compute_run_hash("f", "a")
    assert all(c in "0123456789abcdef" for c in compute_run_hash("f", "a"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dependency_hash": "xyz"}, "dependency hash 'xyz': must be 8 or 12 hex digits"),
        ({"run_hash": "ABCDEF12"}, "run hash 'ABCDEF12': must be 8 hex digits"),
        ({"created_at": datetime(2025, 1, 1)}, "created_at: must be timezone-aware (UTC)"),
        ({"user": "???"}, "user '???': has no letters or digits left after sanitizing"),
    ],
)
def test_building_a_job_id_from_bad_parts_is_refused(
    kwargs: dict[str, object], message: str
) -> None:
    """make_job_id checks each raw part and names the bad one."""
    parts: dict[str, object] = {
        "user": "alice",
        "project": "p",
        "dependency_hash": "a3f5d2c8e9b1",
        "run_hash": "7b9e4f1a",
        "created_at": datetime(2025, 1, 1, tzinfo=UTC),
    }
    assert one_line_error(lambda: make_job_id(**{**parts, **kwargs})) == message  # type: ignore[arg-type]


def test_created_at_in_another_zone_is_stored_in_utc() -> None:
    """A creation time at +02:00 becomes the same instant in UTC in the job ID."""
    from datetime import timezone

    local = datetime(2025, 12, 4, 16, 30, 22, tzinfo=timezone(timedelta(hours=2)))
    job = make_job_id(
        user="a", project="p", dependency_hash="a3f5d2c8", run_hash="7b9e4f1a", created_at=local
    )
    assert str(job).startswith("20251204-143022-")


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("alice-a3f5d2c8", "image tag 'alice-a3f5d2c8': must be user-<12 hex digits>"),
        ("Alice-a3f5d2c8e9b1", "image tag 'Alice-a3f5d2c8e9b1': must be user-<12 hex digits>"),
        ("alice_a3f5d2c8e9b1", "image tag 'alice_a3f5d2c8e9b1': must be user-<12 hex digits>"),
    ],
)
def test_malformed_image_tags_are_refused(tag: str, message: str) -> None:
    """An image tag must be a sanitized user, a dash and 12 hex digits."""
    assert one_line_error(parse_image_tag, tag) == message


def test_artifact_names_follow_job_type_extension() -> None:
    """`{job_id}.{type}.{ext}` is built and parsed back, multi-part extensions included."""
    name = artifact_name(EXAMPLE, "log", "log.jsonl")
    assert name == f"{EXAMPLE}.log.log.jsonl"
    assert parse_artifact_name(f"{EXAMPLE}.model.pkl") == (parse_job_id(EXAMPLE), "model", "pkl")


@pytest.mark.parametrize(
    ("kind", "extension", "message"),
    [
        ("Model", "pkl", "artifact type 'Model': must be a-z, 0-9, _ (1-32)"),
        ("model", "../pkl", "extension '../pkl': must be like 'pkl' or 'log.jsonl'"),
        ("model", "", "extension '': must be like 'pkl' or 'log.jsonl'"),
        ("", "pkl", "artifact type '': must be a-z, 0-9, _ (1-32)"),
    ],
)
def test_bad_artifact_types_and_extensions_are_refused(
    kind: str, extension: str, message: str
) -> None:
    """Artifact types and extensions keep to their safe alphabets."""
    assert one_line_error(artifact_name, EXAMPLE, kind, extension) == message


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(st.text(max_size=60))
def test_parsing_random_artifact_names_only_raises_invalid_input(text: str) -> None:
    """Any text is an artifact name or an InvalidJobId/InvalidName, never a crash."""
    assume(text)
    with contextlib.suppress(InvalidJobId, InvalidName):
        parse_artifact_name(text)
