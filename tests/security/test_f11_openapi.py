"""Finding 11: the OpenAPI document lists the statuses the API really answers."""

from __future__ import annotations

import functools
import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from api import create_app
from query.logfilter import parse_level
from shared.errors import InvalidInput
from web.auth import HEADER, encode_client_principal


@functools.cache
def spec() -> dict:  # type: ignore[type-arg]
    with TestClient(create_app()) as client:
        return client.get("/api/openapi.json").json()  # type: ignore[no-any-return]


def test_no_operation_documents_422_and_every_one_documents_400_and_401() -> None:
    """Bad parameters are 400 with a one-line detail, as the API answers; 401 is listed."""
    for path, operations in spec()["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert "422" not in codes, f"{method} {path}"
            assert {"400", "401"} <= codes, f"{method} {path}"


def test_job_operations_document_404_and_logs_document_429() -> None:
    """A job you may not see is a 404; too many follow streams a 429."""
    paths = spec()["paths"]
    assert "404" in paths["/api/jobs/{job_id}"]["get"]["responses"]
    assert {"404", "429"} <= set(paths["/api/jobs/{job_id}/logs"]["get"]["responses"])


def test_a_bad_parameter_is_the_documented_400() -> None:
    """limit=0 answers 400 (the spec's status), not 422."""
    with TestClient(create_app()) as client:
        response = client.get(
            "/api/jobs?limit=0", headers={HEADER: encode_client_principal("alice")}
        )
    assert response.status_code == 400
    assert "limit" in response.json()["detail"]


def _level_schemas() -> list[dict]:  # type: ignore[type-arg]
    return [
        parameter["schema"]
        for path, operations in spec()["paths"].items()
        if path.startswith("/api/")
        for operation in operations.values()
        for parameter in operation.get("parameters", ())
        if parameter["in"] == "query" and parameter["name"] == "level"
    ]


def _accepted(value: str) -> bool:
    try:
        parse_level(value)
    except InvalidInput:
        return False
    return True


def test_the_log_level_parameter_is_a_pattern_of_the_accepted_levels() -> None:
    """`level` is declared as a pattern; the canonical levels, in upper and lower case, match."""
    schemas = _level_schemas()
    assert schemas, "no operation documents a level parameter"
    for schema in schemas:
        for value in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "info", "Warn", "fatal"):
            assert re.fullmatch(schema["pattern"], value), value


@pytest.mark.parametrize("value", ["VERBOSE", "trace", "1", "ERRORS", "\ninfo", "ınfo"])
def test_a_level_outside_the_pattern_is_refused(value: str) -> None:
    """A value the spec's pattern leaves out is one the API refuses (the spec does not lie)."""
    assert all(not re.fullmatch(schema["pattern"], value) for schema in _level_schemas())
    with pytest.raises(InvalidInput, match="must be one of"):
        parse_level(value)


@given(
    st.one_of(
        st.sampled_from(["debug", "info", "warning", "error", "critical", "warn", "fatal"]).flatmap(
            lambda name: st.tuples(*(st.sampled_from([c, c.upper()]) for c in name)).map("".join)
        ),
        st.text(max_size=10),
        st.text(alphabet=" \t\nınfoINFO", max_size=8),
    )
)
def test_the_level_pattern_matches_exactly_what_the_api_accepts(value: str) -> None:
    """For any text, the documented pattern and the API's parser agree on it."""
    [pattern, *_] = [schema["pattern"] for schema in _level_schemas()]
    assert bool(re.fullmatch(pattern, value)) == _accepted(value), value
