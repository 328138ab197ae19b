"""The HTTP query API (FastAPI), served by the Functions app and by `ascend serve`."""
