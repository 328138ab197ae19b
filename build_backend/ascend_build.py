"""The build backend of `pip install .` / `pip wheel .`: setuptools', building in a temporary
folder of its own instead of the source tree.

setuptools builds in `build/` and writes `ascend_index.egg-info/` next to the sources, so a
plain install left both in the tree, and a fixed folder elsewhere would be shared by two builds
running at once. Each wheel here is built under a new `tempfile.mkdtemp` folder, named to
setuptools through `DIST_EXTRA_CONFIG` (a distutils config file it reads besides setup.cfg),
and removed afterwards. Everything else is setuptools.build_meta as it is.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from setuptools import build_meta
from setuptools.build_meta import (  # noqa: F401 - the rest of the PEP 517/660 hooks, as they are
    build_editable,
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
)


@contextmanager
def _own_build_folder() -> Iterator[None]:
    """setuptools' build/ and egg-info folders in a new temporary folder, for this build only."""
    base = Path(tempfile.mkdtemp(prefix="ascend-index-build-"))
    config = base / "build.cfg"
    config.write_text(
        f"[build]\nbuild_base = {base / 'build'}\n\n[egg_info]\negg_base = {base}\n",
        encoding="utf-8",
    )
    before = os.environ.get("DIST_EXTRA_CONFIG")
    os.environ["DIST_EXTRA_CONFIG"] = str(config)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("DIST_EXTRA_CONFIG", None)
        else:
            os.environ["DIST_EXTRA_CONFIG"] = before
        shutil.rmtree(base, ignore_errors=True)


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    """setuptools' wheel, built outside the source tree."""
    with _own_build_folder():
        return build_meta.build_wheel(wheel_directory, config_settings, metadata_directory)


def prepare_metadata_for_build_wheel(
    metadata_directory: str, config_settings: dict[str, Any] | None = None
) -> str:
    """setuptools' wheel metadata, its egg-info written outside the source tree."""
    with _own_build_folder():
        return build_meta.prepare_metadata_for_build_wheel(metadata_directory, config_settings)
