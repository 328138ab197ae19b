"""Reconcile by partition against Azurite and a real index file: an invocation killed in the
middle of its work (storage gone mid-slice) is finished by the next one, with nothing skipped
and nothing redone; partitions are found from the `created` tag."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ascend_cli.azurite import Azurite
from indexer.reconcile_partition import changed_partitions, reconcile_partition
from shared.adapters.azure_blob import AzureBlobStore, RetryPolicy
from shared.errors import TransientError
from shared.partitions import Budget, Partition, read_progress
from shared.services import Services
from shared.settings import azurite_connection_string
from tests.conftest import NOW
from tests.support.events import make_metadata, write_job
from tests.support.faultproxy import FOREVER, FaultProxy

DAY = NOW - timedelta(hours=6)


def test_changed_partitions_come_from_the_created_tag(services: Services) -> None:
    """Jobs of two projects on one day and one older job: two partitions since yesterday."""
    write_job(services.blobs, make_metadata(run="00000001", created=DAY))
    write_job(services.blobs, make_metadata(run="00000002", project="vision", created=DAY))
    write_job(services.blobs, make_metadata(run="00000003", created=DAY - timedelta(days=9)))
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
        write_job(services.blobs, make_metadata(run=f"{n:08x}", created=DAY)) for n in range(20)
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
            reconcile_partition(dying, part, Budget.start(600))
    before = {str(j) for j in jobs if services.index.get(str(j)) is not None}
    assert 0 < len(before) < 20
    killed = read_progress(good, part)
    assert not killed.done
    progress = reconcile_partition(services, part, Budget.start(600))
    assert progress.done
    assert all(services.index.get(str(j)) is not None for j in jobs)
    fresh = progress.counts["indexed"] - killed.counts["indexed"]
    assert fresh == 20 - len(before)  # nothing indexed twice, nothing skipped
    assert progress.counts["indexed"] + progress.counts["unchanged"] == 20
