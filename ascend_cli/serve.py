"""`ascend serve`: the HTTP query API (the same FastAPI app as the Functions HTTP function),
served by uvicorn on 127.0.0.1."""

from __future__ import annotations

from typing import Annotated

import typer

from ascend_cli.common import handle_errors, note, principal, services


@handle_errors
def serve(
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port on 127.0.0.1.")] = 8000,
    as_cli_user: Annotated[
        bool,
        typer.Option(
            "--as-cli-user",
            help="Requests without X-MS-CLIENT-PRINCIPAL act as ASCEND_USER/ASCEND_ROLES "
            "(local use only: there is no App Service authentication in front).",
        ),
    ] = False,
) -> None:
    """The HTTP query API on 127.0.0.1 (OpenAPI at /api/docs)."""
    import uvicorn

    from api import create_app

    app = create_app(services, anonymous_as=principal() if as_cli_user else None)
    if not as_cli_user:
        note(
            "requests need the X-MS-CLIENT-PRINCIPAL header (see the README's curl example); "
            "--as-cli-user serves them as ASCEND_USER instead"
        )
    note(
        f"query API on http://127.0.0.1:{port}/api/jobs (docs: http://127.0.0.1:{port}/api/docs)"
        "; Ctrl-C stops it"
    )
    # One access-log line per request (method, path, status) on stderr, as a local server shows.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info", access_log=True)
