"""The listing that narrows around what fails to list (`shared.listing`), over a fake storage that
fails as Azurite does: any page or folder listing holding a name with a control character."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import StorageError, StorageUnreachable
from shared.listing import ListingMemory, Narrowing, Skipped, listed_before

PAGE = 3


def bad(name: str) -> bool:
    return any(ord(c) < 32 for c in name)


@dataclass
class AzuriteLike:
    """Names in a container; listings fail like Azurite's for a page holding a bad name."""

    names: set[str]
    calls: list[str] = field(default_factory=list)
    failures: int = 0

    def flat(self, prefix: str, probe: bool) -> Iterator[str]:
        self.calls.append(f"flat {prefix!r}")
        found = sorted(n for n in self.names if n.startswith(prefix))
        for start in range(0, len(found), PAGE):
            page = found[start : start + PAGE]
            if any(bad(n) for n in page):
                self.failures += 1
                raise StorageError(f"listing of {prefix!r}", "HTTP 500")
            yield from page

    def children(self, prefix: str) -> Iterator[str]:
        self.calls.append(f"walk {prefix!r}")
        entries = set()
        for name in self.names:
            if name.startswith(prefix):
                head, cut, _ = name[len(prefix) :].partition("/")
                entries.add(prefix + head + cut)
        if any(bad(e) for e in entries):
            self.failures += 1
            raise StorageError(f"listing of {prefix!r}", "HTTP 500")
        yield from sorted(entries)

    def narrowing(self, memory: ListingMemory | None = None) -> Narrowing[str]:
        return Narrowing(
            flat=self.flat,
            children=self.children,
            one=lambda n: n if n in self.names else None,
            name_of=lambda n: n,
            memory=memory or ListingMemory(),
        )


def job(user: str, n: int, file: str = "metadata.json") -> str:
    return f"projects/p/users/{user}/jobs/20260101-000000-{user}-p-0000000{n}-0000000{n}/{file}"


def test_a_bad_blob_only_costs_its_own_job_folder() -> None:
    """Jobs before and after the bad one (and other users') are listed, and the bad job's other
    blobs too (its folder's names are listed by next character): only names going on like the
    bad one, or with a character outside the layout's, are skipped."""
    names = {job("alice", n) for n in range(1, 6)} | {job("bob", 1), job("alice", 3, "x\x07")}
    store = AzuriteLike(names)
    narrowing = store.narrowing()
    listed = list(narrowing.run(""))
    assert listed == sorted(n for n in names if not bad(n))  # job 3's metadata sorts first
    [skipped] = narrowing.skipped
    assert skipped.prefix == job("alice", 3, "")
    assert skipped.covers(job("alice", 3, "x\x07"))
    assert skipped.covers(job("alice", 3, "~"))
    assert not skipped.covers(job("alice", 3, "y"))
    assert not skipped.covers(job("alice", 4))


def test_a_bad_folder_name_costs_only_the_names_going_on_like_it() -> None:
    """A user folder whose name holds a control character: the other users are listed; only
    the users going on with its next character (here `a`) wait."""
    names = {job("alice", 1), job("bob", 1), job("carol", 1), job("al\x07x", 1)}
    narrowing = AzuriteLike(names).narrowing()
    assert list(narrowing.run("")) == [job("bob", 1), job("carol", 1)]
    [skipped] = narrowing.skipped
    assert skipped.prefix == "projects/p/users/"
    assert skipped.covers(job("alice", 1))
    assert not skipped.covers(job("bob", 1))


def test_a_known_bad_prefix_is_gone_around_at_once_next_time() -> None:
    """The second listing goes straight around the remembered prefix: only that prefix is
    tried (and fails) again, not every level above it."""
    names = {job("alice", n) for n in range(1, 6)} | {job("alice", 3, "x\x07")}
    store, memory = AzuriteLike(names), ListingMemory()
    list(store.narrowing(memory).run(""))
    first = store.failures
    store.failures = 0
    again = store.narrowing(memory)
    assert len(list(again.run(""))) == 5  # job 3's folder is tried alone, and fails
    assert [s.prefix for s in again.skipped] == [job("alice", 3, "")]
    assert store.failures == 3 < first  # the folder's listing, its walk, its names at "x"
    store.names.discard(job("alice", 3, "x\x07"))
    healed = store.narrowing(memory)
    assert len(list(healed.run(""))) == 5
    assert healed.skipped == []
    assert memory.under("") == frozenset()


def test_storage_being_down_is_raised_not_narrowed() -> None:
    """An unreachable service is not a bad page: no narrowing, the error is raised."""

    def down(prefix: str, probe: bool) -> Iterator[str]:
        raise StorageUnreachable("storage is not reachable")
        yield prefix

    narrowing = Narrowing(down, lambda p: iter(()), lambda n: None, lambda n: n)
    try:
        list(narrowing.run(""))
    except StorageUnreachable:
        return
    raise AssertionError("expected StorageUnreachable")


def test_listed_before_knows_whole_folders() -> None:
    """A folder is listed already only when the last name listed sorts past all of it."""
    assert listed_before("a/b/", "a/c")
    assert not listed_before("a/b/", "a/b/x")
    assert listed_before("a/b", "a/b")
    assert not listed_before("a/b", None)


segment = st.text(alphabet="ab\x01", min_size=1, max_size=3)
name = st.lists(segment, min_size=1, max_size=3).map("/".join)


@settings(max_examples=300, deadline=None)
@given(st.sets(name, max_size=25))
def test_every_name_is_listed_or_in_a_skipped_part(names: set[str]) -> None:
    """For any names: listed names are good, strictly increasing, never duplicated; every good
    name is listed or inside a skipped part; every skipped part holds a bad name."""
    store = AzuriteLike(set(names))
    narrowing = store.narrowing()
    listed = list(narrowing.run(""))
    assert listed == sorted(set(listed))
    assert not any(bad(n) for n in listed)
    skipped: list[Skipped] = narrowing.skipped
    for n in names:
        assert n in listed or any(s.covers(n) for s in skipped), n
    for s in skipped:
        assert any(bad(n) and s.covers(n) for n in names), s
