"""The daily retention timer of `function_app.py`, through `app.get_functions()` and a real
`azure.functions.timer.TimerRequest`, against Azurite and a real index file."""

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
from shared.layout import job_prefix, metadata_path, package_path
from shared.services import Services
from tests.conftest import NOW
from tests.support.lifecycle import seed_job

APP_FILE = Path(__file__).resolve().parents[2] / "function_app.py"


@functools.cache
def sweep_function() -> Any:
    """function_app.py loaded as the host loads it, in a fresh module (`get_functions()` may be
    called once per app), and its timer function."""
    spec = importlib.util.spec_from_file_location("function_app_timer_under_test", APP_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    functions = {f.get_function_name(): f for f in module.app.get_functions()}
    return functions["retention_sweep"]


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
