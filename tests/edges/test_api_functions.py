"""The API through the Functions HTTP function: `app.get_functions()` with a real HttpRequest."""

from __future__ import annotations

import asyncio
import functools
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import cast
from urllib.parse import urlencode

import azure.functions as func
import orjson
import pytest

import shared.services
from shared.services import Services
from tests.support.builders import log_lines, seed_job
from web.auth import HEADER, encode_client_principal

APP_FILE = Path(__file__).resolve().parents[2] / "function_app.py"


@functools.cache
def http_function() -> func.decorators.function_app.Function:
    """function_app.py loaded as the host loads it, in a fresh module (`get_functions()` may be
    called once per app), and its HTTP function."""
    spec = importlib.util.spec_from_file_location("function_app_api_under_test", APP_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    [function] = [f for f in module.app.get_functions() if f.get_function_name() == "http_api"]
    return cast(func.Function, function)


@pytest.fixture
def http_api(services: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The HTTP function's user code, with the process's composition root on the test's storage."""
    settings = services.settings
    monkeypatch.setenv("ASCEND_STORAGE_CONNECTION_STRING", str(settings.storage_connection_string))
    monkeypatch.setenv("ASCEND_CONTAINER", settings.container)
    monkeypatch.setenv("ASCEND_INDEX_PATH", str(settings.index_path))
    shared.services.reset()
    yield http_function().get_user_function()
    shared.services.reset()


def call(http_api: object, path: str, user: str = "alice", **params: str) -> func.HttpResponse:
    # The host hands over the full URL; the ASGI middleware reads the query string from it.
    query = f"?{urlencode(params)}" if params else ""
    request = func.HttpRequest(
        method="GET",
        url=f"http://localhost{path}{query}",
        headers={HEADER: encode_client_principal(user)},
        params=params,
        body=b"",
    )
    response: func.HttpResponse = asyncio.run(http_api(request, None))  # type: ignore[operator]
    return response


def test_the_http_function_binds_every_api_route_anonymously() -> None:
    """One HTTP trigger catches /api/{*path}; App Service authentication stands in front."""
    trigger = orjson.loads(http_function().get_raw_bindings()[0])
    assert (trigger["type"], trigger["route"], trigger["authLevel"]) == (
        "httpTrigger",
        "{*path}",
        "ANONYMOUS",
    )


def test_search_through_the_function_returns_the_callers_jobs(
    services: Services, http_api: object
) -> None:
    """GET /api/jobs through the Functions middleware answers like the ASGI app."""
    meta = seed_job(services.blobs, services.index)
    seed_job(services.blobs, services.index, user="bob")
    response = call(http_api, "/api/jobs")
    assert response.status_code == 200
    assert [d["job_id"] for d in orjson.loads(response.get_body())["documents"]] == [meta.job_id]


def test_logs_through_the_function_are_the_filtered_json_lines(
    services: Services, http_api: object
) -> None:
    """The log endpoint works through the function (the host buffers the body)."""
    meta = seed_job(services.blobs, services.index, levels=["INFO", "CRITICAL"])
    response = call(http_api, f"/api/jobs/{meta.job_id}/logs", level="ERROR")
    assert response.status_code == 200
    assert response.get_body() == log_lines(meta, ["INFO", "CRITICAL"]).splitlines(True)[1]


def test_follow_through_the_function_is_refused_with_the_reason(
    services: Services, http_api: object
) -> None:
    """The Functions host cannot stream, so `follow=true` is a 400 that says so."""
    meta = seed_job(services.blobs, services.index, status="running", levels=["INFO"])
    response = call(http_api, f"/api/jobs/{meta.job_id}/logs", follow="true")
    assert response.status_code == 400
    assert b"ascend serve" in response.get_body()


def test_a_request_without_a_principal_is_a_401_through_the_function(http_api: object) -> None:
    """The function refuses anonymous calls exactly as the app does."""
    request = func.HttpRequest(method="GET", url="http://localhost/api/jobs", headers={}, body=b"")
    response = asyncio.run(http_api(request, None))  # type: ignore[operator]
    assert response.status_code == 401
