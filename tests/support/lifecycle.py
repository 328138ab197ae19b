"""A double for the lifecycle tests: a real store that dies after k writes (seeded jobs come
from `tests.support.builders.seed_job(..., every_blob=True)`)."""

from __future__ import annotations

from typing import Any

from shared.ports import BlobStore


class Killed(BaseException):
    """The process died (not an error anyone handles): raised by `DyingBlobStore`."""


class DyingBlobStore:
    """A real store that 'dies' (raises `Killed`) on the (k+1)-th change it is asked to make."""

    CHANGES = frozenset({"set_tier", "delete", "write", "append", "create_append", "set_tags"})

    def __init__(self, inner: BlobStore, changes_allowed: int) -> None:
        self.inner = inner
        self.left = changes_allowed

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name not in self.CHANGES:
            return attribute

        def change(*args: Any, **kwargs: Any) -> Any:
            if self.left <= 0 and not _is_audit(args):
                raise Killed(f"killed before {name}{args[:1]}")
            if not _is_audit(args):
                self.left -= 1
            return attribute(*args, **kwargs)

        return change


def _is_audit(args: tuple[Any, ...]) -> bool:
    return bool(args) and str(args[0]).startswith("_ascend/audit/")
