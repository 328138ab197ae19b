"""Listing a prefix around the part of it that fails to list (pure: storage comes as callables).

One bad blob name (Azurite answers 500 for any page that holds a name with a control character)
would otherwise end every listing of every prefix above it, for as long as the blob exists. When
a flat listing fails, the prefix is narrowed: its children one level down (a listing with the
`/` delimiter) are grouped by the first character after their common stem, and each group is
listed flat on its own, so only the group holding the bad name fails and is narrowed again. The
narrowing ends at the smallest prefix whose children cannot be listed at all; there the names
going on with each character of the layout's names (letters, digits, `-._`) are listed apart,
and only the rest of that prefix (past the last name already listed: the names going on with a
character whose listing failed, or with another character) is skipped and reported (`Skipped`);
everything else is listed, in the same pass. Prefixes skipped once are remembered
(`ListingMemory`): the next listing goes around them at once and tries each of them again on
its own.
"""

from __future__ import annotations

import logging
import os
import string
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from shared.errors import (
    AscendError,
    BlobNotFound,
    NotSignedIn,
    StorageError,
    StorageUnreachable,
)
from shared.ports import BlobProps

T = TypeVar("T")
log = logging.getLogger("ascend.listing")
# The characters of the layout's names (projects, users, job IDs, file names), in name order:
# where a folder's names cannot be listed, those going on with each of them are listed apart.
PROBE_CHARACTERS = "".join(sorted(string.ascii_letters + string.digits + "-._"))
PROBE_ROUNDS = 4  # folders per listing narrowed that way (65 requests each)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A part of a listing that could not be listed: the names under `prefix` after `after`."""

    prefix: str
    after: str | None
    reason: str
    listed: tuple[str, ...] = ()  # longer prefixes under `prefix` that were listed on their own

    def covers(self, name: str) -> bool:
        """Whether `name` falls in the part that was not listed."""
        return (
            name.startswith(self.prefix)
            and (self.after is None or name > self.after)
            and not any(name.startswith(p) for p in self.listed)
        )

    def describe(self) -> str:
        past = f" after {self.after!r}" if self.after else ""
        heads = sorted({p[len(self.prefix) :] for p in self.listed})
        but = f" but those going on with {''.join(heads)!r}" if heads else ""
        return f"{self.prefix!r}{past}{but} ({self.reason})"


class ListingIncomplete(StorageError):
    """A listing that listed everything it could, but skipped prefixes that fail to list."""

    def __init__(self, prefix: str, skipped: Sequence[Skipped]) -> None:
        self.skipped = tuple(skipped)
        parts = "; ".join(s.describe() for s in self.skipped)
        super().__init__(f"listing of {prefix!r}", f"skipped what fails to list: {parts}")


@dataclass
class ListingMemory:
    """The prefixes skipped by earlier listings of one store (shared by its threads)."""

    suspects: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def under(self, prefix: str) -> frozenset[str]:
        with self.lock:
            return frozenset(s for s in self.suspects if s.startswith(prefix))

    def settle(self, prefix: str, skipped: Sequence[Skipped]) -> None:
        """After a whole listing of `prefix`: what it skipped replaces what was known under it."""
        with self.lock:
            self.suspects = {s for s in self.suspects if not s.startswith(prefix)}
            self.suspects.update(s.prefix for s in skipped)


@dataclass
class Narrowing(Generic[T]):
    """One listing of a prefix with narrowing. `flat(prefix, probe)` lists every blob under a
    prefix (`probe`: a narrowing step, worth fewer retries); `children(prefix)` the names one
    level down (virtual folders end with `/`); `one(name)` a single blob by name; `name_of` an
    item's name. After iterating, `skipped` says what could not be listed."""

    flat: Callable[[str, bool], Iterator[T]]
    children: Callable[[str], Iterator[str]]
    one: Callable[[str], T | None]
    name_of: Callable[[T], str]
    memory: ListingMemory = field(default_factory=ListingMemory)
    skipped: list[Skipped] = field(default_factory=list)
    probe_rounds: int = PROBE_ROUNDS  # rounds of listings by next character left

    def run(self, prefix: str) -> Iterator[T]:
        """Every blob under `prefix` that can be listed, in name order."""
        suspects = self.memory.under(prefix)
        yield from self._list(prefix, None, suspects, probe=False)
        self.memory.settle(prefix, self.skipped)

    def _list(
        self, prefix: str, after: str | None, suspects: frozenset[str], *, probe: bool
    ) -> Iterator[T]:
        """The blobs under `prefix` named after `after`; narrowed if the flat listing fails
        (at once when a known bad prefix lies strictly below)."""
        last = after
        if not any(s != prefix and s.startswith(prefix) for s in suspects):
            try:
                for item in self.flat(prefix, probe):
                    name = self.name_of(item)
                    if last is None or name > last:
                        last = name
                        yield item
                return
            except AscendError as exc:
                if not narrowable(exc):
                    raise
                log.warning("listing of %r failed, narrowing it: %s", prefix, exc)
        yield from self._narrow(prefix, last, suspects)

    def _narrow(self, prefix: str, after: str | None, suspects: frozenset[str]) -> Iterator[T]:
        """List `prefix` group by group below it; skip it when even its children fail."""
        try:
            names = [c for c in self.children(prefix) if not listed_before(c, after)]
        except AscendError as exc:
            if not narrowable(exc):
                raise
            listed = yield from self._by_next_character(prefix, after)
            self.skipped.append(Skipped(prefix, after, " ".join(str(exc).split()), listed))
            log.warning("skipped %s", self.skipped[-1].describe())
            return
        # characters, not path parts: groups split within a name, e.g. among job IDs
        stem = os.path.commonprefix(names) if names else prefix  # noqa: RUF071
        for name in names:
            if name == stem and not name.endswith("/"):  # a blob named exactly the stem
                item = self.one(name)
                if item is not None:
                    yield item
        groups = sorted({stem + n[len(stem)] for n in names if n != stem})
        if stem in names and stem.endswith("/"):  # one folder alone: go into it
            groups = [stem]
        for group in groups:
            yield from self._list(group, after, suspects, probe=True)

    def _by_next_character(
        self, prefix: str, after: str | None
    ) -> Generator[T, None, tuple[str, ...]]:
        """Even the names one level down fail (the bad name is one of them): list the names
        going on with each character of the layout's names on their own (one flat listing
        each, no deeper); the prefixes that listed. A few rounds per listing, then none."""
        if self.probe_rounds <= 0:
            return ()
        self.probe_rounds -= 1
        listed: list[str] = []
        for probe in (prefix + c for c in PROBE_CHARACTERS):
            try:
                items = [
                    i for i in self.flat(probe, True) if not listed_before(self.name_of(i), after)
                ]
            except AscendError as exc:
                if not narrowable(exc):
                    raise
                continue
            listed.append(probe)
            yield from items
        return tuple(listed)


def listed_before(name: str, after: str | None) -> bool:
    """Whether every blob under `name` (a blob, or a folder ending with `/`) sorts before or at
    `after`, i.e. was listed already."""
    if after is None:
        return False
    if name.endswith("/"):
        return after > name and not after.startswith(name)
    return name <= after


def narrowable(exc: AscendError) -> bool:
    """A failure a narrower listing may avoid; not storage being down, unauthorized or gone."""
    return not isinstance(exc, StorageUnreachable | NotSignedIn | BlobNotFound)


class StoppableListing:
    """A listing that ends, instead of raising, at a storage failure: what was listed is still
    handled, `error` says why the rest was not, and the next pass lists again. A listing that
    went around prefixes failing to list (`ListingIncomplete`: one bad blob name makes Azurite
    answer 500) names them in `skipped`; everything outside them was listed."""

    def __init__(self, listing: Iterable[BlobProps]) -> None:
        self.listing = listing
        self.error: str | None = None
        self.skipped: tuple[Skipped, ...] = ()
        self.failure: AscendError | None = None  # a failure other than skipped prefixes

    def __iter__(self) -> Iterator[BlobProps]:
        try:
            yield from self.listing
        except ListingIncomplete as exc:
            self.error, self.skipped = " ".join(str(exc).split()), exc.skipped
            log.warning("%s; tried again on the next listing", self.error)
        except AscendError as exc:
            self.error, self.failure = " ".join(str(exc).split()), exc
            log.warning("listing stopped early, the rest waits for the next pass: %s", exc)

    def lists(self, name: str) -> bool:
        """Whether the listing covered `name` (absent from it means deleted)."""
        if self.error is None:
            return True
        return bool(self.skipped) and not any(s.covers(name) for s in self.skipped)

    def raise_failure(self) -> None:
        """Raise the failure that stopped the listing, if it was more than skipped prefixes."""
        if self.failure is not None:
            raise self.failure
