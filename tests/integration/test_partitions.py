"""Reconcile by partition against Azurite and a real index file: an invocation killed in the
middle of its work (storage gone mid-slice) is finished by the next one, with nothing skipped
and nothing redone; partitions are found from the `created` tag."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ascend_cli.azurite import Azurite
from indexer.reconcile_partition import (
    changed_partitions,
    reconcile_partition,
    reconcile_recent,
    schedule_reconcile,
    tagged_partitions,
)
from shared.adapters.azure_blob import AzureBlobStore, RetryPolicy
from shared.errors import TransientError
from shared.partitions import Budget, Partition, read_progress
from shared.services import Services
from shared.settings import azurite_connection_string
from tests.conftest import NOW
from tests.support.bare import bare_job, container_of
from tests.support.builders import lines, log_record, make_metadata, write_job
from tests.support.faultproxy import FOREVER, FaultProxy

DAY = NOW - timedelta(hours=6)


def test_changed_partitions_come_from_the_created_tag(services: Services) -> None:
    """Jobs of two projects on one day and one older job: two partitions since yesterday."""
    write_job(services.blobs, make_metadata(run_hash="00000001", created_at=DAY))
    write_job(services.blobs, make_metadata(run_hash="00000002", project="vision", created_at=DAY))
    write_job(
        services.blobs, make_metadata(run_hash="00000003", created_at=DAY - timedelta(days=9))
    )
    parts = changed_partitions(services.blobs, "r1", DAY.date() - timedelta(days=1), NOW.date())
    assert [(p.project, p.day) for p in parts] == [
        ("frauddetect", DAY.date()),
        ("vision", DAY.date()),
    ]


def test_a_partition_killed_mid_slice_is_finished_by_the_next_invocation(
    services: Services, azurite: Azurite
) -> None:
    """Storage vanishes part-way through the first invocation's work: it raises, its marker
    stays before the unfinished slice; the next invocation indexes the rest and finds the jobs
    done before the kill current, so every job is indexed exactly once."""
    jobs = [
        write_job(services.blobs, make_metadata(run_hash=f"{n:08x}", created_at=DAY))
        for n in range(20)
    ]
    part = Partition("reconcile", "20260314T013000", "frauddetect", DAY.date())
    good = services.blobs
    with FaultProxy(azurite.port) as proxy:
        via = services.settings.model_copy(
            update={"storage_connection_string": azurite_connection_string(port=proxy.port)}
        )
        dying = services.using(
            blobs=AzureBlobStore.from_settings(via, retry=RetryPolicy(2, 20, 0.01, 0.02))
        )
        proxy.inject("drop", times=FOREVER, after=60)  # the listings and a few jobs' work
        with pytest.raises(TransientError):
            reconcile_partition(
                dying.blobs,
                dying.index,
                dying.clock,
                dying.settings,
                part,
                budget=Budget.start(600),
            )
    before = {str(j) for j in jobs if services.index.get(str(j)) is not None}
    assert 0 < len(before) < 20
    killed = read_progress(good, part)
    assert not killed.done
    progress = reconcile_partition(
        services.blobs,
        services.index,
        services.clock,
        services.settings,
        part,
        budget=Budget.start(600),
    )
    assert progress.done
    assert all(services.index.get(str(j)) is not None for j in jobs)
    fresh = progress.counts["indexed"] - killed.counts["indexed"]
    assert fresh == 20 - len(before)  # nothing indexed twice, nothing skipped
    assert progress.counts["indexed"] + progress.counts["unchanged"] == 20


def test_the_daily_reconcile_finds_an_untagged_job_whose_event_was_lost(
    services: Services,
) -> None:
    """A bare-SDK job written today without tags, and no event handled: the `created` tag
    cannot name its partition, the listing of its user's `jobs/{day}-` folder does, and the
    next daily reconcile indexes it."""
    meta = make_metadata(run_hash="0000000b", created_at=DAY)
    bare_job(container_of(services.blobs), meta, lines([log_record(meta["job_id"])]))
    write_job(
        services.blobs, make_metadata(run_hash="0000000c", created_at=DAY - timedelta(days=9))
    )
    since = DAY.date() - timedelta(days=1)
    assert tagged_partitions(services.blobs, since, NOW.date()) == set()
    parts = schedule_reconcile(services.blobs, services.settings, NOW)
    assert [(p.project, p.day) for p in parts] == [("frauddetect", DAY.date())]
    assert (
        reconcile_recent(services.blobs, services.index, services.clock, services.settings, 1)[
            "indexed"
        ]
        == 1
    )
    doc = services.index.get(meta["job_id"])
    assert doc is not None
    assert doc["status"] == "completed"
    assert services.index.count() == 1  # the older job is outside the window
