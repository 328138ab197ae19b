"""The FastAPI app: jobs search, one job's details, one job's log (streamed as JSON Lines).

`create_app(services_factory)` wires the routes to a composition root that is called on the first
request, never at import; the module-level `app` of `api` uses the process-wide one. Errors of the
project's tree become status codes in one place (`status_for`), with the one-line message as
`detail`; a job the caller may not see is a 404 exactly like a job that does not exist.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from api.openapi import documented_openapi
from query import jobs as use_cases
from query.logs import filter_raw, parse_level, read_ahead
from shared.errors import (
    AccessDenied,
    AscendError,
    BlobArchived,
    BlobNotFound,
    InvalidInput,
    InvalidJobId,
    JobFinished,
    JobNotFound,
    SearchIndexError,
    StorageError,
    TransientError,
)
from shared.principal import Principal
from shared.services import Services
from web.auth import HEADER, NotAuthenticated
from web.caller import Caller
from web.follow import FollowGate, TooManyStreams, follow_body

NDJSON = "application/x-ndjson"
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (NotAuthenticated, 401),
    (TooManyStreams, 429),
    (JobNotFound, 404),
    (InvalidJobId, 404),
    (BlobNotFound, 404),
    (InvalidInput, 400),
    (AccessDenied, 403),
    (BlobArchived, 409),
    (JobFinished, 409),
    (StorageError, 502),
    (TransientError, 503),
    (SearchIndexError, 503),
)


def status_for(exc: Exception) -> int:
    """The HTTP status of a project exception (500 for anything unexpected)."""
    return next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)


def create_app(
    services_factory: Callable[[], Services] | None = None, *, anonymous_as: Principal | None = None
) -> FastAPI:
    """The API over the services `services_factory` builds (lazily, on the first request).
    `anonymous_as` (for `ascend serve --as-cli-user` only) is the principal of requests that
    carry no client principal header; by default they are refused with 401."""
    from shared.services import services as process_services

    factory = services_factory or process_services
    api = FastAPI(
        title="ascend-index",
        version="0.1.0",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        # No trailing-slash redirects: '/api/jobs/%2F' (a job ID of '/') must not be sent on to
        # the job list; a path is either a route or a 404.
        redirect_slashes=False,
        description="Search Ascend jobs and read their logs. Every call runs as the "
        f"principal of the `{HEADER}` header (App Service authentication).",
    )
    api.state.anonymous_as = anonymous_as
    api.state.services = factory
    api.state.follow_gate = FollowGate()
    api.add_exception_handler(AscendError, _project_error)
    api.add_exception_handler(RequestValidationError, _bad_parameter)
    _routes(api, factory)
    from api.reports import register

    register(api, factory)
    _docs(api)
    from dashboard.routes import mount

    mount(api, factory)
    api.openapi = lambda: documented_openapi(api)  # type: ignore[method-assign]
    return api


def _docs(api: FastAPI) -> None:
    """Swagger UI from the app's own vendored files (no CDN: it works offline)."""
    from fastapi.openapi.docs import get_swagger_ui_html

    @api.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="ascend-index API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui/favicon-32x32.png",
        )


def _routes(api: FastAPI, services: Callable[[], Services]) -> None:
    @api.get(
        "/api/jobs",
        summary="Search jobs (the query language; newest first by default)",
        response_class=JSONResponse,
        responses={
            200: {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "documents": {"type": "array", "items": {"type": "object"}},
                                "next_cursor": {"type": ["string", "null"]},
                            },
                        }
                    }
                }
            }
        },
    )
    def search_jobs(
        caller: Caller,
        q: Annotated[str, Query(max_length=4000, description="query text")] = "",
        limit: Annotated[int, Query(ge=1, le=use_cases.MAX_LIMIT)] = use_cases.DEFAULT_LIMIT,
        cursor: Annotated[str | None, Query(max_length=4000)] = None,
    ) -> Response:
        # The index's JSON texts, sent as they are: no document is decoded and encoded again.
        root = services()
        page = use_cases.search_jobs_json(
            root.index, root.clock, caller, q, limit=limit, cursor=cursor
        )
        body = b"".join(
            (
                b'{"documents":[',
                b",".join(page.lines),
                b'],"next_cursor":',
                orjson.dumps(page.next_cursor),
                b"}",
            )
        )
        return Response(body, media_type="application/json")

    @api.get("/api/jobs/{job_id}", summary="One job: its metadata and its search document")
    def get_job(job_id: str, caller: Caller) -> dict[str, Any]:
        root = services()
        details = use_cases.job_details(root.blobs, root.index, root.settings, caller, job_id)
        problems = [p for p in (details.metadata_problem, details.index_problem) if p]
        return {
            "job_id": details.job_id,
            "metadata": details.metadata,
            "document": details.document,
            "problems": problems,
        }

    @api.get(
        "/api/jobs/{job_id}/logs",
        summary="The job's log records as JSON Lines, streamed",
        response_class=StreamingResponse,
        responses={200: {"content": {NDJSON: {}}}},
    )
    def get_logs(
        job_id: str,
        caller: Caller,
        request: Request,
        level: Annotated[str | None, Query(description="minimum level")] = None,
        follow: Annotated[bool, Query(description="tail until the job is final")] = False,
    ) -> StreamingResponse:
        minimum = parse_level(level)
        if follow and "azure_functions.invocation_id" in request.scope:
            raise InvalidInput(
                "follow",
                "the Functions host buffers whole responses, so it "
                "cannot tail a log; use `ascend serve` or poll without follow",
            )
        if follow:
            return _follow(request, caller, job_id, minimum, services)
        root = services()
        chunks = use_cases.job_log(root.blobs, root.settings, caller, job_id)
        # Errors found before the first byte (not visible, no log, archived) get their status
        # code; the status line is sent before streaming, so a later failure ends the body early.
        return StreamingResponse(filter_raw(read_ahead(chunks), minimum), media_type=NDJSON)


def _follow(
    request: Request,
    caller: Principal,
    job_id: str,
    minimum: str | None,
    services: Callable[[], Services],
) -> StreamingResponse:
    """A tail bounded by the app's `FollowGate` (429 over it), ended when the client leaves."""
    gate: FollowGate = request.app.state.follow_gate
    gate.enter(caller.user)
    stop = threading.Event()
    try:
        root = services()
        chunks = use_cases.job_log(
            root.blobs, root.settings, caller, job_id, follow=True, stop=stop
        )
    except BaseException:
        gate.leave(caller.user)
        raise
    body = follow_body(gate, caller.user, filter_raw(chunks, minimum), stop)
    return StreamingResponse(body, media_type=NDJSON)


async def _project_error(request: Request, exc: Exception) -> Response:
    code = status_for(exc)
    unauthorized, unexpected = (
        code == HTTPStatus.UNAUTHORIZED,
        code == HTTPStatus.INTERNAL_SERVER_ERROR,
    )
    headers = {"WWW-Authenticate": "AppServiceAuthentication"} if unauthorized else None
    detail = f"internal error: {type(exc).__name__}" if unexpected else str(exc)
    return _error(request, code, " ".join(detail.split()), headers)


async def _bad_parameter(request: Request, exc: Exception) -> Response:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    first = errors[0] if errors else {}
    where = " ".join(str(p) for p in first.get("loc", ()))
    return _error(request, 400, f"{where}: {first.get('msg', 'is invalid')}", None)


def _error(request: Request, code: int, detail: str, headers: dict[str, str] | None) -> Response:
    """JSON for the API, an HTML page for the dashboard's pages (the same for a job the caller
    may not see as for a missing one: only the status and the one-line reason)."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": detail}, status_code=code, headers=headers)
    from dashboard.routes import error_page

    return error_page(request, code, detail, headers)
