"""Start-up of the `ascend` command: `ascend jobs list` on the embedded index loads none of the
heavy libraries (pydantic, pydantic-settings, packaging, the Azure SDK), which would cost it
about half of its start-up (bench.startup measures the time itself)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.startup import fill_index

ROOT = Path(__file__).resolve().parents[2]
HEAVY = {"pydantic", "pydantic_core", "pydantic_settings", "packaging", "azure"}


def _imported_by(
    argv: list[str], env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `ascend ARGV` under `-X importtime`; the top-level packages it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ascend_cli.entry", *argv],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
    )
    modules = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return done, modules


def test_jobs_list_on_the_embedded_index_imports_no_heavy_library(tmp_path: Path) -> None:
    """`ascend jobs list` prints the jobs without importing pydantic, packaging or azure."""
    jobs = fill_index(tmp_path / "index.sqlite3", jobs=3)
    env = {key: value for key, value in os.environ.items() if not key.upper().startswith("ASCEND_")}
    env |= {
        "ASCEND_INDEX_PATH": str(tmp_path / "index.sqlite3"),
        "ASCEND_USER": "alice",
        "ASCEND_ROLES": "",
        "ASCEND_CONFIG": "",
        "XDG_CONFIG_HOME": str(tmp_path),
        "COLUMNS": "160",
    }
    done, modules = _imported_by(["jobs", "list"], env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert all(job in done.stdout for job in jobs)
    assert modules, "no -X importtime output: the check would pass vacuously"
    assert not HEAVY & modules, sorted(HEAVY & modules)


def test_a_setting_that_needs_coercing_still_works_through_pydantic(tmp_path: Path) -> None:
    """With a numeric setting the full settings model is loaded and the command still works."""
    fill_index(tmp_path / "index.sqlite3", jobs=3)
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ASCEND_")}
    env |= {
        "ASCEND_INDEX_PATH": str(tmp_path / "index.sqlite3"),
        "ASCEND_USER": "alice",
        "ASCEND_PIPELINE_WORKERS": "4",
        "XDG_CONFIG_HOME": str(tmp_path),
    }
    done, modules = _imported_by(["jobs", "list", "--json"], env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("\n") == 3
    assert "pydantic_settings" in modules


def test_a_group_builds_only_the_command_that_runs() -> None:
    """`ascend jobs list` builds the click command of `list` alone; help still lists them all."""
    from ascend_cli.main import _load

    group = _load("jobs")
    assert not group.commands
    assert group.get_command(None, "list").name == "list"
    assert set(group.commands) == {"list"}
    assert group.list_commands(None)[:2] == ["list", "status"]
    assert {"logs", "metrics", "artifacts", "download", "cancel"} <= set(group.list_commands(None))
