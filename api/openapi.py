"""The API's OpenAPI document, made to say what the API really answers.

FastAPI documents 422 for every bad parameter, but the API answers 400 (one-line `detail`), and it
leaves out the project's own errors. `documented_openapi` rewrites each `/api/` operation: 422
becomes 400, and 401 (no or refused principal), 404 (a job you may not see), 429 (too many follow
streams) and 503 (index or storage unavailable) are listed with the error body they carry. A log
`level` parameter is declared as the pattern of the level names the API accepts, and optional
parameters lose FastAPI's `null` alternative (no query string or header can send a null).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shared.logrecords import LEVELS

ERROR_SCHEMA = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string"}},
}
_REASONS = {
    "400": "a parameter is invalid (one-line reason in `detail`)",
    "401": "no usable X-MS-CLIENT-PRINCIPAL, or the platform's authentication is off",
    "503": "the index or storage is unavailable",
}
_ON_JOB = {"404": "no such job, or one the caller may not see", "409": "the job's log is archived"}
_ON_FOLLOW = {"429": "too many follow streams open (per caller or in all)"}
# What `query.logfilter.parse_level` accepts: each level, WARN and FATAL.
_LEVEL_NAMES = (*LEVELS, "WARN", "FATAL")
# In any ASCII case, as a pattern JSON Schema can say (no inline flags): `[Ii][Nn][Ff][Oo]`;
# empty (no filter) or with spaces and tabs around, as `parse_level` reads it.
_ANY_CASE = "|".join("".join(f"[{c.upper()}{c.lower()}]" for c in n) for n in _LEVEL_NAMES)
LEVEL_PATTERN = f"^[ \\t]*(?:{_ANY_CASE})?[ \\t]*$"


def documented_openapi(api: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with the statuses the API really answers (cached)."""
    if api.openapi_schema is None:
        schema = get_openapi(
            title=api.title, version=api.version, description=api.description, routes=api.routes
        )
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        for path, operations in schema.get("paths", {}).items():
            if path.startswith("/api/"):
                for operation in operations.values():
                    _document(path, operation)
        api.openapi_schema = schema
    return api.openapi_schema


def _document(path: str, operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", ()):
        parameter["schema"] = _without_null(parameter.get("schema", {}))
        if parameter.get("in") == "query" and parameter.get("name") == "level":
            parameter["schema"] = {"type": "string", "pattern": LEVEL_PATTERN, "title": "Level"}
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    extra = dict(_REASONS)
    if "{job_id}" in path:
        extra.update(_ON_JOB)
    if path.endswith("/logs"):
        extra.update(_ON_FOLLOW)
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for status, reason in extra.items():
        responses.setdefault(status, {"description": reason, "content": body})


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter's schema without FastAPI's `anyOf [..., null]`: a query string or
    header has no null (an absent parameter is the default, as `required: false` says)."""
    options = schema.get("anyOf")
    if not isinstance(options, list):
        return schema
    kept = [o for o in options if o != {"type": "null"}]
    if len(kept) != 1 or len(kept) == len(options):
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**kept[0], **rest}
