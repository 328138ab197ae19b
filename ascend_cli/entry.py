"""The `ascend` console script: the command, or one line saying what to install when a library
it needs is missing (never a ModuleNotFoundError traceback)."""

from __future__ import annotations

import sys


def main() -> None:
    """Run `ascend`; a missing dependency is one line on stderr and exit status 1."""
    try:
        from ascend_cli.main import main as run
    except ModuleNotFoundError as exc:
        sys.exit(
            f"ascend: the Python package {exc.name!r} is missing: "
            "pip install --upgrade ascend-index (in the environment ascend runs from)"
        )
    run()


if __name__ == "__main__":
    main()
