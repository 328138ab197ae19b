"""Blob events in both schemas become one `BlobEvent`; anything else is refused in one line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from indexer.events import (
    CREATED,
    content_version,
    event_from_dict,
    event_from_function,
    grid_event,
    is_version_of,
    parse_subject,
)
from shared.errors import InvalidInput
from shared.ports import BlobProps
from tests.support.events import cloud_event, function_event

NAME = "projects/p/users/u/jobs/x/metadata.json"
PROPS = BlobProps(
    name=NAME,
    size=12,
    etag="0x8DC1",
    content_type="application/json",
    last_modified=datetime(2026, 3, 14, 12, 0, 0, tzinfo=UTC),
)


def test_the_local_event_has_the_fields_azure_sends() -> None:
    """The worker's BlobCreated event carries api, url, eTag, sizes, type and sequencer."""
    payload = grid_event("ascend-data", PROPS)
    assert payload["subject"] == f"/blobServices/default/containers/ascend-data/blobs/{NAME}"
    assert payload["eventType"] == CREATED
    data = payload["data"]
    assert {"api", "url", "eTag", "contentType", "contentLength", "blobType", "sequencer"} <= set(
        data
    )
    assert data["url"].endswith(f"/ascend-data/{NAME}")
    assert len(data["sequencer"]) == 32


def test_both_schemas_and_both_function_objects_give_the_same_event() -> None:
    """Event Grid dict, CloudEvents dict, func.EventGridEvent and func.CloudEvent agree."""
    payload = grid_event("c", PROPS)
    cloud = {
        "specversion": "1.0",
        "id": payload["id"],
        "type": payload["eventType"],
        "source": payload["topic"],
        "subject": payload["subject"],
        "time": payload["eventTime"],
        "data": payload["data"],
    }
    events = [
        event_from_dict(payload),
        event_from_dict(cloud),
        event_from_function(function_event(payload)),
        event_from_function(cloud_event(payload)),
    ]
    assert len(set(events)) == 1
    assert events[0].etag == "0x8DC1"  # quotes stripped
    assert (events[0].container, events[0].blob) == ("c", NAME)


def test_a_subject_that_is_not_a_blob_is_refused_with_the_reason() -> None:
    """A subject outside /blobServices/default/containers/ raises InvalidInput."""
    with pytest.raises(InvalidInput, match="is not a blob subject"):
        parse_subject("/subscriptions/x")


def test_versions_sort_by_time_and_name_their_etag() -> None:
    """A later write sorts later, and the version ends in the etag it was made from."""
    later = BlobProps(
        name=NAME, size=1, etag="0x1", last_modified=datetime(2026, 3, 15, tzinfo=UTC)
    )
    assert content_version(later) > content_version(PROPS, "0000ff")
    assert is_version_of(content_version(PROPS, "0000ff"), "0x8DC1")
    assert not is_version_of(content_version(PROPS), "0x8DC")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_any_json_is_either_a_blob_event_or_a_clear_refusal(payload: object) -> None:
    """Arbitrary JSON never crashes the parser: a BlobEvent or an InvalidInput."""
    try:
        event = event_from_dict(payload)
    except InvalidInput as exc:
        message = str(exc)
    else:
        message = event.blob
    assert message


@given(
    st.text(min_size=1, max_size=60).filter(lambda s: "/" not in s),
    st.text(min_size=1, max_size=80),
)
def test_subjects_round_trip_container_and_blob(container: str, blob: str) -> None:
    """Any container and blob name survive the subject format."""
    subject = f"/blobServices/default/containers/{container}/blobs/{blob}"
    assert parse_subject(subject) == (container, blob)
