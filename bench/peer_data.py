"""The synthetic jobs both sides of `bench.peer` load, and the questions both answer.

Standard library only: the MLflow side (`bench.peer_mlflow`) imports this module from its own
virtual environment, so both sides generate the very same jobs from the same seed.

Each job is a valid `metadata.json` document. Its shape (180 days of jobs from 200 users, each
with four dependency sets drawing torch from eight versions, 15% failed) gives the sizes of the
questions: at 100,000 jobs about 580 failed ones in the last week, ~125 per dependency hash,
~12,500 per torch version.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC)
DAYS = 180
USERS = 200
SEED = 17
STATUSES = (
    ("completed",) * 70 + ("failed",) * 15 + ("cancelled",) * 5 + ("running",) * 7 + ("queued",) * 3
)
TORCH = ("1.13.1", "2.0.0", "2.0.1", "2.1.0", "2.1.2", "2.2.0", "2.3.0", "2.4.1")
OTHERS = (
    "numpy==1.24.0",
    "numpy==1.26.4",
    "pandas==2.0.0",
    "pandas==2.2.1",
    "scikit-learn==1.3.0",
    "transformers==4.30.0",
    "transformers==4.38.2",
    "scipy==1.11.4",
)
NODES = ("cpu_small", "cpu_medium", "gpu_small", "gpu_medium")
FUNCTIONS = ("train_model", "evaluate", "preprocess", "predict")
# MLflow run status of each job status.
MLFLOW_STATUS = {
    "queued": "SCHEDULED",
    "running": "RUNNING",
    "completed": "FINISHED",
    "failed": "FAILED",
    "cancelled": "KILLED",
}


@dataclass(frozen=True, slots=True)
class Question:
    """One question, as our query text and as MLflow `search_runs` filter(s) (several filters
    are searched one by one and their runs unioned), with the number of results to fetch
    (None: all of them)."""

    name: str
    ours: str
    mlflow_filters: tuple[str, ...]
    limit: int | None = None


def images(rng: random.Random) -> dict[int, list[tuple[str, list[str]]]]:
    """Each user's four dependency sets: (12-hex hash, requirement texts)."""
    found = {}
    for user in range(USERS):
        sets = []
        for k in range(4):
            packages = [f"torch=={rng.choice(TORCH)}", *rng.sample(OTHERS, 3)]
            digest = hashlib.sha256(f"{user}/{k}/{packages}".encode()).hexdigest()[:12]
            sets.append((digest, packages))
        found[user] = sets
    return found


def jobs(count: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """`count` metadata.json documents, oldest first (as jobs arrive), deterministic."""
    rng = random.Random(seed)
    sets = images(rng)
    ages = sorted((rng.randrange(DAYS * 86400) for _ in range(count)), reverse=True)
    for n, age in enumerate(ages):
        user = rng.randrange(USERS)
        yield _job(rng, n, user, rng.choice(sets[user]), NOW - timedelta(seconds=age))


def _job(
    rng: random.Random,
    n: int,
    user_number: int,
    dependencies: tuple[str, list[str]],
    created: datetime,
) -> dict[str, Any]:
    user, project = f"user{user_number:03d}", f"proj{user_number % 20:02d}"
    image, packages = dependencies
    status = rng.choice(STATUSES)
    node = rng.choice(NODES)
    start = created + timedelta(seconds=5)
    duration = round(rng.expovariate(1 / 1800), 3)
    final = status in {"completed", "failed", "cancelled"}
    end = start + timedelta(seconds=duration)
    execution: dict[str, Any] = {}
    if status != "queued":
        execution["start_time"] = _text(start)
    if final:
        execution.update(
            end_time=_text(end), duration_seconds=duration, exit_code=1 if status == "failed" else 0
        )
    tags = {"experiment": f"exp{rng.randrange(50)}"}
    if n % 97 == 0:
        tags["retain"] = "true"
    return {
        "job_id": f"{created:%Y%m%d-%H%M%S}-{user}-{project}-{image[:8]}-{n:08x}",
        "created_at": _text(created),
        "updated_at": _text(end if final else start),
        "status": status,
        "user": user,
        "project": project,
        "function_name": rng.choice(FUNCTIONS),
        "config": {"node_type": node},
        "dependencies": {
            "hash": image,
            "python_version": "3.11",
            "packages": packages,
            "use_gpu": node.startswith("gpu"),
        },
        "execution": execution,
        "artifacts": [{"name": f"model-{n}.pkl", "type": "model", "size_bytes": 4096 + n % 977}],
        "tags": tags,
    }


def _text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def questions(count: int, seed: int = SEED) -> list[Question]:
    """The issue's five questions on the jobs of `jobs(count, seed)`: the dependency hash is the
    one used by most of them."""
    week_ago_ms = int((NOW - timedelta(days=7)).timestamp() * 1000)
    dep = busiest_dep_hash(count, seed)
    in_range = [v for v in TORCH if _key("2.0.0") <= _key(v) < _key("2.2")]
    return [
        Question(
            "failed in the last 7 days",
            "status:failed created:>=-7d",
            (f"attributes.status = 'FAILED' AND attributes.start_time >= {week_ago_ms}",),
        ),
        Question("one dependency hash", f"dep:{dep}", (f"tags.dep_hash = '{dep}'",)),
        Question("torch==2.0.0", 'package:"torch==2.0.0"', ("params.torch = '2.0.0'",)),
        Question(
            "torch>=2.0.0,<2.2 (MLflow: one search per version)",
            'package:"torch>=2.0.0,<2.2"',
            tuple(f"params.torch = '{v}'" for v in in_range),
        ),
        Question("newest 20, no filter", "", ("",), limit=20),
    ]


def busiest_dep_hash(count: int, seed: int = SEED) -> str:
    """The dependency hash (8 hex) most jobs share."""
    counts: dict[str, int] = {}
    for job in jobs(count, seed):
        dep = job["dependencies"]["hash"][:8]
        counts[dep] = counts.get(dep, 0) + 1
    return max(sorted(counts), key=counts.__getitem__)


def _key(version: str) -> tuple[int, ...]:
    """Release numbers of a plain `X.Y[.Z]` version (the only kind TORCH holds)."""
    return tuple(int(part) for part in version.split("."))
