"""The daily timers of `function_app.py` (reconcile, then the retention sweep), through
`app.get_functions()` and a real `azure.functions.timer.TimerRequest`, against Azurite and a real
index file."""

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
from shared.layout import artifact_path, by_date_log_path, job_prefix, metadata_path, package_path
from shared.services import Services
from shared.settings import azurite_connection_string
from shared.tags import job_blob_tags
from tests.conftest import NOW
from tests.support.events import make_metadata, write_job
from tests.support.faultproxy import FOREVER, FaultProxy
from tests.support.lifecycle import seed_job

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


@pytest.fixture
def composition_root(services: Services, monkeypatch: pytest.MonkeyPatch) -> Services:
    """The Functions' composition root answers with the test's services (fixed clock)."""
    monkeypatch.setattr(shared.services, "_services", services)
    return services


def test_the_sweep_runs_daily_on_a_literal_schedule() -> None:
    """A timer binding at 02:30 UTC every day, needing no app setting to start."""
    bindings = [orjson.loads(b) for b in sweep_function().get_raw_bindings()]
    assert bindings == [{"direction": "IN", "type": "timerTrigger", "name": "timer",
                         "schedule": "0 30 2 * * *", "useMonitor": True}]


def test_reconcile_runs_daily_an_hour_before_the_sweep() -> None:
    """01:30 UTC: the sweep, which plans from the index, finds it re-derived from storage."""
    bindings = [orjson.loads(b) for b in reconcile_function().get_raw_bindings()]
    assert bindings == [{"direction": "IN", "type": "timerTrigger", "name": "timer",
                         "schedule": "0 30 1 * * *", "useMonitor": True}]


def test_a_reconcile_tick_indexes_lost_events_and_fixes_stale_retain_tags(
        composition_root: Services, tmp_path: Path) -> None:
    """A job whose events were lost is indexed; a blob left tagged `retain=true` on a job that
    is not retained (the native policy deletes by that tag) is tagged back."""
    blobs, index = composition_root.blobs, composition_root.index
    seen = write_job(blobs, make_metadata(run="00000001"))
    run_once(composition_root, checkpoint=tmp_path / "checkpoint.json")
    stale = artifact_path(seen, "model.pkl")
    blobs.write(stale, b"m", tags=job_blob_tags(seen, "artifact", retain=True))
    lost = write_job(blobs, make_metadata(run="00000002"))  # no event delivered for it
    reconcile_function().get_user_function()(TimerRequest(past_due=False))
    doc = index.get(str(lost))
    assert doc is not None
    assert (doc["status"], doc["log_lines"]) == ("completed", 5)
    assert blobs.props(by_date_log_path(lost)) is not None
    assert blobs.get_tags(stale)["retain"] == "false"


def test_a_reconcile_tick_with_transient_failures_fails_the_invocation(
        composition_root: Services, azurite: Azurite) -> None:
    """Storage that stops answering after the listing: the job is left for the next night, the
    invocation fails with the count (so that it shows in the Functions' monitoring), and the
    index is not touched."""
    job = write_job(composition_root.blobs, make_metadata(run="00000003"))
    with FaultProxy(azurite.port) as proxy:
        via_proxy = composition_root.settings.model_copy(update={
            "storage_connection_string": azurite_connection_string(port=proxy.port)})
        composition_root.__dict__["blobs"] = AzureBlobStore.from_settings(
            via_proxy, retry=RetryPolicy(2, 20, 0.01, 0.02))
        proxy.inject("drop", times=FOREVER, after=1)  # the listing gets through, nothing else
        with pytest.raises(RuntimeError, match="1 jobs failed transiently"):
            reconcile_function().get_user_function()(TimerRequest(past_due=True))
    assert composition_root.index.get(str(job)) is None


def test_a_timer_tick_sweeps_storage_as_of_the_clock(composition_root: Services) -> None:
    """One tick: the old job is deleted, the 100-day job archived, the young job untouched."""
    blobs, index = composition_root.blobs, composition_root.index
    old = seed_job(blobs, index, NOW - timedelta(days=400))
    mid = seed_job(blobs, index, NOW - timedelta(days=100))
    young = seed_job(blobs, index, NOW - timedelta(days=3))
    sweep_function().get_user_function()(TimerRequest(past_due=True))
    assert list(blobs.list_names(job_prefix(old))) == []
    assert blobs.props(package_path(mid)).tier == "Archive"  # type: ignore[union-attr]
    assert blobs.props(metadata_path(young)).tier == "Hot"  # type: ignore[union-attr]
    assert list(blobs.list_names("_ascend/audit/"))
