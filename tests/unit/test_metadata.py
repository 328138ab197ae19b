"""metadata.json validation: every bad document refused with one line naming the field and the
reason, the security cross-checks, and valid documents round-tripping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from shared.errors import InvalidMetadata
from shared.metadata import (
    JobStatus,
    dump_metadata,
    metadata_as_dict,
    parse_metadata,
    scalar_text,
)
from tests.support.builders import make_job_id, make_metadata, metadata_bytes

JOB = make_job_id()
STATUSES = "'queued', 'running', 'completed', 'failed' or 'cancelled'"


def refused(raw: bytes) -> str:
    """The one-line reason `raw` is not a valid metadata.json."""
    with pytest.raises(InvalidMetadata) as caught:
        parse_metadata(raw, source="metadata.json")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("metadata.json: ")
    return message.removeprefix("metadata.json: ")


@pytest.mark.parametrize("status", [s.value for s in JobStatus])
def test_valid_documents_of_every_status_parse_and_round_trip(status: str) -> None:
    """A builder document parses, and dumping and parsing it again gives the same model."""
    meta = parse_metadata(metadata_bytes(status=status))
    assert meta.status == status
    assert parse_metadata(dump_metadata(meta)) == meta
    assert metadata_as_dict(meta)["job_id"] == str(JOB)


def test_the_designs_example_document_is_valid() -> None:
    """The metadata.json example of the design parses, times in UTC, unknown fields kept."""
    doc = make_metadata(job=JOB, created_at="2025-12-04T14:30:22.000Z", extra_field={"a": 1})
    meta = parse_metadata(orjson.dumps(doc))
    assert meta.created_at == datetime(2025, 12, 4, 14, 30, 22, tzinfo=UTC)
    assert meta.dependencies.use_gpu is True
    assert meta.model_extra == {"extra_field": {"a": 1}}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            b"",
            "is not valid JSON (Input is a zero-length, empty document: line 1 column 1 (char 0))",
        ),
        (b'{"job_id": ', "is not valid JSON (unexpected end of data: line 1 column 12 (char 11))"),
        (
            b"\xef\xbb\xbf{}",
            "is not valid JSON (UTF-8 byte order mark (BOM) is not supported: "
            "line 1 column 1 (char 0))",
        ),
        (
            b"[" * 100_000,
            "is not valid JSON (depth limit exceeded: line 1 column 1026 (char 1025))",
        ),
        (b"[1, 2]", "must be a JSON object, not list"),
        (b"null", "must be a JSON object, not NoneType"),
        (b'"text"', "must be a JSON object, not str"),
        (b"42", "must be a JSON object, not int"),
        (b"{}", "job_id: Field required (and 7 more problems)"),
    ],
)
def test_documents_that_are_not_json_objects_are_refused(raw: bytes, reason: str) -> None:
    """Malformed JSON, non-objects and empty objects each get one readable line."""
    assert refused(raw) == reason


def test_invalid_utf8_is_refused_as_not_json() -> None:
    """Bytes that are not UTF-8 are not JSON."""
    assert refused(b'{"a": "\xff"}').startswith("is not valid JSON (str is not valid UTF-8")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"drop": ["status"]}, "status: Field required"),
        ({"drop": ["dependencies"]}, "dependencies: Field required"),
        ({"drop": ["dependencies.hash"]}, "dependencies.hash: Field required"),
        ({"drop": ["status", "user", "project"]}, "status: Field required (and 2 more problems)"),
        ({"status": "done"}, f"status: Input should be {STATUSES}"),
        ({"status": 3}, f"status: Input should be {STATUSES}"),
        ({"status": "bad\nstatus"}, f"status: Input should be {STATUSES}"),
        ({"job_id": 5}, "job_id: Input should be a valid string"),
        ({"function_name": ""}, "function_name: String should have at least 1 character"),
        ({"function_name": "f" * 300}, "function_name: String should have at most 256 characters"),
        (
            {"execution": {"duration_seconds": "long"}},
            "execution.duration_seconds: Input should be a valid number, "
            "unable to parse string as a number",
        ),
        (
            {"execution": {"duration_seconds": -1}},
            "execution.duration_seconds: Input should be greater than or equal to 0",
        ),
        (
            {"execution": {"exit_code": True}},
            "execution.exit_code: Input should be a valid integer",
        ),
        ({"execution": {"exit_code": "0"}}, "execution.exit_code: Input should be a valid integer"),
        ({"config": {"timeout": "3600"}}, "config.timeout: Input should be a valid integer"),
        (
            {"config": {"node_type": "gpu small"}},
            "config.node_type: String should match pattern '^[A-Za-z0-9_.-]{1,64}$'",
        ),
        (
            {"dependencies": {"python_version": "３.１１"}},
            "dependencies.python_version: String should match pattern "
            "'^[0-9]+\\.[0-9]+(\\.[0-9]+)?$'",
        ),
        (
            {"dependencies": {"hash": "A3F5"}},
            "dependencies.hash: String should match pattern '^[0-9a-f]{12}$'",
        ),
        (
            {"dependencies": {"packages": "torch"}},
            "dependencies.packages: Input should be a valid list",
        ),
        ({"tags": {"k": {"nested": 1}}}, "tags.k: Input should be a valid string"),
        ({"tags": {"k": None}}, "tags.k: Input should be a valid string"),
        ({"tags": {"k": [1]}}, "tags.k: Input should be a valid string"),
        ({"config": {"cpu": {"cores": 4}}}, "config.cpu: Input should be a valid string"),
        ({"tags": ["experiment=baseline"]}, "tags: Input should be a valid dictionary"),
        (
            {"artifacts": [{"name": "../x", "type": "model", "size_bytes": 1}]},
            "artifacts.0.name: String should match pattern '^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$'",
        ),
        (
            {"artifacts": [{"name": "a", "type": "model", "size_bytes": 1.5}]},
            "artifacts.0.size_bytes: Input should be a valid integer",
        ),
        ({"artifacts": [{"name": "a", "type": "model"}]}, "artifacts.0.size_bytes: Field required"),
    ],
)
def test_wrong_types_and_missing_fields_name_the_field(
    changes: dict[str, Any], reason: str
) -> None:
    """Each bad field is named by its dotted path, with pydantic's reason, on one line."""
    assert refused(metadata_bytes(**changes)) == reason


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"user": "mallory"}, "user 'mallory' does not match the job ID's user 'alice'"),
        ({"project": "other"}, "project 'other' does not match the job ID's project 'frauddetect'"),
        (
            {"created_at": "2025-12-05T14:30:22Z"},
            "created_at 2025-12-05T14:30:22+00:00 does not match the job ID's timestamp "
            "20251204-143022",
        ),
        (
            {"job_id": "nope"},
            "job_id has 1 dash-separated parts, expected 6 "
            "(YYYYMMDD-HHMMSS-user-project-dep_hash-run_hash)",
        ),
        (
            {"dependencies": {"hash": "ffffffffffff"}},
            "dependencies.hash 'ffffffffffff' does not start with the job ID's dep_hash "
            f"'{JOB.dep_hash}'",
        ),
        (
            {"execution": {"end_time": "2025-12-04T14:30:00Z"}},
            "execution: end_time is before start_time",
        ),
        ({"updated_at": "2025-01-01T00:00:00Z"}, "updated_at is before created_at"),
    ],
)
def test_documents_that_disagree_with_their_job_id_are_refused(
    changes: dict[str, Any], reason: str
) -> None:
    """user, project, created_at and dependency hash must agree with the job ID; end >= start."""
    assert refused(metadata_bytes(job=JOB, **changes)) == reason


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"created_at": "2025-12-04T14:30:22"}, "created_at"),
        ({"updated_at": "2025-12-04T14:35:00"}, "updated_at"),
        ({"execution": {"end_time": "2025-12-04T15:30:00"}}, "execution.end_time"),
        (
            {
                "artifacts": [
                    {"name": "a", "type": "m", "size_bytes": 1, "created_at": "2025-12-04T15:30:00"}
                ]
            },
            "artifacts.0.created_at",
        ),
    ],
)
def test_naive_timestamps_are_refused(changes: dict[str, Any], field: str) -> None:
    """A timestamp without a zone is ambiguous: refused, naming the field."""
    expected = f"{field}: Input should have timezone info"
    assert refused(metadata_bytes(job=JOB, **changes)) == expected


def test_a_created_at_in_another_zone_that_is_the_same_instant_is_accepted() -> None:
    """15:30:22+01:00 is the job ID's 14:30:22 UTC: accepted, stored as UTC."""
    meta = parse_metadata(metadata_bytes(job=JOB, created_at="2025-12-04T15:30:22+01:00"))
    assert meta.created_at == JOB.created_at
    assert b'"created_at":"2025-12-04T14:30:22Z"' in dump_metadata(meta)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"dependencies": {"packages": ["x==1"] * 3000}},
            "dependencies.packages: List should have at most 2000 items after validation, not 3000",
        ),
        (
            {"artifacts": [{"name": "a", "type": "m", "size_bytes": 1}] * 10_001},
            "artifacts: List should have at most 10000 items after validation, not 10001",
        ),
        (
            {"function_name": "x" * 1_000_000},
            "function_name: String should have at most 256 characters",
        ),
    ],
)
def test_huge_arrays_and_strings_are_refused_not_stored(
    changes: dict[str, Any], reason: str
) -> None:
    """Size limits keep a hostile document from flooding the index."""
    assert refused(metadata_bytes(**changes)) == reason


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"tags": {"k": "v" * 257}}, "tags.k: String should have at most 256 characters"),
        ({"config": {"cpu": "4" * 1025}}, "config.cpu: String should have at most 1024 characters"),
        (
            {"resources": {"gpu_requested": "1" * 2000}},
            "resources.gpu_requested: String should have at most 1024 characters",
        ),
    ],
)
def test_long_tag_values_and_quantities_are_refused_in_characters(
    changes: dict[str, Any], reason: str
) -> None:
    """A tag value or quantity too long is refused in characters (pydantic-core checks the
    length now; a Python check after the conversion said "items after validation")."""
    assert refused(metadata_bytes(**changes)) == reason
    just_fits = {"tags": {"k": "v" * 256}, "config": {"cpu": "4" * 1024}}
    assert parse_metadata(metadata_bytes(**just_fits)).tags["k"] == "v" * 256


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(min_size=250, max_size=260)
    | st.text(max_size=20)
    | st.lists(st.integers(0, 9), max_size=2)
)
def test_a_tag_value_is_taken_exactly_when_its_text_fits(value: Any) -> None:
    """Any JSON value as a tag value: accepted, as `scalar_text` writes it, exactly when that is
    text of at most 256 characters (the rule as the Python check after conversion applied it)."""
    text = scalar_text(value)
    try:
        meta = parse_metadata(metadata_bytes(tags={"k": value}))
    except InvalidMetadata:
        assert not (isinstance(text, str) and len(text) <= 256)
    else:
        assert meta.tags["k"] == text


def test_a_huge_error_list_is_summarized_in_one_short_line() -> None:
    """Thousands of bad packages give one line with the first problem and a count."""
    message = refused(metadata_bytes(dependencies={"packages": [{"x": 1}] * 1500}))
    assert message == (
        "dependencies.packages.0: Input should be a valid string (and 1499 more problems)"
    )


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"tags": {"retain": True}}, ("tags", "retain"), "true"),
        ({"tags": {"retain": False}}, ("tags", "retain"), "false"),
        ({"tags": {"epochs": 20}}, ("tags", "epochs"), "20"),
        ({"tags": {"lr": 0.001}}, ("tags", "lr"), "0.001"),
        ({"tags": {"ratio": 2.0}}, ("tags", "ratio"), "2"),
        ({"config": {"cpu": 4}}, ("config", "cpu"), "4"),
        ({"config": {"cpu": 0.5}}, ("config", "cpu"), "0.5"),
        ({"config": {"cpu": "4"}}, ("config", "cpu"), "4"),
        ({"config": {"memory": 8589934592}}, ("config", "memory"), "8589934592"),
        ({"resources": {"cpu_requested": 2}}, ("resources", "cpu_requested"), "2"),
    ],
)
def test_scalar_values_real_jobs_write_are_accepted_and_normalised(
    changes: dict[str, Any], field: tuple[str, str], expected: str
) -> None:
    """A JSON boolean or number where the contract has a string (a tag value, a Kubernetes
    quantity) is accepted as the contract's string instead of rejecting the whole job."""
    meta = parse_metadata(metadata_bytes(**changes))
    section, key = field
    assert metadata_as_dict(meta)[section][key] == expected


def test_retain_true_as_a_json_boolean_retains_the_job() -> None:
    """`"retain": true` and `"retain": "true"` mean the same: the job is retained."""
    assert parse_metadata(metadata_bytes(tags={"retain": True})).retain
    assert not parse_metadata(metadata_bytes(tags={"retain": False})).retain


def test_retain_is_read_from_the_tags_case_insensitively() -> None:
    """`retain=true` (any case, padded) marks the job retained; anything else does not."""
    assert parse_metadata(metadata_bytes(tags={"retain": " TRUE "})).retain
    assert not parse_metadata(metadata_bytes(tags={"retain": "yes"})).retain
    assert not parse_metadata(metadata_bytes()).retain


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "job_id",
                "status",
                "user",
                "created_at",
                "execution",
                "dependencies",
                "tags",
                "artifacts",
                "x",
            ]
        ),
        json_values,
        max_size=6,
    )
)
@example(changes={"tags": {"\n": None}})  # a key with a newline once split the message
def test_arbitrary_json_never_crashes_the_validator(changes: dict[str, Any]) -> None:
    """Any JSON values in any fields give a valid model or a one-line InvalidMetadata."""
    doc = {**make_metadata(), **changes}
    try:
        parse_metadata(orjson.dumps(doc))
    except InvalidMetadata as exc:
        assert "\n" not in str(exc)  # noqa: PT017 - hypothesis: any input, two outcomes


@hypothesis_settings(deadline=None)  # shared 2-core machine: time varies
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_the_validator(raw: bytes) -> None:
    """Random bytes are refused with one line (they are never a valid document)."""
    with pytest.raises(InvalidMetadata) as caught:
        parse_metadata(raw)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("as_bytes", [True, False])
def test_nesting_is_refused_however_the_text_comes_and_brackets_in_strings_are_not(
    as_bytes: bool,
) -> None:
    """33 nested objects are refused as bytes and as text; 40 brackets inside tag values (no
    nesting) are not, though they pass the quick bracket count that skips the depth walk."""
    deep = make_metadata(config={"node_type": "cpu"}, extra_field={})
    inner: dict[str, Any] = {}
    for _ in range(33):
        inner = {"x": inner}
    deep["extra_field"] = inner
    shallow = make_metadata(tags={"note": "{[" * 20})
    encode = orjson.dumps if as_bytes else (lambda d: orjson.dumps(d).decode())
    with pytest.raises(InvalidMetadata, match="nests deeper than 32 levels"):
        parse_metadata(encode(deep))
    assert parse_metadata(encode(shallow)).tags["note"] == "{[" * 20
