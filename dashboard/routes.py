"""The dashboard's routes: pages, log fragments and stream, metrics data, downloads.

Each route resolves the caller exactly as the API does (`web.caller.Caller`) and reads through the
scoped use cases of `query.jobs`, so a job the caller may not see is the same 404 as a missing
one, on every page, fragment, download and stream. Nothing here changes state.
"""

from __future__ import annotations

import hashlib
import threading
import time
from base64 import b64encode
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from dashboard import metrics as charts
from dashboard import views
from dashboard.assets import STATIC
from dashboard.logview import (
    PAGE_BUDGET,
    PAGE_LINES,
    LogFilter,
    LogPage,
    log_chunks,
    log_size,
    scan,
)
from query import jobs as use_cases
from query.parser import QueryError
from shared.clock import Clock
from shared.errors import BlobArchived, BlobNotFound, InvalidInput, JobNotFound, StorageError
from shared.jobid import JobId
from shared.layout import artifact_path
from shared.ports import BlobStore, SearchIndex
from shared.principal import Principal
from shared.services import Services
from shared.settings import Settings
from web.caller import Caller
from web.follow import FollowGate, follow_body

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters.update(duration=views.duration, money=views.money, size=views.size)
TEMPLATES.env.globals.update(
    query_url=views.query_url, narrowed=views.narrowed, sorted_by=views.sorted_by
)
MAX_COMPARE = 10
FACET_VALUES = 12
TAIL_SECONDS = 600
ServicesFactory = Callable[[], Services]


class LogQuery(BaseModel):
    """Where a log page starts and what it shows."""

    model_config = ConfigDict(extra="ignore")

    offset: int = Field(0, ge=0, description="byte offset where the page starts")
    line: int = Field(0, ge=0, description="lines before `offset`, for numbering")
    level: str | None = Field(None, max_length=20, description="minimum level")
    text: str = Field("", max_length=500, description="text the lines contain")
    limit: int = Field(PAGE_LINES, ge=1, le=2000)

    @property
    def where(self) -> tuple[int, int]:
        return self.offset, self.line


def mount(app: FastAPI, services: ServicesFactory) -> None:
    """Add the dashboard's routes and static files to `app`."""
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    _pages(app, services)
    _log_routes(app, services)
    _data_routes(app, services)
    from dashboard.admin import mount_admin
    from dashboard.reports import mount_reports

    mount_admin(app, services)
    mount_reports(app, services)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A template with the page's common context."""
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


TITLES = {
    400: "Bad request",
    401: "Sign in",
    403: "Forbidden",
    404: "Not found",
    409: "Not available",
    429: "Too many streams",
    502: "Storage error",
    503: "Unavailable",
}


def error_page(
    request: Request, code: int, detail: str, headers: dict[str, str] | None
) -> HTMLResponse:
    """The dashboard's error page: status, title and the one-line reason, nothing else."""
    response = render(
        request,
        "error.html",
        code,
        caller=None,
        code=code,
        title=TITLES.get(code, "Error"),
        detail=detail,
    )
    response.headers.update(headers or {})
    return response


# ---- pages ---------------------------------------------------------------------------------


def _pages(app: FastAPI, services: ServicesFactory) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def jobs_page(
        request: Request,
        caller: Caller,
        q: Annotated[str, Query(max_length=4000)] = "",
        cursor: Annotated[str | None, Query(max_length=4000)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> HTMLResponse:
        built = services()
        error: QueryError | InvalidInput | None = None
        listing = None
        try:
            listing = use_cases.search_jobs(
                built.index, built.clock, caller, q, limit=limit, cursor=cursor
            )
        except InvalidInput as exc:
            error = exc
        return render(
            request,
            "jobs.html",
            caller=caller,
            q=q,
            error=error,
            limit=limit,
            column=getattr(error, "position", None),
            rows=[_row(d, built.clock.now()) for d in (listing.documents if listing else [])],
            next_cursor=listing.next_cursor if listing else None,
            cursor=cursor,
        )

    @app.get("/facets", response_class=HTMLResponse, include_in_schema=False)
    def facets_fragment(
        request: Request, caller: Caller, q: Annotated[str, Query(max_length=4000)] = ""
    ) -> HTMLResponse:
        """The facet counts of the jobs page, fetched once the table has painted: counting
        every match of a broad query takes longer than one page of it."""
        return render(
            request,
            "facets.html",
            q=q,
            facets=facet_counts(services().index, services().clock, caller, q),
        )

    @app.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    def job_page(
        request: Request, job_id: str, caller: Caller, at: Annotated[LogQuery, Query()]
    ) -> HTMLResponse:
        built = services()
        details = use_cases.job_details(built.blobs, built.index, built.settings, caller, job_id)
        job = use_cases.visible_job(caller, job_id)
        wanted = LogFilter.of(at.level, at.text)
        page, problem = _first_page(built.blobs, job, at.where, wanted)
        document = details.document or {}
        metadata = details.metadata or {}
        return render(
            request,
            "job.html",
            caller=caller,
            job_id=details.job_id,
            details=details,
            document=document,
            metadata=metadata,
            panels=views.panels(metadata),
            artifacts=metadata.get("artifacts", []),
            status=metadata.get("status") or document.get("status"),
            image=_image(metadata, document, job),
            page=page,
            log_problem=problem,
            log_size=_size(built.blobs, job),
            wanted=wanted,
            offset=at.offset,
            final=use_cases.status_reader(built.blobs, built.settings, job)(),
            polling="azure_functions.invocation_id" in request.scope,
        )

    @app.get("/compare", response_class=HTMLResponse, include_in_schema=False)
    def compare_page(
        request: Request, caller: Caller, jobs: Annotated[str, Query(max_length=2000)] = ""
    ) -> HTMLResponse:
        built = services()
        ids = _compare_ids(jobs)
        found = [
            use_cases.job_details(built.blobs, built.index, built.settings, caller, job_id)
            for job_id in ids
        ]
        records = {d.job_id: _records(built.blobs, built.settings, caller, d.job_id) for d in found}
        lasts = [_last_values(records[d.job_id]) for d in found]
        return render(
            request,
            "compare.html",
            caller=caller,
            jobs=found,
            config=views.differences([views.flatten(d.metadata, ("config",)) for d in found]),
            dependencies=views.differences(
                [views.flatten(d.metadata, ("dependencies",)) for d in found]
            ),
            last=views.differences(lasts),
            data=_script_json(charts.compare(records)),
        )


def _compare_ids(text: str) -> list[str]:
    ids = list(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if not 1 <= len(ids) <= MAX_COMPARE:
        raise InvalidInput(
            f"jobs {text!r}", f"must name 1 to {MAX_COMPARE} job IDs, separated by commas"
        )
    return ids


def _row(document: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    created = views.parse_time(document.get("created_at"))
    return {**document, "created_relative": views.relative(created, now)}


def _image(metadata: dict[str, Any], document: Mapping[str, Any], job: JobId) -> str | None:
    deps = metadata.get("dependencies") or {}
    digest = deps.get("hash") or document.get("image_hash")
    return f"{job.user}-{digest}" if digest else None


def _size(blobs: BlobStore, job: JobId) -> int | None:
    try:
        return log_size(blobs, job)
    except StorageError:
        return None


def _first_page(
    blobs: BlobStore, job: JobId, where: tuple[int, int], wanted: LogFilter
) -> tuple[LogPage | None, str | None]:
    try:
        return _read_page(blobs, job, where, wanted, PAGE_LINES), None
    except (BlobNotFound, BlobArchived) as exc:
        return None, str(exc)


def _read_page(
    blobs: BlobStore, job: JobId, where: tuple[int, int], wanted: LogFilter, limit: int
) -> LogPage:
    offset, line = where
    chunks = log_chunks(blobs, job, offset, PAGE_BUDGET + (1 << 20))
    try:
        return scan(chunks, offset=offset, line=line, wanted=wanted, limit=limit)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def facet_counts(
    index: SearchIndex, clock: Clock, caller: Principal, text: str
) -> dict[str, dict[str, int]]:
    """Jobs per value of the facet fields (most first) over what the query matches for
    `caller`: the same scope as the table, through the index port's facets."""
    from query.service import facets

    counted = facets(index, caller, text, list(views.FACET_FIELDS), clock=clock, limit=FACET_VALUES)
    return {
        field: {v: n for v, n in values.items() if v not in ("", "null", "None")}
        for field, values in counted.items()
    }


# ---- the log -------------------------------------------------------------------------------


def _log_routes(app: FastAPI, services: ServicesFactory) -> None:
    @app.get("/jobs/{job_id}/log", response_class=HTMLResponse, include_in_schema=False)
    def log_fragment(
        request: Request, job_id: str, caller: Caller, at: Annotated[LogQuery, Query()]
    ) -> HTMLResponse:
        job = use_cases.visible_job(caller, job_id)
        page = _read_page(
            services().blobs, job, at.where, LogFilter.of(at.level, at.text), at.limit
        )
        response = render(request, "log_lines.html", page=page)
        response.headers.update(_page_headers(page))
        return response

    @app.get("/jobs/{job_id}/log/stream", include_in_schema=False)
    def log_stream(
        request: Request,
        job_id: str,
        caller: Caller,
        at: Annotated[LogQuery, Query()],
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        if "azure_functions.invocation_id" in request.scope:
            raise InvalidInput(
                "log stream",
                "the Functions host buffers whole responses; "
                "poll /jobs/{job_id}/log?offset=... instead",
            )
        job = use_cases.visible_job(caller, job_id)
        built = services()
        use_cases.job_details(
            built.blobs, built.index, built.settings, caller, job_id
        )  # a missing job is a 404 before streaming
        # The same gate as the API's follow: bounded per caller and in all (429 over it), each
        # poll on the gate's threads, and a client that leaves ends the tail within one poll.
        gate: FollowGate = request.app.state.follow_gate
        gate.enter(caller.user)
        stop = threading.Event()
        events = _tail(
            built.blobs, built.settings, job, _resume(last_event_id, at.where), stop=stop
        )
        return StreamingResponse(
            follow_body(gate, caller.user, events, stop),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store"},
        )


def _page_headers(page: LogPage) -> dict[str, str]:
    return {
        "X-Next-Offset": str(page.next_offset),
        "X-Next-Line": str(page.next_line),
        "X-Log-End": "1" if page.end else "0",
    }


def _resume(last_event_id: str | None, where: tuple[int, int]) -> tuple[int, int]:
    match (last_event_id or "").split(":"):
        case [start, end] if start.isdigit() and end.isdigit():
            return int(start), int(end)
    return where


def _tail(
    blobs: BlobStore,
    settings: Settings,
    job: JobId,
    where: tuple[int, int],
    *,
    poll_seconds: float = 1.0,
    stop: threading.Event | None = None,
) -> Iterator[bytes]:
    """Server-sent events: rendered lines as the log grows, `end` once the job is final; ends
    within one poll once `stop` is set (the client left)."""
    stop = stop or threading.Event()
    is_final = use_cases.status_reader(blobs, settings, job)
    deadline = time.monotonic() + TAIL_SECONDS
    everything = LogFilter()
    offset, line = where
    while time.monotonic() < deadline and not stop.is_set():
        final = is_final()
        page = _read_page(blobs, job, (offset, line), everything, 2000)
        if page.lines:
            html = TEMPLATES.get_template("log_lines.html").render(page=page)
            data = "".join(f"data: {part}\n" for part in html.splitlines() or [""])
            yield f"id: {page.next_offset}:{page.next_line}\nevent: lines\n{data}\n".encode()
        offset, line = page.next_offset, page.next_line
        if final and page.end:
            yield b"event: end\ndata: final\n\n"
            return
        if page.end:
            yield b": waiting\n\n"
            stop.wait(poll_seconds)


# ---- metrics and artifacts -------------------------------------------------------------------


def _records(
    blobs: BlobStore, settings: Settings, caller: Principal, job_id: str
) -> list[dict[str, Any]]:
    try:
        return list(charts.metrics_records(use_cases.job_log(blobs, settings, caller, job_id)))
    except (BlobNotFound, BlobArchived):
        return []


def _last_values(records: list[dict[str, Any]]) -> dict[str, Any]:
    last: dict[str, Any] = {}
    for record in records:
        last.update(record["metrics"])
    return last


def _data_routes(app: FastAPI, services: ServicesFactory) -> None:
    @app.get("/jobs/{job_id}/metrics.json", include_in_schema=False)
    def metrics_json(
        job_id: str, caller: Caller, x: Annotated[str | None, Query(max_length=200)] = None
    ) -> Response:
        records = _records(services().blobs, services().settings, caller, job_id)
        return Response(orjson.dumps(charts.payload(records, x)), media_type="application/json")

    @app.get("/jobs/{job_id}/metrics.csv", include_in_schema=False)
    def metrics_csv(job_id: str, caller: Caller) -> Response:
        records = _records(services().blobs, services().settings, caller, job_id)
        return Response(
            charts.csv_text(records),
            media_type="text/csv",
            headers=_attachment(f"{job_id}.metrics.csv"),
        )

    @app.get("/jobs/{job_id}/metrics.jsonl", include_in_schema=False)
    def metrics_jsonl(job_id: str, caller: Caller) -> Response:
        records = _records(services().blobs, services().settings, caller, job_id)
        body = b"".join(orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in records)
        return Response(
            body, media_type="application/x-ndjson", headers=_attachment(f"{job_id}.metrics.jsonl")
        )

    @app.get("/jobs/{job_id}/artifacts/{name}", include_in_schema=False)
    def artifact(job_id: str, name: str, caller: Caller) -> StreamingResponse:
        built = services()
        details = use_cases.job_details(built.blobs, built.index, built.settings, caller, job_id)
        listed = {a.get("name"): a for a in (details.metadata or {}).get("artifacts", [])}
        if name not in listed:
            raise JobNotFound(f"{job_id}/artifacts/{name}")
        path = artifact_path(use_cases.visible_job(caller, job_id), name)
        props = built.blobs.props(path)
        if props is None:
            raise BlobNotFound(f"artifact {name!r} of job {job_id}", "does not exist")
        expected = listed[name].get("sha256")
        headers = _attachment(name) | {"Content-Length": str(props.size)}
        if expected:
            headers["Repr-Digest"] = f"sha-256=:{b64encode(bytes.fromhex(expected)).decode()}:"
        return StreamingResponse(
            _verified(built.blobs.read_chunks(path), expected, path),
            media_type="application/octet-stream",
            headers=headers,
        )


def _verified(chunks: Iterator[bytes], sha256: str | None, name: str) -> Iterator[bytes]:
    """The chunks as they come; a checksum mismatch at the end breaks the response off, so the
    browser reports a failed download rather than keeping wrong bytes."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if sha256 and digest.hexdigest() != sha256:
        raise StorageError(name, "does not match the sha256 of metadata.json")


def _attachment(name: str) -> dict[str, str]:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return {"Content-Disposition": f'attachment; filename="{safe}"'}


def _script_json(value: Any) -> str:
    """JSON safe inside a `<script>` element (no `</script>` from a metric name)."""
    return orjson.dumps(value).decode().replace("<", "\\u003c").replace("&", "\\u0026")
