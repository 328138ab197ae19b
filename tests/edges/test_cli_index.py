"""`ascend index load FILE` through the CLI runner, on a real index file."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from shared.adapters.sqlite_index import SqliteIndex
from shared.settings import Settings
from tests.support.builders import make_metadata
from tests.support.cli import invoke_cli, point_cli_at


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_an_admin_loads_a_file_and_bad_lines_are_named(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Good lines are indexed; each bad one is reported with its line number; exit status 1."""
    point_cli_at(settings, monkeypatch, roles="admin")
    good = [make_metadata(user="alice"), make_metadata(user="bob")]
    jobs = _write(
        tmp_path / "jobs.jsonl", [orjson.dumps(good[0]), b'{"job_id": 3}', orjson.dumps(good[1])]
    )
    code, out, err = invoke_cli("index", "load", str(jobs), "--json")
    assert code == 1
    assert orjson.loads(out) == {"lines": 3, "indexed": 2, "skipped": 0, "bad": 1}
    assert err.splitlines()[0].startswith("line 2: metadata.json: ")
    index = SqliteIndex(settings.index_path)
    assert {index.get(m["job_id"]) is not None for m in good} == {True}
    index.close()


def test_a_clean_file_exits_zero(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A file of valid lines loads with exit status 0 and a one-line summary on stderr."""
    point_cli_at(settings, monkeypatch, roles="admin")
    jobs = _write(tmp_path / "jobs.jsonl", [orjson.dumps(make_metadata())])
    code, out, err = invoke_cli("index", "load", str(jobs))
    assert (code, out) == (0, "")
    assert err.strip() == "load: lines 1, indexed 1, skipped 0, bad 0"


def test_a_user_without_the_admin_role_is_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Loading writes other users' jobs into the index, so a plain user is refused."""
    point_cli_at(settings, monkeypatch, roles="admin:proj")
    jobs = _write(tmp_path / "jobs.jsonl", [orjson.dumps(make_metadata())])
    code, _, err = invoke_cli("index", "load", str(jobs))
    assert code == 1
    assert err.startswith("error: access denied")


def test_a_missing_file_is_a_usage_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A file that does not exist: exit status 2 and one line naming it."""
    point_cli_at(settings, monkeypatch, roles="admin")
    code, _, err = invoke_cli("index", "load", str(tmp_path / "nope.jsonl"))
    assert code == 2
    assert "nope.jsonl" in err
    assert len(err.splitlines()) == 1
