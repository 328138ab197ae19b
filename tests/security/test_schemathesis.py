"""Schemathesis against the API's own OpenAPI document: generated requests to every `/api/`
operation never get a 500 and every response matches the documented schema (bounded examples)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from api import create_app
from ascend_cli.azurite import Azurite
from shared.services import Services
from tests.support.jobs_data import make_services, seed_job
from web.auth import HEADER, encode_client_principal

_SERVICES: list[Services] = []
APP = create_app(lambda: _SERVICES[-1])
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP).include(path_regex="^/api/")


@pytest.fixture(scope="module", autouse=True)
def world(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The app's services: a real Azurite container and index holding one job of alice."""
    services = make_services(azurite, Path(tmp_path_factory.mktemp("schemathesis")))
    seed_job(services, levels=["INFO", "ERROR"])
    _SERVICES.append(services)
    yield
    _SERVICES.clear()


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_documented_promises(case: Any) -> None:
    """No 500, only documented status codes, bodies that match the schema."""
    case.call_and_validate(
        headers={HEADER: encode_client_principal("alice", ("admin",))},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
