"""The demo seed: deterministic realistic jobs (checked as pure data), and 200 of them written to
Azurite and read back with nothing but the Azure SDK at the designed paths."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta

from azure.storage.blob import BlobServiceClient

from producer.demo import seed_demo
from producer.demo_plan import USERS, plan_job
from shared.adapters.azure_blob import AzureBlobStore
from shared.metadata import JobStatus
from shared.settings import DEFAULT_NODE_PRICES, Settings
from tests.support.builders import NOW

PLANS = [plan_job(0, i, NOW) for i in range(500)]
DESIGN_FIELDS = {
    "job_id",
    "created_at",
    "updated_at",
    "status",
    "user",
    "project",
    "function_name",
    "config",
    "dependencies",
    "execution",
    "resources",
    "artifacts",
    "tags",
}
LOG_FIELDS = {"timestamp", "level", "logger", "job_id", "user", "project", "message"}
JOB_ID = r"\d{8}-\d{6}-[a-z0-9_]+-[a-z0-9_]+-[0-9a-f]{8}-[0-9a-f]{8}"
DESIGNED_PATHS = re.compile(
    rf"projects/(?P<project>[a-z0-9_]+)/users/(?P<user>[a-z0-9_]+)/"
    rf"(jobs/(?P<job>{JOB_ID})/(package\.pkl|metadata\.json|job\.log\.jsonl|result\.pkl"
    rf"|artifacts/[A-Za-z0-9_.-]+)|images/[0-9a-f]{{12}}/(requirements\.txt|Dockerfile))"
)


def test_the_same_seed_plans_the_same_jobs_and_another_seed_others() -> None:
    """Plans are a pure function of (seed, index, now)."""
    assert [plan_job(0, i, NOW) for i in range(20)] == PLANS[:20]
    assert plan_job(1, 0, NOW).job != PLANS[0].job


def test_the_plans_look_like_a_real_teams_history() -> None:
    """~8 users over 4 projects, mostly completed with ~15% failed, dates over two years with
    most in the last one, GPU and CPU nodes, shared dependency sets, ~10% retained."""
    jobs = [p.job for p in PLANS]
    statuses = Counter(p.status for p in PLANS)
    ages = [NOW - p.created_at for p in PLANS]
    assert len({j.user for j in jobs}) == len(USERS) == 8
    assert {j.project for j in jobs} == {"fraud_detection", "recsys", "nlp_research", "vision_lab"}
    assert set(statuses) == set(JobStatus)
    assert statuses[JobStatus.COMPLETED] > 250
    assert 40 <= statuses[JobStatus.FAILED] <= 110
    assert all(timedelta(0) < age <= timedelta(days=730) for age in ages)
    assert sum(age <= timedelta(days=365) for age in ages) > 300
    assert any(age <= timedelta(days=7) for age in ages)
    assert any(age >= timedelta(days=400) for age in ages)
    nodes = {p.config["node_type"] for p in PLANS}
    assert nodes <= set(DEFAULT_NODE_PRICES)
    assert any(n.startswith("gpu") for n in nodes)
    assert any(n.startswith("cpu") for n in nodes)
    assert 8 <= len({j.dep_hash for j in jobs}) <= 12
    assert 25 <= sum(p.tags.get("retain") == "true" for p in PLANS) <= 80
    assert any("rc" in pkg or "dev" in pkg for p in PLANS for pkg in p.dependencies.packages)


def test_logs_have_10_to_200_records_with_errors_exceptions_and_metrics() -> None:
    """Finished jobs log 10-200 records; failures end in ERROR/CRITICAL with an exception."""
    finished = [p for p in PLANS if p.log and p.status is not JobStatus.RUNNING]
    assert all(10 <= len(p.log) <= 200 + 20 for p in finished)
    levels = Counter(r["level"] for p in finished for r in p.log)
    assert set(levels) == {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
    for plan in (p for p in finished if p.status is JobStatus.FAILED):
        assert plan.log[-1]["level"] == "CRITICAL"
        assert plan.log[-2]["exception"]["type"]
    assert any("metrics" in r and "epoch" in r["metrics"] for p in finished for r in p.log)
    assert all(
        r["timestamp"] <= s["timestamp"]
        for p in finished
        for r, s in zip(p.log, p.log[1:], strict=False)
    )


def test_200_seeded_jobs_are_readable_with_only_the_azure_sdk(
    settings: Settings, blob_store: AzureBlobStore
) -> None:
    """After seeding, a plain ContainerClient finds every blob at a designed path, valid
    metadata.json documents, JSON Lines logs in append blobs, and each job's image files."""
    summary = seed_demo(blob_store, jobs=200, seed=0, now=NOW, workers=8)
    assert (summary.jobs, summary.failures) == (200, [])
    service = BlobServiceClient.from_connection_string(
        str(settings.storage_connection_string), api_version="2026-06-06"
    )
    container = service.get_container_client(settings.container)
    blobs = {b.name: b for b in container.list_blobs()}
    assert all(DESIGNED_PATHS.fullmatch(name) for name in blobs), [
        n for n in blobs if not DESIGNED_PATHS.fullmatch(n)
    ][:3]
    documents = [
        json.loads(container.download_blob(n).readall())
        for n in blobs
        if n.endswith("/metadata.json")
    ]
    assert len(documents) == 200
    statuses = Counter(d["status"] for d in documents)
    assert statuses == Counter(p.status.value for p in PLANS[:200])
    for doc in documents:
        assert set(doc) >= DESIGN_FIELDS
        folder = f"projects/{doc['project']}/users/{doc['user']}/"
        assert f"{folder}jobs/{doc['job_id']}/package.pkl" in blobs
        image = f"{folder}images/{doc['dependencies']['hash']}/"
        assert {image + "requirements.txt", image + "Dockerfile"} <= set(blobs)
        for artifact in doc["artifacts"]:
            assert f"{folder}jobs/{doc['job_id']}/artifacts/{artifact['name']}" in blobs
        if doc["status"] == "completed":
            assert f"{folder}jobs/{doc['job_id']}/result.pkl" in blobs
    logs = [n for n in blobs if n.endswith("/job.log.jsonl")]
    assert len(logs) == sum(1 for p in PLANS[:200] if p.log)
    assert {str(blobs[n].blob_type) for n in logs} == {"BlobType.APPENDBLOB"}
    for name in logs[:20]:
        lines = container.download_blob(name).readall().splitlines()
        records = [json.loads(line) for line in lines]
        assert all(set(r) >= LOG_FIELDS for r in records)
        assert {r["job_id"] for r in records} == {name.split("/")[5]}
