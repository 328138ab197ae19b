"""Finding 11: the OpenAPI document lists the statuses the API really answers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api import create_app
from api.auth import HEADER, encode_client_principal


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
        response = client.get("/api/jobs?limit=0",
                              headers={HEADER: encode_client_principal("alice")})
    assert response.status_code == 400
    assert "limit" in response.json()["detail"]
