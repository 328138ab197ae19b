"""The Event Grid function of `function_app.py`, found through `app.get_functions()` and called
with real `azure.functions` event objects, against Azurite and a real SQLite index."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import shared.services
from ascend_cli.azurite import free_port
from indexer.rejected import list_rejections
from shared.adapters.azure_blob import AzureBlobStore, RetryPolicy
from shared.errors import TransientError
from shared.layout import metadata_path
from shared.services import Services
from shared.settings import Settings, azurite_connection_string
from tests.support.builders import EVENTS_CREATED, make_metadata, write_job, write_metadata
from tests.support.events import cloud_event, created_payload, function_event


@functools.cache
def _user_function() -> Callable[..., Any]:
    """Load function_app.py as the host does (a fresh module: `get_functions()` may be called
    once per app) and return the Event Grid function's user function."""
    spec = importlib.util.spec_from_file_location("function_app_events_under_test", APP_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    functions = {f.get_function_name(): f for f in module.app.get_functions()}
    function = functions["on_blob_event"]
    assert "eventGridTrigger" in " ".join(function.get_raw_bindings())
    user_function: Callable[..., Any] = function.get_user_function()
    return user_function


APP_FILE = Path(__file__).resolve().parents[2] / "function_app.py"


@pytest.fixture
def wired(services: Services, monkeypatch: pytest.MonkeyPatch) -> Services:
    """The function app's composition root replaced by the test's real adapters."""
    return shared.services.install(services)


def test_a_metadata_event_indexes_the_job(wired: Services) -> None:
    """A func.EventGridEvent for metadata.json leaves the job's document in the SQLite index."""
    job = write_job(wired.blobs, make_metadata(created_at=EVENTS_CREATED))
    payload = created_payload(wired.blobs, wired.settings.container, metadata_path(job))
    assert _user_function()(function_event(payload)) is None
    doc = wired.index.get(str(job))
    assert doc is not None
    assert doc["status"] == "completed"


def test_a_cloud_event_is_handled_like_an_event_grid_event(wired: Services) -> None:
    """The CloudEvents 1.0 shape of the same event indexes the job too."""
    job = write_job(wired.blobs, make_metadata(created_at=EVENTS_CREATED))
    payload = created_payload(wired.blobs, wired.settings.container, metadata_path(job))
    _user_function()(cloud_event(payload))
    document = wired.index.get(str(job))
    assert document is not None
    assert (document["job_id"], document["user"], document["project"], document["status"]) == (
        str(job),
        job.user,
        job.project,
        "completed",
    )
    # the version it was indexed from is this metadata.json's etag, as from Event Grid's shape
    assert str(document["source_version"]).endswith(payload["data"]["eTag"].strip('"'))


def test_a_bad_metadata_event_returns_normally_and_is_recorded(wired: Services) -> None:
    """Invalid metadata does not raise (Event Grid would retry it for a day): it is recorded."""
    meta = make_metadata(created_at=EVENTS_CREATED)
    meta["status"] = "exploded"
    name = write_metadata(wired.blobs, meta)
    _user_function()(function_event(created_payload(wired.blobs, wired.settings.container, name)))
    [record] = list(list_rejections(wired.blobs))
    assert record.blob == name
    assert record.reason.startswith("metadata.json of ")
    assert "status" in record.reason


def test_an_event_of_another_type_is_ignored(wired: Services) -> None:
    """A BlobTierChanged event returns normally and changes nothing."""
    job = write_job(wired.blobs, make_metadata(created_at=EVENTS_CREATED))
    payload = created_payload(wired.blobs, wired.settings.container, metadata_path(job))
    payload["eventType"] = "Microsoft.Storage.BlobTierChanged"
    _user_function()(function_event(payload))
    assert wired.index.count() == 0


def test_a_persistent_transient_fault_raises_so_event_grid_retries(
    services: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With storage unreachable after the retries, the function raises TransientError."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    payload = created_payload(services.blobs, settings.container, metadata_path(job))
    dead = settings.model_copy(
        update={"storage_connection_string": azurite_connection_string(port=free_port())}
    )
    shared.services.install(
        services.using(
            blobs=AzureBlobStore.from_settings(
                dead, retry=RetryPolicy(attempts=3, max_seconds=5, base=0.01, cap=0.02)
            )
        )
    )
    with pytest.raises(TransientError):
        _user_function()(function_event(payload))
