"""What a newcomer's set-up mistakes print: one line naming the setting and what to do, never a
traceback; a second worker on the same index is refused."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

from ascend_cli.azurite import free_port
from ascend_cli.lock import WorkerRunning, worker_lock
from shared.adapters.azure_blob import _translate
from shared.adapters.sqlite_index import SqliteIndex
from shared.errors import NotSignedIn, StorageAbsent, TransientError
from shared.settings import Settings, azurite_connection_string
from tests.support.cli import invoke_cli, point_cli_at


@pytest.fixture(autouse=True)
def index(sqlite_index: SqliteIndex) -> SqliteIndex:
    """The test's index file exists (as after `make run`), so no 'new index' warning interferes."""
    return sqlite_index


def _one_line(err: str) -> str:
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ASCEND_STORAGE_CONNECTION_STRING", "garbage", "ASCEND_STORAGE_CONNECTION_STRING"),
        ("ASCEND_STORAGE_API_VERSION", "1999-01-01", "ASCEND_STORAGE_API_VERSION"),
        ("ASCEND_PIPELINE_WORKERS", "0", "ASCEND_PIPELINE_WORKERS"),
        ("ASCEND_PIPELINE_PROCESSES", "-1", "ASCEND_PIPELINE_PROCESSES"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    """Malformed connection string, unknown API version, zero or negative workers: exit 2."""
    point_cli_at(settings, monkeypatch, roles="admin")
    monkeypatch.setenv(variable, value)
    code, _, err = invoke_cli("pipeline", "run", "--once")
    assert code == 2
    assert _one_line(err).startswith(f"error: {expected}: ")


def test_storage_that_does_not_answer_asks_whether_make_run_runs(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing listening on the storage port: one line asking whether `make run` is running."""
    point_cli_at(settings, monkeypatch, roles="admin")
    monkeypatch.setenv(
        "ASCEND_STORAGE_CONNECTION_STRING", azurite_connection_string(port=free_port())
    )
    code, _, err = invoke_cli("pipeline", "rejected")
    assert code == 1
    assert "is `make run` running" in _one_line(err)


def test_refused_storage_is_said_at_once_not_after_retries(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connection refused is not retried: the one line comes within a second or two (it took
    3.5-6.5 s of retries), for reading a job as for listing."""
    point_cli_at(settings, monkeypatch, roles="admin")
    monkeypatch.setenv(
        "ASCEND_STORAGE_CONNECTION_STRING", azurite_connection_string(port=free_port())
    )
    invoke_cli("pipeline", "rejected")  # the Azure SDK imported before the clock starts
    for command in (
        ("pipeline", "rejected"),
        ("jobs", "status", "20250101-000000-alice-vision-a3f5d2c8-00000001"),
        ("retention", "plan"),
    ):
        started = time.monotonic()
        code, _, err = invoke_cli(*command)
        elapsed = time.monotonic() - started
        assert code == 1
        assert "is `make run` running" in _one_line(err)
        assert elapsed < 2.0, (command, elapsed)


@pytest.mark.parametrize(
    ("cause", "said_at_once"),
    [
        (ConnectionRefusedError(111, "Connection refused"), True),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), True),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), False),
        (TimeoutError("timed out"), False),
    ],
)
def test_only_an_address_with_nothing_there_is_said_at_once(
    cause: Exception, said_at_once: bool
) -> None:
    """A refused connection or a host name that does not exist is StorageAbsent (not retried);
    a lookup that failed for now or a timeout stays retried."""
    error = ServiceRequestError("Failed to establish a new connection")
    error.__cause__ = cause
    translated = _translate("_ascend/rejected/", error)
    assert isinstance(translated, TransientError)
    assert isinstance(translated, StorageAbsent) is said_at_once
    assert translated.retry_at_once is not said_at_once


def test_no_credential_says_run_az_login() -> None:
    """DefaultAzureCredential finding no sign-in becomes NotSignedIn: 'run `az login`'."""
    error = _translate(
        "_ascend/rejected/",
        ClientAuthenticationError(
            "DefaultAzureCredential failed to retrieve a token from the included credentials."
        ),
    )
    assert isinstance(error, NotSignedIn)
    assert "run `az login`" in str(error)


def test_a_new_empty_index_is_announced(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A mistyped ASCEND_INDEX_PATH does not silently list nothing: stderr says a new empty
    index was created, and where; the second run is quiet."""
    point_cli_at(settings, monkeypatch, roles="admin")
    typo = tmp_path / "idnex.sqlite3"
    monkeypatch.setenv("ASCEND_INDEX_PATH", str(typo))
    code, _, err = invoke_cli("jobs", "list")
    assert code == 0
    assert f"warning: there was no index at {typo}: created an empty one" in err
    _, _, again = invoke_cli("jobs", "list")
    assert "warning" not in again


def test_a_second_worker_on_the_same_index_is_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one worker holds the index's lock, `pipeline run` exits 1 with one line."""
    point_cli_at(settings, monkeypatch, roles="admin")
    with worker_lock(settings.index_path):
        code, _, err = invoke_cli("pipeline", "run")
    assert code == 1
    assert "a pipeline worker already runs on" in _one_line(err)
    with worker_lock(settings.index_path), pytest.raises(WorkerRunning):  # noqa: SIM117
        with worker_lock(settings.index_path):
            pass
