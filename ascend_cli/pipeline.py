"""`ascend pipeline ...`: the local event worker, reconcile, rejected inputs."""

from __future__ import annotations

import typer

app = typer.Typer(help="The indexing pipeline: run it locally, reconcile, list rejected inputs.",
                  no_args_is_help=True)
