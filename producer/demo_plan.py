"""Realistic demo jobs, as pure data: `plan_job(seed, index, now)` is everything one job writes.

Deterministic for a given (seed, index, now). About 8 users over 4 projects (raw names with
capitals, spaces and accents, sanitized by the job ID rules), creation dates relative to `now`
over the last two years (30% in the last week, 25% in the three weeks before, most of the rest in
the last year; running and queued jobs in the last two days), mostly completed
jobs with ~15% failed, GPU and CPU node types, ~10 dependency sets shared between jobs (with
prereleases), JSON Lines logs of 10-200 records with warnings, errors with exceptions and
`metrics` records, small artifacts, and tags (~10% `retain=true`).
"""

from __future__ import annotations

import pickle
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

import orjson

from producer.demo_logs import band, chance, plan_log
from shared.jobid import DependencySet, JobId, compute_run_hash, make_job_id
from shared.metadata import JobStatus

# Finished jobs' ages (days), weighted to the recent past so the README's `created:>=-7d`
# examples find jobs: 30% in the last week, 25% the weeks before, 25% that year, 20% the one before.
_AGE_DAYS = ((0.05, 7), (7, 30), (30, 365), (365, 730))
_AGE_BANDS = (0.3, 0.55, 0.8)

USERS: dict[str, tuple[str, ...]] = {
    "Alice": ("Fraud Detection", "RecSys"),
    "bob": ("Fraud Detection",),
    "Carol Danvers": ("NLP Research", "Vision Lab"),
    "dave": ("RecSys",),
    "Eve O'Neil": ("NLP Research",),
    "Frank": ("Vision Lab", "Fraud Detection"),
    "Grace Hopper": ("NLP Research", "RecSys"),
    "Jürgen Müller": ("Vision Lab",),
}
FUNCTIONS = (
    "train_model",
    "evaluate",
    "preprocess",
    "hyperparam_search",
    "batch_inference",
    "fine_tune",
    "feature_engineering",
)
_DS = DependencySet
DEPENDENCY_SETS: tuple[DependencySet, ...] = (
    _DS(("torch==1.13.1", "numpy==1.24.4", "pandas==1.5.3"), "3.10"),
    _DS(
        (
            "numpy==1.24.0",
            "pandas==2.0.0",
            "scikit-learn==1.3.0",
            "torch==2.0.0",
            "transformers==4.30.0",
        ),
        "3.11",
        use_gpu=True,
    ),
    _DS(
        ("torch==2.1.2", "transformers==4.36.2", "accelerate==0.25.0", "datasets==2.16.1"),
        "3.11",
        use_gpu=True,
    ),
    _DS(
        ("torch==2.2.0", "torchvision==0.17.0", "numpy==1.26.3", "pillow==10.2.0"),
        "3.11",
        ("libgl1", "libglib2.0-0"),
        use_gpu=True,
    ),
    _DS(("scikit-learn==1.4.0", "pandas==2.2.0", "numpy==1.26.4", "xgboost==2.0.3"), "3.11"),
    _DS(("lightgbm==4.3.0", "pandas==2.1.4", "polars==0.20.5"), "3.12"),
    _DS(("torch==2.2.0", "transformers==4.38.0.dev0", "peft==0.8.2"), "3.11", use_gpu=True),
    _DS(("jax[cuda12]==0.4.23", "flax==0.8.0", "optax==0.1.9"), "3.11", use_gpu=True),
    _DS(("numpy==2.0.0rc1", "scipy==1.13.0rc1", "pandas==2.2.1"), "3.12"),
    _DS(("Scikit_Learn==1.3.2", "statsmodels==0.14.1", "numpy==1.26.2"), "3.10"),
    _DS(("torch==2.0.0", "numpy==1.24.0", "pandas==2.0.0"), "3.11"),
)
GPU_NODES = ("gpu_small", "gpu_small", "gpu_medium", "gpu_large")
CPU_NODES = ("cpu_small", "cpu_medium", "cpu_medium", "cpu_large", "memory_large")
STATUS_WEIGHTS = {
    JobStatus.COMPLETED: 68,
    JobStatus.FAILED: 15,
    JobStatus.CANCELLED: 7,
    JobStatus.RUNNING: 6,
    JobStatus.QUEUED: 4,
}
EXPERIMENTS = ("baseline", "lr_sweep", "ablation_dropout", "bigger_batch", "v2_features")
DATASETS = ("v1.0", "v1.1", "v2.0", "v2.1", "v2.1", "v3.0-rc1")


@dataclass(frozen=True)
class JobPlan:
    """Everything one demo job writes, decided up front."""

    user: str
    project: str
    function_name: str
    args_hash: str
    nonce: str
    dependencies: DependencySet
    config: dict[str, Any]
    tags: dict[str, str]
    created_at: datetime
    status: JobStatus
    started_at: datetime | None = None
    ended_at: datetime | None = None
    execution: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    log: tuple[dict[str, Any], ...] = ()
    artifacts: tuple[tuple[str, str, bytes], ...] = ()  # (file name, type, bytes)
    result: bytes | None = None

    @cached_property
    def job(self) -> JobId:
        """The job ID this plan produces (the same one `start_job` computes)."""
        return make_job_id(
            user=self.user,
            project=self.project,
            created_at=self.created_at,
            dependency_hash=self.dependencies.calculate_hash(),
            run_hash=compute_run_hash(self.function_name, self.args_hash, self.nonce),
        )


def plan_job(seed: int, index: int, now: datetime) -> JobPlan:
    """The `index`-th demo job of `seed`, as of `now` (pure and deterministic)."""
    rng = random.Random(f"ascend-demo:{seed}:{index}")
    user = rng.choice(sorted(USERS))
    deps = rng.choice(DEPENDENCY_SETS)
    status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]
    created = _creation_time(rng, status, now)
    node = rng.choice(GPU_NODES if deps.use_gpu else CPU_NODES)
    plan = JobPlan(
        user=user,
        project=rng.choice(USERS[user]),
        function_name=rng.choice(FUNCTIONS),
        args_hash=f"{rng.getrandbits(64):016x}",
        nonce=f"{rng.getrandbits(128):032x}",
        dependencies=deps,
        config=_config(rng, node),
        tags=_tags(rng),
        created_at=created,
        status=status,
    )
    return _with_run(rng, plan, now)


def _creation_time(rng: random.Random, status: JobStatus, now: datetime) -> datetime:
    if status in {JobStatus.QUEUED, JobStatus.RUNNING}:
        age = timedelta(minutes=rng.uniform(1, 48 * 60))
    else:
        low, high = _AGE_DAYS[band(rng.random(), _AGE_BANDS)]
        age = timedelta(days=rng.uniform(low, high))
    return (now - age).replace(microsecond=0)


def _config(rng: random.Random, node: str) -> dict[str, Any]:
    cpu = rng.choice(("2", "4", "8", "16"))
    return {
        "cpu": cpu,
        "memory": f"{int(cpu) * 4}Gi",
        "timeout": rng.choice((1800, 3600, 7200, 14400, 86400)),
        "node_type": node,
    }


def _tags(rng: random.Random) -> dict[str, str]:
    tags = {"experiment": rng.choice(EXPERIMENTS), "dataset_version": rng.choice(DATASETS)}
    if chance(rng, 0.4):
        tags["model_type"] = rng.choice(("random_forest", "xgboost", "bert", "resnet50", "gpt2"))
    if chance(rng, 0.1):
        tags["retain"] = "true"
    return tags


def _with_run(rng: random.Random, plan: JobPlan, now: datetime) -> JobPlan:
    """Add what happened once the job was queued: start, end, log, artifacts, result."""
    cancelled_early = plan.status is JobStatus.CANCELLED and chance(rng, 0.5)
    if plan.status is JobStatus.QUEUED or cancelled_early:
        ended = plan.created_at + timedelta(minutes=rng.uniform(1, 30)) if cancelled_early else None
        return _replace(plan, ended_at=ended)
    started = plan.created_at + timedelta(seconds=rng.uniform(5, 600))
    gpu = plan.dependencies.use_gpu
    seconds = min(rng.lognormvariate(7.2 if gpu else 6.3, 1.0), 20 * 3600)
    ended = None if plan.status is JobStatus.RUNNING else started + timedelta(seconds=seconds)
    log_end = ended or min(now, started + timedelta(seconds=seconds))
    log = plan_log(
        rng,
        plan.job,
        function_name=plan.function_name,
        deps=plan.dependencies,
        node_type=plan.config["node_type"],
        status=plan.status,
        start=started,
        end=max(log_end, started),
    )
    return _replace(
        plan,
        started_at=started,
        ended_at=ended,
        log=log,
        execution=_execution(rng, plan),
        resources=_resources(rng, plan),
        artifacts=_artifacts(rng, plan.status),
        result=_result(rng) if plan.status is JobStatus.COMPLETED else None,
    )


def _execution(rng: random.Random, plan: JobPlan) -> dict[str, Any]:
    job, gpu = plan.job, plan.dependencies.use_gpu
    pool = "gpu" if gpu else "cpu"
    exit_codes = {
        JobStatus.COMPLETED: 0,
        JobStatus.FAILED: rng.choice((1, 1, 137, 2)),
        JobStatus.CANCELLED: 143,
    }
    return {
        "pod_name": f"ascend-{job}-{rng.getrandbits(20):05x}",
        "namespace": f"ascend-users-{job.user}",
        "node_name": f"aks-{pool}-{rng.randint(10000, 99999)}-vmss{rng.randint(0, 9):06d}",
        "exit_code": exit_codes.get(plan.status),
    }


def _resources(rng: random.Random, plan: JobPlan) -> dict[str, Any]:
    gpu = plan.dependencies.use_gpu
    return {
        "cpu_requested": plan.config["cpu"],
        "memory_requested": plan.config["memory"],
        "gpu_requested": "1" if gpu else "0",
        "peak_memory_mb": rng.randint(512, int(plan.config["cpu"]) * 4096),
        "avg_cpu_percent": rng.randint(10, 98),
        **({"avg_gpu_utilization_percent": rng.randint(20, 99)} if gpu else {}),
    }


def _artifacts(rng: random.Random, status: JobStatus) -> tuple[tuple[str, str, bytes], ...]:
    if status is JobStatus.FAILED:
        partial = ("metrics.json", "metrics", orjson.dumps({"partial": True}))
        return (partial,) if chance(rng, 0.3) else ()
    if status is not JobStatus.COMPLETED:
        return ()
    chosen: list[tuple[str, str, bytes]] = []
    if chance(rng, 0.8):
        chosen.append(("model.pkl", "model", rng.randbytes(rng.randint(512, 4096))))
    if chance(rng, 0.5):
        chosen.append(("plot.png", "visualization", b"\x89PNG\r\n\x1a\n" + rng.randbytes(1024)))
    if chance(rng, 0.7):
        metrics = {
            "accuracy": round(rng.uniform(0.6, 0.99), 4),
            "loss": round(rng.uniform(0.01, 1), 4),
        }
        chosen.append(("metrics.json", "metrics", orjson.dumps(metrics)))
    return tuple(chosen)


def _result(rng: random.Random) -> bytes:
    return pickle.dumps({"score": round(rng.uniform(0.5, 0.99), 4), "ok": True})


def _replace(plan: JobPlan, **changes: Any) -> JobPlan:
    return replace(plan, **changes)
