"""The exceptions of ascend-index: one small tree, each named after its condition.

Bad input (`InvalidInput` and its children) carries the thing it was about and the reason, and
prints as one line. Failures of the world are `TransientError` (a retry may cure it) or
`StorageError` / `SearchIndexError` (it will not). Adapters translate SDK exceptions into this tree
in one place each.
"""

from __future__ import annotations


class AscendError(Exception):
    """Base of every exception raised on purpose by ascend-index."""


class InvalidInput(AscendError, ValueError):
    """Input that can never be accepted: names the input and the reason in one line."""

    def __init__(self, subject: str, reason: str) -> None:
        self.subject = subject
        self.reason = reason
        super().__init__(f"{subject}: {reason}")


class InvalidName(InvalidInput):
    """A user, project, artifact type or extension that does not sanitize to a usable name."""


class InvalidJobId(InvalidInput):
    """Text that is not a job ID."""


class InvalidBlobPath(InvalidInput):
    """A blob name outside the storage layout."""


class InvalidMetadata(InvalidInput):
    """A metadata.json that does not validate."""


class TransientError(AscendError):
    """A failure a later retry may cure: timeouts, throttling, resets, 5xx."""

    # Whether retrying within the same call may help; False where the answer was definite for
    # now (nothing listens): the caller fails at once, and a later pass or command tries again.
    retry_at_once = True


class StorageUnreachable(TransientError):
    """Blob storage did not answer at all (connection refused, no such host)."""


class StorageAbsent(StorageUnreachable):
    """Nothing is there to answer: the connection was refused (Azurite not started, a wrong
    port) or the host name does not exist (a mistyped account URL). Said at once, not after
    seconds of retries that cannot change it."""

    retry_at_once = False


class StorageError(AscendError):
    """A permanent blob storage failure, naming the blob."""

    def __init__(self, blob: str, reason: str) -> None:
        self.blob = blob
        self.reason = reason
        super().__init__(f"{blob}: {reason}")


class NotSignedIn(StorageError):
    """No credential for the storage account: nobody is signed in to Azure."""


class BlobNotFound(StorageError):
    """The blob (or its container) does not exist."""


class BlobExists(StorageError):
    """A create-only write lost: the blob is already there."""


class PreconditionFailed(StorageError):
    """A conditional write or delete lost: etag, append position or tag condition did not match."""


class BlobArchived(StorageError):
    """The blob is in the Archive tier and cannot be read until it is rehydrated."""


class SearchIndexError(AscendError):
    """A permanent failure of the search index."""


class Unsupported(SearchIndexError):
    """The configured search index cannot answer this kind of question (e.g. sums on Azure AI
    Search, whose facets only count)."""


class InternalError(AscendError):
    """A broken invariant of ascend-index itself (a bug): never bad input or the world."""


class AccessDenied(AscendError):
    """The principal may not see or change what it asked for."""


class JobNotFound(AscendError):
    """No job by that ID that the principal may see: never says whether another user's exists."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"job {job_id}: not found")


class JobFinished(AscendError):
    """The job already reached a final status, so it can no longer change (e.g. be cancelled)."""

    def __init__(self, job_id: str, status: str) -> None:
        self.job_id = job_id
        self.status = status
        super().__init__(f"job {job_id}: is already {status} and cannot be cancelled")
