"""The daily timers of `function_app.py` (reconcile, then the retention sweep) and the queue of
partitions they fill, through `app.get_functions()`, a real `azure.functions.timer.TimerRequest`
and real `azure.functions.QueueMessage`s, against Azurite and a real index file."""

from __future__ import annotations

import functools
import importlib.util
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from azure.functions.timer import TimerRequest

import shared.services
from ascend_cli.azurite import Azurite
from indexer.worker import run_once
from shared.adapters.azure_blob import AzureBlobStore, RetryPolicy
from shared.errors import InvalidInput, TransientError
from shared.layout import artifact_path, by_date_log_path, job_prefix, metadata_path, package_path
from shared.partitions import PROGRESS
from shared.services import Services
from shared.settings import azurite_connection_string
from shared.tags import job_blob_tags
from tests.conftest import NOW
from tests.support.builders import make_metadata, write_job
from tests.support.faultproxy import FOREVER, FaultProxy
from tests.support.functions_queue import Binding, QueueHost
from tests.support.lifecycle import lifecycle_job

RECENT = NOW - timedelta(hours=6)  # inside the daily reconcile's look-back window
APP_FILE = Path(__file__).resolve().parents[2] / "function_app.py"


@functools.cache
def app_functions() -> dict[str, Any]:
    """function_app.py loaded as the host loads it, in a fresh module (`get_functions()` may be
    called once per app), and its functions by name."""
    spec = importlib.util.spec_from_file_location("function_app_timer_under_test", APP_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {f.get_function_name(): f for f in module.app.get_functions()}


def sweep_function() -> Any:
    return app_functions()["retention_sweep"]


def reconcile_function() -> Any:
    return app_functions()["index_reconcile"]


def partition_host() -> QueueHost:
    """The partition queue, feeding `work_partition`."""
    return QueueHost(app_functions()["work_partition"].get_user_function())


def tick(function: Any, host: QueueHost, *, past_due: bool = False) -> int:
    """One timer tick: its partitions go on the queue, which is drained; invocations it took."""
    partitions: Binding[list[str]] = Binding()
    function.get_user_function()(TimerRequest(past_due=past_due), partitions)
    host.put(partitions.value)
    return host.drain()


@pytest.fixture
def composition_root(services: Services, monkeypatch: pytest.MonkeyPatch) -> Services:
    """The Functions' composition root answers with the test's services (fixed clock)."""
    return shared.services.install(services)


def with_settings(root: Services, **update: Any) -> Services:
    """The same root with other settings (a small time budget, a longer look-back)."""
    root.settings = root.settings.model_copy(update=update)
    return root


def sorted_list(bindings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(bindings, key=lambda b: b["name"])


def sorted_bindings(function: Any) -> list[dict[str, Any]]:
    """A function's bindings as the host reads them, by name."""
    return sorted_list([orjson.loads(b) for b in function.get_raw_bindings()])


QUEUE_OUT = {
    "direction": "OUT",
    "type": "queue",
    "name": "partitions",
    "queueName": "ascend-partitions",
    "connection": "AscendQueue",
}


def test_the_sweep_runs_daily_on_a_literal_schedule_and_fills_the_queue() -> None:
    """A timer binding at 02:30 UTC every day, needing no app setting to start, and an output
    to the partition queue through the identity-based `AscendQueue` connection."""
    bindings = sorted_bindings(sweep_function())
    assert bindings == sorted_list(
        [
            {
                "direction": "IN",
                "type": "timerTrigger",
                "name": "timer",
                "schedule": "0 30 2 * * *",
                "useMonitor": True,
            },
            QUEUE_OUT,
        ]
    )


def test_reconcile_runs_daily_an_hour_before_the_sweep() -> None:
    """01:30 UTC: the sweep, which plans from the index, finds it re-derived from storage."""
    bindings = sorted_bindings(reconcile_function())
    assert bindings == sorted_list(
        [
            {
                "direction": "IN",
                "type": "timerTrigger",
                "name": "timer",
                "schedule": "0 30 1 * * *",
                "useMonitor": True,
            },
            QUEUE_OUT,
        ]
    )


def test_the_partition_worker_drains_the_queue_and_can_requeue() -> None:
    """A queue trigger on the same queue, with an output to it for unfinished partitions."""
    bindings = sorted_bindings(app_functions()["work_partition"])
    assert bindings == sorted_list(
        [
            {
                "direction": "IN",
                "type": "queueTrigger",
                "name": "message",
                "queueName": "ascend-partitions",
                "connection": "AscendQueue",
            },
            {**QUEUE_OUT, "name": "again"},
        ]
    )


def test_a_reconcile_tick_indexes_lost_events_and_fixes_stale_retain_tags(
    composition_root: Services, tmp_path: Path
) -> None:
    """A job whose events were lost is indexed; a blob left tagged `retain=true` on a job that
    is not retained (the native policy deletes by that tag) is tagged back."""
    blobs, index = composition_root.blobs, composition_root.index
    seen = write_job(blobs, make_metadata(run_hash="00000001", created_at=RECENT))
    run_once(
        composition_root.blobs,
        composition_root.index,
        composition_root.clock,
        composition_root.settings,
        checkpoint=tmp_path / "checkpoint.json",
    )
    stale = artifact_path(seen, "model.pkl")
    blobs.write(stale, b"m", tags=job_blob_tags(seen, "artifact", retain=True))
    lost = write_job(
        blobs, make_metadata(run_hash="00000002", created_at=RECENT)
    )  # no event for it
    tick(reconcile_function(), partition_host())
    doc = index.get(str(lost))
    assert doc is not None
    assert (doc["status"], doc["log_lines"]) == ("completed", 5)
    assert blobs.props(by_date_log_path(lost)) is not None
    assert blobs.get_tags(stale)["retain"] == "false"


def test_the_daily_reconcile_looks_only_at_jobs_created_since_the_last_one(
    composition_root: Services,
) -> None:
    """A job created before the look-back window is not reconciled by the timer (its events
    cover it; the full rebuild is `ascend pipeline reconcile`); one created inside it is."""
    blobs, index = composition_root.blobs, composition_root.index
    old = write_job(blobs, make_metadata(run_hash="00000004", created_at=NOW - timedelta(days=40)))
    new = write_job(blobs, make_metadata(run_hash="00000005", created_at=RECENT))
    host = partition_host()
    assert tick(reconcile_function(), host) == 1  # one partition: (frauddetect, RECENT's day)
    assert index.get(str(old)) is None
    assert index.get(str(new)) is not None


def test_a_reconcile_partition_with_transient_failures_is_retried_then_poisoned(
    composition_root: Services, azurite: Azurite
) -> None:
    """Storage that stops answering after the partition's listings: the invocation raises (the
    queue retries it, five tries, then the poison queue, where monitoring sees it), its marker
    does not move past the job, and the index is not touched; once storage answers, the poisoned
    message moved back finishes the job."""
    job = write_job(composition_root.blobs, make_metadata(run_hash="00000003", created_at=RECENT))
    partitions: Binding[list[str]] = Binding()
    reconcile_function().get_user_function()(TimerRequest(past_due=True), partitions)
    assert partitions.value is not None
    host = partition_host()
    host.put(partitions.value)
    with FaultProxy(azurite.port) as proxy:
        via_proxy = composition_root.settings.model_copy(
            update={"storage_connection_string": azurite_connection_string(port=proxy.port)}
        )
        shared.services.install(
            composition_root.using(
                blobs=AzureBlobStore.from_settings(via_proxy, retry=RetryPolicy(2, 20, 0.01, 0.02))
            )
        )
        proxy.inject("drop", times=FOREVER, after=3)  # walk + two listings, nothing else
        assert host.drain() == 5
    assert len(host.poison) == 1
    assert all(isinstance(e, TransientError) for e in host.errors)
    assert composition_root.index.get(str(job)) is None
    shared.services.install(composition_root)
    host.put(host.poison.pop())
    host.drain()
    assert composition_root.index.get(str(job)) is not None


def test_a_timer_tick_sweeps_storage_as_of_the_clock(composition_root: Services) -> None:
    """One tick: the old job is deleted, the 100-day job archived, the young job untouched."""
    blobs, index = composition_root.blobs, composition_root.index
    old = lifecycle_job(blobs, index, NOW - timedelta(days=400))
    mid = lifecycle_job(blobs, index, NOW - timedelta(days=100))
    young = lifecycle_job(blobs, index, NOW - timedelta(days=3))
    tick(sweep_function(), partition_host(), past_due=True)
    assert list(blobs.list_names(job_prefix(old))) == []
    assert blobs.props(package_path(mid)).tier == "Archive"  # type: ignore[union-attr]
    assert blobs.props(metadata_path(young)).tier == "Hot"  # type: ignore[union-attr]
    assert list(blobs.list_names("_ascend/audit/"))


def test_a_reconcile_stopped_by_its_budget_is_finished_by_the_next_invocations(
    composition_root: Services,
) -> None:
    """Twenty lost jobs of one day and a budget that stops every invocation after one slice:
    the partition is queued again until done; every job is indexed exactly once (the marker's
    counts) and none is skipped."""
    with_settings(composition_root, partition_budget_seconds=1e-6)
    jobs = [
        write_job(composition_root.blobs, make_metadata(run_hash=f"{n:08x}", created_at=RECENT))
        for n in range(20)
    ]
    host = partition_host()
    assert tick(reconcile_function(), host) == 2  # 16 + 4 jobs
    assert all(composition_root.index.get(str(j)) is not None for j in jobs)
    [marker] = list(composition_root.blobs.list_names(f"{PROGRESS}/reconcile/2026"))
    progress = orjson.loads(composition_root.blobs.read(marker).data)
    assert progress["done"] is True
    assert progress["counts"] == {"indexed": 20, "removed": 0}


def test_a_sweep_stopped_by_its_budget_acts_on_every_blob_exactly_once(
    composition_root: Services,
) -> None:
    """Twenty jobs of one day past the Cool age and a budget of one slice per invocation: every
    job's blobs end Cool, and the audit log holds one record per blob and action (none twice)."""
    with_settings(composition_root, partition_budget_seconds=1e-6)
    blobs = composition_root.blobs
    day = NOW - timedelta(days=40)
    jobs = [
        lifecycle_job(blobs, composition_root.index, day + timedelta(seconds=n)) for n in range(20)
    ]
    host = partition_host()
    assert tick(sweep_function(), host) == 2
    assert all(blobs.props(package_path(j)).tier == "Cool" for j in jobs)  # type: ignore[union-attr]
    records = [
        orjson.loads(line)
        for name in blobs.list_names("_ascend/audit/")
        for line in blobs.read(name).data.splitlines()
    ]
    acted = [(r["blob"], r["action"]) for r in records]
    assert len(acted) == len(set(acted))
    assert {r["job_id"] for r in records} == {str(j) for j in jobs}


def test_a_bad_setting_fails_the_function_with_the_clis_one_line_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Functions app reads settings through the same root as the CLI: a wrong app setting
    is one line naming the variable, not pydantic's multi-line report."""
    monkeypatch.setenv("ASCEND_PIPELINE_WORKERS", "many")
    with pytest.raises(InvalidInput) as caught:
        sweep_function().get_user_function()(TimerRequest(past_due=False), Binding())
    assert str(caught.value).startswith("ASCEND_PIPELINE_WORKERS: Input should be a valid integer")
    assert "\n" not in str(caught.value)
