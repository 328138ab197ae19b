"""The indexer's name for `shared.jobdocument`: building a job's search document (pure)."""

from shared.jobdocument import (
    DEFAULT_TIER,
    LogFacts,
    build_document,
    job_cost,
    job_duration,
    log_fields,
    package_name,
    package_names,
    stats_from_document,
    week_of,
)

__all__ = [
    "DEFAULT_TIER",
    "LogFacts",
    "build_document",
    "job_cost",
    "job_duration",
    "log_fields",
    "package_name",
    "package_names",
    "stats_from_document",
    "week_of",
]
