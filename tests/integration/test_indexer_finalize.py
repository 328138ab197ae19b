"""Finishing a log against Azurite: the copy never mixes two versions of a log that is still
being written to."""

from __future__ import annotations

from indexer.finalize import finalize_log
from shared.layout import by_date_log_path, log_path
from shared.services import Services
from tests.support.builders import EVENTS_CREATED, lines, log_record, make_metadata, write_job


def test_a_log_that_grew_after_it_was_listed_is_copied_as_it_is_now(services: Services) -> None:
    """Stale listed properties make the copy fail its etag check and start again: the copy and
    the stats end up matching the whole, current log."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    listed = services.blobs.props(log_path(job))
    assert listed is not None
    services.blobs.append(log_path(job), lines([log_record(str(job), "ERROR", "late")]))
    facts = finalize_log(services.blobs, job, listed, retain=False, previous=None)
    assert facts.stats is not None
    assert (facts.stats.lines, facts.stats.last_error) == (6, "late")
    copy = b"".join(services.blobs.read_chunks(by_date_log_path(job)))
    assert copy == b"".join(services.blobs.read_chunks(log_path(job)))


def test_a_job_without_a_log_has_empty_stats_and_no_copy(services: Services) -> None:
    """A job cancelled before it started has zero log lines and no by-date copy."""
    job = write_job(services.blobs, make_metadata(created_at=EVENTS_CREATED))
    services.blobs.delete(log_path(job))
    facts = finalize_log(services.blobs, job, None, retain=False, previous=None)
    assert facts.stats is not None
    assert facts.stats.lines == 0
    assert services.blobs.props(by_date_log_path(job)) is None
