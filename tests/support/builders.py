"""Builders of realistic test data: job IDs, metadata documents, log records, and whole jobs
written into storage through the producer (the way real jobs write them) or from a document as
it is (the indexer's tests, which need exact and invalid documents).

    job = make_job_id(user="bob", created_at=NOW - timedelta(days=40))
    doc = make_metadata(status="failed", tags={"retain": "true"})        # a valid dict
    bad = make_metadata(drop=["dependencies.hash"], user="mallory")      # an invalid one
    job = write_job(blob_store, status="completed", log_lines=30)       # real blobs on Azurite
    job = write_job(blob_store, make_metadata(created_at=EVENTS_CREATED), records=[])
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from producer.demo import write_plan
from producer.demo_logs import plan_log
from producer.demo_plan import JobPlan, plan_job
from producer.jobs import read_metadata, set_status, start_job
from shared.clock import FixedClock
from shared.documents import SearchDocument, as_document, empty_document, format_datetime
from shared.errors import InvalidInput
from shared.jobdocument import build_document
from shared.jobid import DependencySet, JobId, compute_run_hash, parse_job_id
from shared.jobid import make_job_id as _make_job_id
from shared.layout import (
    artifact_path,
    by_date_log_path,
    log_path,
    metadata_path,
    package_path,
    result_path,
)
from shared.logrecords import JobContext, dump_record, make_record
from shared.metadata import JobMetadata, JobStatus, dump_metadata
from shared.ports import BlobStore, SearchIndex
from shared.settings import DEFAULT_NODE_PRICES
from shared.tags import job_blob_tags

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)  # the tests' fixed clock (tests/conftest.py)
CREATED = datetime(2025, 12, 4, 14, 30, 22, tzinfo=UTC)
DEPENDENCIES = DependencySet(
    packages=(
        "numpy==1.24.0",
        "pandas==2.0.0",
        "scikit-learn==1.3.0",
        "torch==2.0.0",
        "transformers==4.30.0",
    ),
    python_version="3.11",
    use_gpu=True,
)
__all__ = [
    "ARTIFACT_BYTES",
    "CREATED",
    "DEPENDENCIES",
    "EVENTS_CREATED",
    "HASH12",
    "NOW",
    "default_log",
    "demo_plan",
    "job_id",
    "lines",
    "log_lines",
    "log_record",
    "make_job_id",
    "make_log_records",
    "make_metadata",
    "metadata_bytes",
    "seed_document",
    "seed_job",
    "write_job",
    "write_log",
    "write_metadata",
    "write_raw_metadata",
]


def make_job_id(
    *,
    user: str = "alice",
    project: str | None = "frauddetect",
    created_at: datetime = CREATED,
    dependencies: DependencySet = DEPENDENCIES,
    dependency_hash: str | None = None,
    run_hash: str | None = None,
) -> JobId:
    """A valid job ID; every part can be chosen, the rest are the design's example."""
    return _make_job_id(
        user=user,
        project=project,
        created_at=created_at,
        dependency_hash=dependency_hash or dependencies.calculate_hash(),
        run_hash=run_hash or compute_run_hash("train_model", f"{user}{created_at}", "builder"),
    )


def make_metadata(
    *,
    job: JobId | None = None,
    user: str | None = None,
    project: str | None = None,
    created_at: datetime | str | None = None,
    updated_at: datetime | str | None = None,
    status: str = "completed",
    dependencies: DependencySet | Mapping[str, Any] = DEPENDENCIES,
    dependency_hash: str | None = None,
    run_hash: str | None = None,
    drop: Iterable[str] = (),
    **overrides: Any,
) -> dict[str, Any]:
    """A metadata.json document as a JSON-ready dict, valid unless asked otherwise.

    Without `job`, `user`, `project`, `created_at` (a datetime or ISO text), `run_hash` and
    `dependency_hash` (12 hex digits, also the document's `dependencies.hash`; by default the
    hash of `dependencies`) choose the job ID. With `job`,
    they override the document's fields instead (to build mismatches). `updated_at` replaces
    the default (five minutes after creation for a finished job). Other overrides are merged in
    (nested dicts key by key: `execution={"exit_code": 1}`; `dependencies` may be a
    `DependencySet` or such a dict); `drop` removes dotted paths (`"execution.end_time"`).
    """
    if not isinstance(dependencies, DependencySet):  # a dict: fields of the document's block
        overrides["dependencies"] = dependencies
        dependencies = DEPENDENCIES
    identity = {"user": user, "project": project, "created_at": created_at}
    chosen = {k: v for k, v in identity.items() if v is not None}
    if job is None:
        job = _job_of(chosen, dependencies, dependency_hash, run_hash)
        chosen = {}
    doc = _base_document(job, status, dependencies)
    if dependency_hash is not None:
        doc["dependencies"]["hash"] = dependency_hash
    for key, value in chosen.items():
        doc[key] = _iso(value) if isinstance(value, datetime) else value
    if updated_at is not None:
        doc["updated_at"] = _iso(updated_at) if isinstance(updated_at, datetime) else updated_at
    _merge(doc, overrides)
    for path in drop:
        _drop(doc, path.split("."))
    return doc


def metadata_bytes(**overrides: Any) -> bytes:
    """`make_metadata(...)` serialized as metadata.json bytes."""
    return orjson.dumps(make_metadata(**overrides))


def make_log_records(
    job: JobId,
    count: int = 20,
    *,
    status: str = "completed",
    seed: int = 0,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[dict[str, Any]]:
    """Realistic log records of `job` (the demo's generator), or exactly `count` INFO lines."""
    begin = start or job.created_at + timedelta(seconds=30)
    finish = end or begin + timedelta(minutes=5)
    if count <= 0:
        return []
    records = list(
        plan_log(
            random.Random(seed),
            job,
            function_name="train_model",
            deps=DEPENDENCIES,
            node_type="gpu_small",
            status=JobStatus(status),
            start=begin,
            end=finish,
        )
    )
    if len(records) >= count:
        return records[:count]
    context = JobContext(job_id=str(job), user=job.user, project=job.project)
    return records + [
        make_record(context, level="INFO", logger="ascend.user", message=f"step {i}", when=finish)
        for i in range(count - len(records))
    ]


def log_lines(job: JobId | JobMetadata, levels: Iterable[str]) -> bytes:
    """The job's log as JSON Lines: one `ascend.runner` record per level, in order, messages
    numbered (`message 0`, `message 1`, ...) a second apart from the job's creation."""
    job_id = job.parsed_job_id if isinstance(job, JobMetadata) else job
    context = JobContext(str(job_id), job_id.user, job_id.project)
    return b"".join(
        dump_record(
            make_record(
                context,
                level=level,
                logger="ascend.runner",
                message=f"message {n}",
                when=job_id.created_at + timedelta(seconds=n),
            )
        )
        for n, level in enumerate(levels)
    )


def demo_plan(index: int = 0, *, seed: int = 0, now: datetime = NOW, **changes: Any) -> JobPlan:
    """The demo generator's `index`-th job, with fields replaced (e.g. `status=...`)."""
    return replace(plan_job(seed, index, now), **changes)


def write_job(
    blobs: BlobStore,
    meta: Mapping[str, Any] | None = None,
    *,
    records: Sequence[Mapping[str, Any]] | None = None,
    status: str = "completed",
    user: str = "alice",
    project: str = "frauddetect",
    created_at: datetime = CREATED,
    log_lines: int | Sequence[Mapping[str, Any]] = 20,
    artifacts: Mapping[str, bytes] | None = None,
    result: bytes | None = b"result",
    tags: Mapping[str, str] | None = None,
    dependencies: DependencySet = DEPENDENCIES,
    seed: int = 0,
) -> JobId:
    """Write one job into storage and return its ID.

    With `meta` (a metadata.json dict, valid or not): its log as an append blob (`records`, by
    default `default_log`'s five) then the document as it is, both tagged, as a finished job
    leaves them. Without: the whole job through the producer (metadata, package, images, log of
    `log_lines`, artifacts, result); statuses queued, running, completed, failed, cancelled
    (cancelled while running).
    """
    if meta is not None:
        return _write_document_job(blobs, dict(meta), records)
    plan = _plan(
        status=JobStatus(status),
        user=user,
        project=project,
        created_at=created_at,
        tags=dict(tags or {"experiment": "baseline"}),
        dependencies=dependencies,
        seed=seed,
    )
    plan = _with_content(plan, log_lines, artifacts, result)
    write_plan(blobs, plan)
    return plan.job


def _write_document_job(
    blobs: BlobStore, meta: dict[str, Any], records: Sequence[Mapping[str, Any]] | None
) -> JobId:
    retain = meta.get("tags", {}).get("retain") == "true"
    log = default_log(meta["job_id"]) if records is None else [dict(r) for r in records]
    write_log(blobs, meta["job_id"], log, retain=retain)
    write_metadata(blobs, meta)
    return parse_job_id(meta["job_id"])


def write_raw_metadata(
    blobs: BlobStore, job: JobId, document: bytes | Mapping[str, Any], *, retain: bool = False
) -> str:
    """Write metadata.json bytes as they are (valid or not), bypassing the producer; its path."""
    data = document if isinstance(document, bytes) else orjson.dumps(dict(document))
    path = metadata_path(job)
    blobs.write(
        path,
        data,
        content_type="application/json",
        tags=job_blob_tags(job, "metadata", retain=retain),
    )
    return path


# ---- the indexer tests' jobs: a document and its log written as they are ---------------------

EVENTS_CREATED = datetime(2026, 3, 10, 9, 30, 0, tzinfo=UTC)  # the indexer tests' jobs
HASH12 = "a3f5d2c8e9b1"


def job_id(
    user: str = "alice",
    project: str = "frauddetect",
    run: str = "7b9e4f1a",
    created: datetime = EVENTS_CREATED,
    hash12: str = HASH12,
) -> str:
    return f"{created:%Y%m%d-%H%M%S}-{user}-{project}-{hash12[:8]}-{run}"


def log_record(
    jid: str, level: str = "INFO", message: str = "step", metrics: dict[str, Any] | None = None
) -> dict[str, Any]:
    job = parse_job_id(jid)
    record: dict[str, Any] = {
        "timestamp": "2026-03-10T09:30:30.000000Z",
        "level": level,
        "logger": "ascend.runner",
        "job_id": jid,
        "user": job.user,
        "project": job.project,
        "message": message,
    }
    if metrics:
        record["metrics"] = metrics
    return record


def default_log(jid: str) -> list[dict[str, Any]]:
    """Five records: two errors (the last says 'CUDA out of memory') and two metric updates."""
    return [
        log_record(jid, "INFO", "Job started"),
        log_record(jid, "INFO", "epoch 1", metrics={"loss": 0.9, "gpu_util": 80}),
        log_record(jid, "ERROR", "Failed to upload artifact, retrying"),
        log_record(jid, "INFO", "epoch 2", metrics={"loss": 0.4}),
        log_record(jid, "CRITICAL", "CUDA out of memory"),
    ]


def lines(records: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def write_metadata(blobs: BlobStore, meta: dict[str, Any] | bytes, jid: str | None = None) -> str:
    """Write metadata.json (dict or raw bytes) with the job's tags; returns the blob name."""
    job = parse_job_id(jid or (meta["job_id"] if isinstance(meta, dict) else ""))
    retain = isinstance(meta, dict) and meta.get("tags", {}).get("retain") == "true"
    return write_raw_metadata(blobs, job, meta, retain=retain)


def write_log(
    blobs: BlobStore, jid: str, records: list[dict[str, Any]], *, retain: bool = False
) -> str:
    """The job's log as an append blob (as a running job streams it)."""
    job = parse_job_id(jid)
    name = log_path(job)
    blobs.create_append(
        name,
        tags=job_blob_tags(job, "log", retain=retain),
        content_type="application/x-ndjson",
        create_only=False,
    )
    if records:
        blobs.append(name, lines(records))
    return name


# ---- seeded jobs: a job in storage and its document in the index, in one call ----------------

SEEDED = NOW - timedelta(hours=6)
SEED_DEPENDENCIES = DependencySet(("torch==2.0.0", "numpy==1.24.0"), "3.11", use_gpu=True)
SEED_ARTIFACTS = (("model.pkl", "model"), ("plot.png", "plot"))
ARTIFACT_BYTES = b"x" * 64
ARTIFACT_SHA256 = hashlib.sha256(ARTIFACT_BYTES).hexdigest()
_runs = itertools.count(1)


def seed_job(
    blobs: BlobStore,
    index: SearchIndex | None,
    created_at: datetime = SEEDED,
    *,
    user: str = "alice",
    project: str = "frauddetect",
    status: str = "completed",
    function_name: str = "train_model",
    levels: Sequence[str] = (),
    every_blob: bool = False,
    retain: bool = False,
    artifacts: Iterable[tuple[str, str]] = SEED_ARTIFACTS,
    tagged: bool = True,
) -> JobMetadata:
    """Write one job created at `created_at` and, unless `index` is None, index its document.

    By default the producer writes it (metadata moved to `status`, a log of one record per
    level if `levels`) and the document indexed is the one the indexer builds from it. With
    `every_blob=True` (the lifecycle's tests, which count actions per blob): a finished job's
    every blob written directly (metadata, package, result, `artifacts` as (name, type), the
    log of `levels` and the indexer's by-date copy of it), each tagged (`retain` in the tags)
    unless `tagged=False` (another writer's job, not yet tagged by the indexer), and the
    hand-made `seed_document` indexed.
    """
    if every_blob:
        meta = _write_every_blob(
            blobs,
            created_at=created_at,
            user=user,
            project=project,
            function_name=function_name,
            levels=levels,
            retain=retain,
            artifacts=list(artifacts),
            tagged=tagged,
        )
        if index is not None:
            names = [artifact.name for artifact in meta.artifacts]
            index.upsert([seed_document(meta.parsed_job_id, retain=retain, artifacts=names)])
        return meta
    meta = _write_through_producer(
        blobs,
        when=created_at,
        user=user,
        project=project,
        status=status,
        function_name=function_name,
        levels=levels,
    )
    if index is not None:
        current, etag = read_metadata(blobs, meta.job_id)
        index.upsert([build_document(current, prices=DEFAULT_NODE_PRICES, source_version=etag)])
    return meta


def seed_document(job: JobId, *, retain: bool, artifacts: list[str]) -> SearchDocument:
    """The hand-made document of an `every_blob` job (the fields the lifecycle reads, a few
    more)."""
    doc: dict[str, Any] = dict(empty_document(str(job)))
    created = format_datetime(job.created_at)
    doc.update(
        created_at=created,
        updated_at=created,
        status="completed",
        user=job.user,
        project=job.project,
        function_name="train_model",
        dep_hash=job.dep_hash,
        image_hash=HASH12,
        retain=retain,
        artifact_names=artifacts,
        source_version="1",
    )
    return as_document(doc)


def _write_through_producer(
    blobs: BlobStore,
    *,
    when: datetime,
    user: str,
    project: str,
    status: str,
    function_name: str,
    levels: Sequence[str],
) -> JobMetadata:
    meta = start_job(
        blobs,
        user=user,
        project=project,
        function_name=function_name,
        args_hash=f"{next(_runs):032x}",
        dependencies=SEED_DEPENDENCIES,
        config={"node_type": "gpu_small", "cpu": "4"},
        tags={"experiment": "base"},
        clock=FixedClock(when),
    )
    job = meta.parsed_job_id
    if status != "queued":
        meta = set_status(blobs, job, "running", FixedClock(when + timedelta(seconds=5)))
    if status not in {"queued", "running"}:
        meta = set_status(blobs, job, status, FixedClock(when + timedelta(minutes=5)), exit_code=0)
    if levels:
        blobs.create_append(log_path(job), content_type="application/x-ndjson")
        blobs.append(log_path(job), log_lines(meta, levels))
    return meta


def _write_every_blob(
    blobs: BlobStore,
    *,
    created_at: datetime,
    user: str,
    project: str,
    function_name: str,
    levels: Sequence[str],
    retain: bool,
    artifacts: list[tuple[str, str]],
    tagged: bool,
) -> JobMetadata:
    job = _make_job_id(
        user=user,
        project=project,
        dependency_hash=HASH12,
        run_hash=f"{next(_runs):08x}",
        created_at=created_at,
    )
    meta = JobMetadata.model_validate(
        {
            "job_id": str(job),
            "created_at": created_at,
            "updated_at": created_at,
            "status": "completed",
            "user": user,
            "project": project,
            "function_name": function_name,
            "dependencies": {
                "hash": HASH12,
                "python_version": "3.11",
                "packages": ["torch==2.0.0"],
            },
            "artifacts": [
                {"name": n, "type": t, "size_bytes": 64, "sha256": ARTIFACT_SHA256}
                for n, t in artifacts
            ],
            "tags": {"retain": "true"} if retain else {"experiment": "baseline"},
        }
    )

    def tags(kind: str) -> dict[str, str] | None:
        return job_blob_tags(job, kind, retain=retain) if tagged else None

    blobs.write(
        metadata_path(job),
        dump_metadata(meta),
        tags=tags("metadata"),
        content_type="application/json",
    )
    blobs.write(package_path(job), b"package-bytes", tags=tags("package"))
    blobs.write(result_path(job), b"result-bytes", tags=tags("result"))
    for name, _ in artifacts:
        blobs.write(artifact_path(job, name), ARTIFACT_BYTES, tags=tags("artifact"))
    blobs.create_append(log_path(job), tags=tags("log"), content_type="application/x-ndjson")
    blobs.append(log_path(job), log_lines(job, levels))
    blobs.write(by_date_log_path(job), log_lines(job, levels), tags=tags("by_date_log"))
    return meta


# ---- internals -----------------------------------------------------------------------------


def _job_of(
    chosen: Mapping[str, Any],
    dependencies: DependencySet,
    dependency_hash: str | None,
    run_hash: str | None,
) -> JobId:
    """The job ID of a document built without one (`created_at` may be ISO text)."""
    created = chosen.get("created_at", CREATED)
    return make_job_id(
        user=chosen.get("user", "alice"),
        project=chosen.get("project", "frauddetect"),
        created_at=datetime.fromisoformat(created) if isinstance(created, str) else created,
        dependencies=dependencies,
        dependency_hash=dependency_hash,
        run_hash=run_hash,
    )


def _base_document(job: JobId, status: str, deps: DependencySet) -> dict[str, Any]:
    created = job.created_at
    start, end = created + timedelta(seconds=24), created + timedelta(seconds=300)
    final = status in {"completed", "failed", "cancelled"}
    doc: dict[str, Any] = {
        "job_id": str(job),
        "created_at": _iso(created),
        "updated_at": _iso(end if final else created + timedelta(seconds=30)),
        "status": status,
        "user": job.user,
        "project": job.project,
        "function_name": "train_model",
        "config": {"cpu": "4", "memory": "8Gi", "timeout": 3600, "node_type": "gpu_small"},
        "dependencies": {
            "hash": deps.calculate_hash(),
            "python_version": deps.python_version,
            "packages": list(deps.packages),
            "system_packages": list(deps.system_packages),
            "use_gpu": deps.use_gpu,
        },
        "execution": {
            "pod_name": f"ascend-{job}-xyz",
            "namespace": f"ascend-users-{job.user}",
            "node_name": "aks-gpu-12345-vmss000001",
        },
        "resources": {"cpu_requested": "4", "memory_requested": "8Gi", "gpu_requested": "1"},
        "artifacts": [],
        "tags": {"experiment": "baseline", "dataset_version": "v2.1"},
    }
    if status != "queued":
        doc["execution"]["start_time"] = _iso(start)
    if final:
        doc["execution"].update(
            end_time=_iso(end), duration_seconds=276.0, exit_code=0 if status == "completed" else 1
        )
    return doc


def _plan(
    *,
    status: JobStatus,
    user: str,
    project: str,
    created_at: datetime,
    tags: dict[str, str],
    dependencies: DependencySet,
    seed: int,
) -> JobPlan:
    rng = random.Random(f"builder:{seed}:{user}:{created_at}")
    base = JobPlan(
        user=user,
        project=project,
        function_name="train_model",
        args_hash=f"{rng.getrandbits(64):016x}",
        nonce=f"{rng.getrandbits(64):016x}",
        dependencies=dependencies,
        tags=tags,
        created_at=created_at,
        status=status,
        config={
            "cpu": "4",
            "memory": "8Gi",
            "timeout": 3600,
            "node_type": "gpu_small" if dependencies.use_gpu else "cpu_small",
        },
    )
    if status is JobStatus.QUEUED:
        return base
    start = created_at + timedelta(seconds=24)
    end = None if status is JobStatus.RUNNING else start + timedelta(seconds=276)
    exit_code = {JobStatus.COMPLETED: 0, JobStatus.FAILED: 1, JobStatus.CANCELLED: 143}
    return replace(
        base,
        started_at=start,
        ended_at=end,
        execution={
            "pod_name": "ascend-pod",
            "namespace": f"ascend-users-{user}",
            "exit_code": exit_code.get(status),
        },
        resources={"cpu_requested": "4", "peak_memory_mb": 2048},
    )


def _with_content(
    plan: JobPlan,
    log_lines: int | Sequence[Mapping[str, Any]],
    artifacts: Mapping[str, bytes] | None,
    result: bytes | None,
) -> JobPlan:
    if plan.started_at is None:
        return plan
    if isinstance(log_lines, int):
        log = make_log_records(
            plan.job, log_lines, status=plan.status.value, start=plan.started_at, end=plan.ended_at
        )
    else:
        log = [dict(r) for r in log_lines]
    final = plan.ended_at is not None
    chosen = artifacts if artifacts is not None else {"model.pkl": b"\x80model"}
    return replace(
        plan,
        log=tuple(log),
        artifacts=tuple((n, n.split(".")[0], d) for n, d in chosen.items()) if final else (),
        result=result if plan.status is JobStatus.COMPLETED else None,
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _merge(target: dict[str, Any], changes: Mapping[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _drop(target: dict[str, Any], path: list[str]) -> None:
    head, *rest = path
    if head not in target:
        raise InvalidInput(f"drop path {'.'.join(path)!r}", "is not in the document")
    if rest:
        _drop(target[head], rest)
    else:
        del target[head]
