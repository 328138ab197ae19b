"""The HTTP query API (FastAPI), served by the Functions app and by `ascend serve`.

`create_app(services_factory=...)` builds it over a composition root; `app` is the one over the
process-wide root, built without connecting to anything (the first request does).
"""

from api.app import create_app

app = create_app()

__all__ = ["app", "create_app"]
