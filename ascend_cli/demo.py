"""`ascend demo ...`: write realistic jobs into storage, the way Ascend jobs do."""

from __future__ import annotations

import typer

app = typer.Typer(help="Demo data for the local stack.", no_args_is_help=True)
