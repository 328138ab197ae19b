"""Pointing the `ascend` CLI at a test's Azurite container and index, as a given caller."""

from __future__ import annotations

import pytest

import shared.services
from shared.settings import Settings


def point_cli_at(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, *, user: str = "alice", roles: str = ""
) -> None:
    """Set the environment a real `ascend` process would read, and drop the cached services
    (each command is a new process in real life; monkeypatch undoes it all after the test)."""
    env = {
        "ASCEND_STORAGE_CONNECTION_STRING": str(settings.storage_connection_string),
        "ASCEND_CONTAINER": settings.container,
        "ASCEND_INDEX_PATH": str(settings.index_path),
        "ASCEND_USER": user,
        "ASCEND_ROLES": roles,
        "COLUMNS": "200",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    shared.services.reset()


def invoke_cli(*args: str) -> tuple[int, str, str]:
    """Run one `ascend` command in-process: (exit code, stdout, stderr), as a new process would."""
    from typer.testing import CliRunner

    from ascend_cli.main import app

    result = CliRunner().invoke(app, list(args))
    shared.services.reset()
    return result.exit_code, result.stdout, result.stderr
