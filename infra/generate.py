"""`make infra`: write the JSON files the Bicep loads, generated from the code that uses them.

- `generated/search-index.json`: the Azure AI Search index definition (REST body), from
  `shared.documents.FIELDS` through the adapter's `index_definition_body`;
- `generated/event-filters.json`: the Event Grid subscription filter: the blob-created and
  blob-deleted events of `projects/`, minus what the pipeline writes itself or never indexes;
- `generated/lifecycle-policy.json`: the storage lifecycle policy, from
  `lifecycle.native.native_policy_document()`.

`render()` is pure (file name -> bytes), so a test can compare it with the committed files.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from shared.adapters.azure_search_payloads import index_definition_body
from shared.layout import SYSTEM_PREFIX
from shared.settings import Settings

GENERATED = Path(__file__).parent / "generated"
CONTAINER = str(Settings.model_fields["container"].default)
INDEX_NAME = str(Settings.model_fields["search_index"].default)
SUBJECT_PREFIX = f"/blobServices/default/containers/{CONTAINER}/blobs/"

# Storage APIs that raise BlobCreated (PutBlob, PutBlockList, CopyBlob; FlushWithClose on
# hierarchical-namespace accounts) and BlobDeleted (DeleteBlob; DeleteFile with a namespace).
EVENT_APIS = ["PutBlob", "PutBlockList", "CopyBlob", "FlushWithClose", "DeleteBlob", "DeleteFile"]
# Blobs the indexer never reads: pickles and Dockerfiles. A job's `.gz` log does come through:
# the handler refuses one the lifecycle did not write (it may be a gzip bomb).
NEVER_INDEXED_SUFFIXES = ["/package.pkl", "/result.pkl", "/Dockerfile"]


def search_index() -> dict[str, Any]:
    """The REST body of Create or Update Index for the default index name."""
    return index_definition_body(INDEX_NAME)


def event_filters() -> dict[str, Any]:
    """The `filter` of the Event Grid subscription, loaded as is by `eventgrid.bicep`."""
    return {
        "includedEventTypes": ["Microsoft.Storage.BlobCreated", "Microsoft.Storage.BlobDeleted"],
        "subjectBeginsWith": f"{SUBJECT_PREFIX}projects/",
        "isSubjectCaseSensitive": True,
        "enableAdvancedFilteringOnArrays": False,
        "advancedFilters": [
            {"operatorType": "StringIn", "key": "data.api", "values": EVENT_APIS},
            # the by-date copies are the pipeline's own writes: they must not trigger it again
            {"operatorType": "StringNotContains", "key": "subject", "values": ["/logs/by-date/"]},
            {
                "operatorType": "StringNotBeginsWith",
                "key": "subject",
                "values": [SUBJECT_PREFIX + SYSTEM_PREFIX],
            },
            {
                "operatorType": "StringNotEndsWith",
                "key": "subject",
                "values": NEVER_INDEXED_SUFFIXES,
            },
        ],
    }


def lifecycle_policy() -> dict[str, Any] | None:
    """The lifecycle policy (`{"rules": [...]}`), or None while `lifecycle.native` is missing."""
    try:
        native = importlib.import_module("lifecycle.native")
    except ModuleNotFoundError:
        return None
    make: Callable[[], dict[str, Any]] = native.native_policy_document
    document = make()
    return dict(document.get("policy", document))


def render() -> dict[str, bytes]:
    """Every generated file's name and content."""
    documents: dict[str, dict[str, Any] | None] = {
        "search-index.json": search_index(),
        "event-filters.json": event_filters(),
        "lifecycle-policy.json": lifecycle_policy(),
    }
    return {name: _json(doc) for name, doc in documents.items() if doc is not None}


def main(directory: Path = GENERATED) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    files = render()
    for name, content in files.items():
        (directory / name).write_bytes(content)
        print(f"wrote {directory / name}")
    if "lifecycle-policy.json" not in files:
        print(
            "skipped lifecycle-policy.json: lifecycle/native.py (native_policy_document) "
            "does not exist yet",
            file=sys.stderr,
        )
    return 0


def _json(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


if __name__ == "__main__":
    raise SystemExit(main())
