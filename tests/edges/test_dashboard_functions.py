"""The dashboard through the Functions HTTP function: pages answer there too, and the live tail
polls by offset because the host buffers whole responses (no server-sent events)."""

from __future__ import annotations

import json
from pathlib import Path

from shared.services import Services
from tests.edges.test_api_functions import call, http_api  # noqa: F401 - the fixture
from tests.support.builders import seed_job

HOST_JSON = Path(__file__).resolve().parents[2] / "host.json"


def test_the_http_function_serves_the_site_root() -> None:
    """host.json drops the `api` route prefix, so `/` and `/jobs/...` reach the app."""
    assert json.loads(HOST_JSON.read_text())["extensions"]["http"]["routePrefix"] == ""


def test_a_running_jobs_page_polls_and_its_event_stream_is_refused(
    services: Services,
    http_api: object,  # noqa: F811 - the fixture, imported by name
) -> None:
    """Through the function, the job page tails by polling and the SSE route says why not."""
    meta = seed_job(services.blobs, services.index, status="running", levels=["INFO", "ERROR"])
    page = call(http_api, f"/jobs/{meta.job_id}")
    assert page.status_code == 200
    assert b'data-live="poll"' in page.get_body()
    assert b'data-level="ERROR"' in page.get_body()
    stream = call(http_api, f"/jobs/{meta.job_id}/log/stream")
    assert stream.status_code == 400
    assert b"poll" in stream.get_body()
    fragment = call(http_api, f"/jobs/{meta.job_id}/log", offset="0", level="ERROR")
    assert fragment.headers["X-Log-End"] == "1"
    assert fragment.get_body().count(b"data-level=") == 1


def test_static_files_are_served_through_the_function(http_api: object) -> None:  # noqa: F811
    """The vendored chart library comes from the app itself in Azure too."""
    response = call(http_api, "/static/vendor/uplot/uPlot.iife.min.js")
    assert response.status_code == 200
    assert b"uPlot" in response.get_body()
