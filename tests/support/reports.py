"""Seeded jobs for the reports' tests: metadata with known failures, costs, sizes and tiers,
indexed through the indexer's own document builder, kept alongside so that a test can compute
each report's numbers independently from the metadata."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from indexer.document import LogFacts, build_document
from indexer.logstats import summarize
from producer.demo_logs import _crash
from shared.documents import SearchDocument
from shared.jobid import parse_job_id
from shared.metadata import parse_metadata
from shared.settings import DEFAULT_NODE_PRICES
from tests.support.builders import NOW, log_record, make_metadata

USERS = {"alice": ("fraud", "vision"), "bob": ("fraud",), "carol": ("nlp", "vision")}
NODES = {"gpu_small": True, "gpu_medium": True, "cpu_small": False, "cpu_medium": False}
IMAGES = ("a3f5d2c8e9b1", "0badc0ffee12", "77e1d2c3b4a5")
PACKAGES = {
    "a3f5d2c8e9b1": ["numpy==1.24.0", "torch==2.0.0"],
    "0badc0ffee12": ["numpy==1.24.0", "pandas==2.0.0"],
    "77e1d2c3b4a5": ["jax==0.4.23"],
}
STATUSES = ("completed",) * 6 + ("failed",) * 3 + ("cancelled", "running")
TIERS = ("Hot", "Cool", "Archive")


@dataclass(frozen=True)
class SeededJob:
    """A job's metadata, what its log said, and the document the indexer made of it."""

    meta: dict[str, Any]
    crash: str | None  # the exception type of a failed job
    tier: str
    log_bytes: int
    document: SearchDocument

    @property
    def duration(self) -> float:
        return float(self.meta["execution"].get("duration_seconds") or 0.0)

    @property
    def gpu(self) -> bool:
        return bool(self.meta["dependencies"]["use_gpu"])

    @property
    def cost(self) -> float:
        return self.duration / 3600 * DEFAULT_NODE_PRICES[self.meta["config"]["node_type"]]

    @property
    def image(self) -> str:
        return f"{self.meta['user']}-{self.meta['dependencies']['hash']}"

    @property
    def artifact_bytes(self) -> int:
        return sum(a["size_bytes"] for a in self.meta["artifacts"])


def seeded_jobs(count: int, seed: int = 1) -> list[SeededJob]:
    """`count` jobs over the 60 days before the tests' NOW, ~27% failed with one of the demo's
    five realistic crashes (each with its own varying parts)."""
    rng = random.Random(seed)
    return [_job(rng, n) for n in range(count)]


def _job(rng: random.Random, n: int) -> SeededJob:
    user = rng.choice(sorted(USERS))
    project, node, image = rng.choice(USERS[user]), rng.choice(sorted(NODES)), rng.choice(IMAGES)
    status = rng.choice(STATUSES)
    created = (NOW - timedelta(minutes=rng.randint(10, 60 * 24 * 400))).replace(microsecond=0)
    duration = round(rng.uniform(60, 20000), 3)
    meta = make_metadata(
        user=user,
        project=project,
        run_hash=f"{n:08x}",
        status=status,
        created_at=created,
        dependency_hash=image,
    )
    meta["config"]["node_type"] = node
    meta["dependencies"].update(packages=PACKAGES[image], use_gpu=NODES[node])
    if status != "running":
        meta["execution"]["duration_seconds"] = duration
        end = created + timedelta(seconds=24 + duration)
        meta["execution"]["end_time"] = end.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    meta["artifacts"] = [
        {"name": "model.pkl", "type": "model", "size_bytes": rng.randint(0, 10**9)}
    ]
    meta["tags"] = {"retain": "true"} if rng.random() < 0.15 else {}
    crash, records = None, [log_record(meta["job_id"], "INFO", "Job started")]
    if status == "failed":
        kind, message = _crash(rng, parse_job_id(meta["job_id"]))
        crash = kind
        records += [
            {
                **log_record(meta["job_id"], "ERROR", "Function raised an exception"),
                "exception": {"type": kind, "message": message},
            },
            log_record(meta["job_id"], "CRITICAL", "Function crashed"),
        ]
    tier, log_bytes = rng.choice(TIERS), rng.randint(100, 10**7)
    facts = LogFacts(stats=summarize(records), tier=tier, size=log_bytes)
    document = build_document(
        parse_metadata(orjson.dumps(meta)),
        prices=DEFAULT_NODE_PRICES,
        source_version="1",
        log=facts,
    )
    return SeededJob(meta, crash, tier, log_bytes, document)
