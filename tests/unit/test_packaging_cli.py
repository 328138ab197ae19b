"""Packaging of the `ascend` command: a plain install has what it needs, and a missing library is
one line saying what to install, never a ModuleNotFoundError traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def test_a_plain_install_brings_the_libraries_the_command_imports() -> None:
    """typer, rich and uvicorn are dependencies, not an extra; the script is the guarded entry."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {Requirement(r).name for r in project["dependencies"]}
    assert {"typer", "rich", "uvicorn"} <= names
    assert project["scripts"]["ascend"] == "ascend_cli.entry:main"


def test_a_missing_library_is_one_line_not_a_traceback() -> None:
    """With typer unimportable, `ascend` exits 1 with one line naming it and what to run."""
    code = (
        "import sys; sys.modules['typer'] = None; sys.argv = ['ascend', '--help']; "
        "from ascend_cli.entry import main; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "'typer' is missing: pip install" in done.stderr
    assert "Traceback" not in done.stderr


def _tree_copy(destination: Path) -> Path:
    """The repository's files as a fresh clone has them (no venv, caches or build output)."""
    shutil.copytree(
        ROOT,
        destination,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv*",
            "node_modules",
            "build",
            "*.egg-info",
            ".ascend",
            "__pycache__",
            ".*_cache",
            ".hypothesis",
        ),
    )
    return destination


def _pip_wheel(tree: Path, out: Path) -> subprocess.Popen[str]:
    """`pip wheel .` offline: the venv's own setuptools (no build isolation, no index)."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"),
            *("--no-index", "-q", ".", "-w", str(out)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tree,
    )


@pytest.mark.slow
def test_two_wheels_built_at_once_offline_leave_nothing_in_the_tree(tmp_path: Path) -> None:
    """`pip wheel .` needs no network, two builds at once do not share a build folder, and
    neither leaves `build/` or an egg-info folder in the source tree."""
    tree = _tree_copy(tmp_path / "tree")
    builds = [_pip_wheel(tree, tmp_path / f"out{n}") for n in (1, 2)]
    for build in builds:
        _, err = build.communicate(timeout=600)
        assert build.returncode == 0, err
    for n in (1, 2):
        wheels = [w.name for w in (tmp_path / f"out{n}").iterdir()]
        assert wheels == ["ascend_index-0.1.0-py3-none-any.whl"]
    assert not (tree / "build").exists()
    assert not list(tree.glob("*.egg-info"))


def test_the_command_starts_without_importing_packaging() -> None:
    """`ascend jobs list` on the embedded index loads no `packaging` (~20 ms of start-up): it is
    imported only where a requirement is parsed."""
    code = (
        "import sys, ascend_cli.main, ascend_cli.jobs, shared.adapters.sqlite_index, "
        "query.parser, shared.jobid, shared.services; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'packaging'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"
