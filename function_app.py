"""The Azure Functions app (Python v2 model): bindings and wiring only.

Nothing connects at import time: the host imports this file to discover the functions, and the
composition root builds the adapters on the first call.
"""

from __future__ import annotations

import logging

import azure.functions as func

app = func.FunctionApp()
log = logging.getLogger("ascend.functions")
