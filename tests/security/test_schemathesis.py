"""Schemathesis against the API's own OpenAPI document: generated requests to every `/api/`
operation never get a 500, every response matches the documented schema, and a request the
schema says is invalid is refused (bounded examples, valid and invalid alike).

Not checked: that every schema-valid request is accepted (`positive_data_acceptance`). Query
text and `since`/`until` are languages a JSON Schema cannot state; the API refuses what does not
parse with the documented 400 and a one-line reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from api import create_app
from ascend_cli.azurite import Azurite
from shared.services import Services
from tests.support.builders import seed_job
from tests.support.jobs_data import make_services
from web.auth import HEADER, encode_client_principal

_SERVICES: list[Services] = []
APP = create_app(lambda: _SERVICES[-1])
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP).include(path_regex="^/api/")


@pytest.fixture(scope="module", autouse=True)
def world(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The app's services: a real Azurite container and index holding one job of alice."""
    services = make_services(azurite, Path(tmp_path_factory.mktemp("schemathesis")))
    seed_job(services.blobs, services.index, levels=["INFO", "ERROR"])
    _SERVICES.append(services)
    yield
    _SERVICES.clear()


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_documented_promises(case: Any) -> None:
    """No 500, only documented status codes, bodies that match the schema, and what the
    schema calls invalid refused with a documented status."""
    case.call_and_validate(
        headers={HEADER: encode_client_principal("alice", ("admin",))},
        checks=[
            not_a_server_error,
            status_code_conformance,
            response_schema_conformance,
            negative_data_rejection,
        ],
    )


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/reports/cost?by=", 400),
        ("/api/reports/cost?by=,", 400),
        ("/api/reports/cost?by=project,bogus", 400),
        ("/api/reports/storage?by=node", 400),
        ("/api/reports/cost?by=project,%20user", 200),
        ("/api/reports/cost?by=user&by=week", 200),
        ("/api/reports/failures?since=", 200),
    ],
)
def test_group_keys_are_refused_exactly_where_the_schema_says(path: str, status: int) -> None:
    """An empty or unknown `by` key is refused with 400 (the schema's pattern refuses it too);
    known keys, repeated or comma-separated with spaces, are accepted."""
    from starlette.testclient import TestClient

    with TestClient(APP) as client:
        answer = client.get(path, headers={HEADER: encode_client_principal("alice", ())})
    assert answer.status_code == status, answer.text


def test_no_parameter_is_documented_as_null() -> None:
    """A query string or header cannot carry a null: no parameter's schema offers one (a
    generated `null` arrives as an empty or absent value the API rightly reads)."""
    document = APP.openapi()
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                assert "null" not in str(parameter["schema"]), (path, parameter["name"])
