"""Long jobs in bounded slices: partitions of the work, their queue messages and progress markers.

Reconcile and the retention sweep split their work by (project, creation day of the job). Each
partition is one queue message; one invocation works through a partition's jobs in job-ID order
until its time budget runs out, and records how far it got in a marker under
`_ascend/progress/{task}/{run}/{project}/{day}.json` (the last job done, whether the partition is
finished, and the counts so far). The next invocation of the same partition continues after that
job; a finished partition is not worked again. A marker is written only after a whole slice is
done, so an invocation killed in the middle of a slice leaves the slice to be worked again: the
work itself is idempotent (both reconcile and the sweep derive it from the current state), and
what was finished before the kill is found done and not repeated.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import orjson

from shared.errors import BlobNotFound, InvalidInput
from shared.layout import SYSTEM_PREFIX
from shared.ports import BlobStore
from shared.querytree import Compare

T = TypeVar("T")
PROGRESS = f"{SYSTEM_PREFIX}progress"  # _ascend/progress
TASKS = ("reconcile", "sweep")
_NAME = re.compile(r"[a-z0-9_]{1,16}")
_RUN = re.compile(r"[A-Za-z0-9T:_-]{1,40}")


@dataclass(frozen=True, slots=True, order=True)
class Partition:
    """One slice of a task's run: the jobs of one project created on one day (UTC)."""

    task: str
    run: str
    project: str
    day: date

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise InvalidInput(f"partition task {self.task!r}", f"not one of {', '.join(TASKS)}")
        if not _RUN.fullmatch(self.run):
            raise InvalidInput(f"partition run {self.run!r}", "letters, digits, T:_- only")
        if not _NAME.fullmatch(self.project):
            raise InvalidInput(
                f"partition project {self.project!r}", "not a sanitized project name"
            )

    @property
    def marker(self) -> str:
        """The blob that records this partition's progress."""
        return f"{PROGRESS}/{self.task}/{self.run}/{self.project}/{self.day:%Y%m%d}.json"

    def message(self) -> str:
        """The queue message that names this partition."""
        return orjson.dumps(
            {
                "task": self.task,
                "run": self.run,
                "project": self.project,
                "day": f"{self.day:%Y-%m-%d}",
            }
        ).decode()


def parse_partition(text: str | bytes) -> Partition:
    """The partition a queue message names; `InvalidInput` with the reason when it names none."""
    try:
        raw = orjson.loads(text)
        return Partition(
            task=str(raw["task"]),
            run=str(raw["run"]),
            project=str(raw["project"]),
            day=date.fromisoformat(str(raw["day"])),
        )
    except InvalidInput:
        raise
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"partition message {str(text)[:80]!r}", str(exc)) from exc


@dataclass
class Progress:
    """How far one partition got: the last job done (job-ID order), finished or not, counts."""

    after: str | None = None
    done: bool = False
    counts: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> bytes:
        return orjson.dumps({"after": self.after, "done": self.done, "counts": dict(self.counts)})


def read_progress(blobs: BlobStore, part: Partition) -> Progress:
    """The partition's marker, or a fresh start when there is none (or it is unreadable)."""
    try:
        raw = orjson.loads(blobs.read(part.marker, max_bytes=1 << 16).data)
        return Progress(
            after=raw.get("after"),
            done=bool(raw.get("done")),
            counts=Counter({str(k): int(v) for k, v in raw["counts"].items()}),
        )
    except BlobNotFound:
        return Progress()
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return Progress()  # a damaged marker: start over (the work is idempotent)


def write_progress(blobs: BlobStore, part: Partition, progress: Progress) -> None:
    blobs.write(part.marker, progress.as_json(), content_type="application/json")


@dataclass(frozen=True, slots=True)
class Budget:
    """Time an invocation may spend before it stops at the end of a slice."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)

    @classmethod
    def start(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Budget:
        return cls(seconds, clock, clock())

    @property
    def spent(self) -> bool:
        return self.clock() - self.started >= self.seconds


def work_through(
    blobs: BlobStore,
    part: Partition,
    jobs: Iterable[tuple[str, T]],
    work: Callable[[list[T]], Iterable[str]],
    budget: Budget,
    *,
    finish: Callable[[], Counter[str]] | None = None,
    slice_size: int = 16,
) -> Progress:
    """Work `jobs` ((job ID, item) in job-ID order) after the marker's last job, a slice at a
    time; after each slice the marker moves on; stop when the budget is spent (at least one
    slice per invocation, so every invocation makes progress). `work` returns one outcome kind
    per item; `finish` runs once after the last slice (e.g. removals) and adds its counts."""
    progress = read_progress(blobs, part)
    if progress.done:
        return progress
    pending = (
        (job_id, item) for job_id, item in jobs if progress.after is None or job_id > progress.after
    )
    slices = _slices(pending, slice_size)
    batch = next(slices, None)
    while batch is not None:
        progress.counts.update(work([item for _, item in batch]))
        progress.after = batch[-1][0]
        batch = next(slices, None)
        if batch is not None:
            write_progress(blobs, part, progress)
            if budget.spent:
                return progress  # the next invocation continues after `progress.after`
    if finish is not None:
        progress.counts.update(finish())
    progress.done = True
    write_progress(blobs, part, progress)
    return progress


def _slices(items: Iterator[tuple[str, T]], size: int) -> Iterator[list[tuple[str, T]]]:
    batch: list[tuple[str, T]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def created_on(day: date) -> tuple[Compare, Compare]:
    """The query terms of jobs created on `day` (UTC): [start, next day)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return (
        Compare("created_at", ">=", start),
        Compare("created_at", "<", start + timedelta(days=1)),
    )


def days_between(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def run_id(now: datetime) -> str:
    """A run's name from its start time: `20261201T013000`."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%S}"


def run_time(run: str) -> datetime:
    """The start time a run's name records (the sweep plans as of it in every partition)."""
    try:
        return datetime.strptime(run, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidInput(f"partition run {run!r}", "not a time YYYYMMDDTHHMMSS") from exc


@dataclass(frozen=True, slots=True)
class RunRecord:
    """The last scheduled run of a task: its name, the first creation day it covered, and how
    many partitions it was given."""

    run: str
    since: date
    partitions: int

    @staticmethod
    def path(task: str) -> str:
        return f"{PROGRESS}/{task}/last.json"


def read_last_run(blobs: BlobStore, task: str) -> RunRecord | None:
    try:
        raw = orjson.loads(blobs.read(RunRecord.path(task), max_bytes=1 << 16).data)
        return RunRecord(str(raw["run"]), date.fromisoformat(raw["since"]), int(raw["partitions"]))
    except BlobNotFound:
        return None
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None  # unreadable: treated as no previous run (the caller's default window)


def write_last_run(blobs: BlobStore, task: str, record: RunRecord) -> None:
    body = {"run": record.run, "since": f"{record.since:%Y-%m-%d}", "partitions": record.partitions}
    blobs.write(RunRecord.path(task), orjson.dumps(body), content_type="application/json")


def run_finished(blobs: BlobStore, task: str, record: RunRecord) -> bool:
    """Every partition of the run has a marker that says done."""
    markers = list(blobs.list_names(f"{PROGRESS}/{task}/{record.run}/"))
    if len(markers) < record.partitions:
        return False
    for name in markers:
        try:
            if not orjson.loads(blobs.read(name, max_bytes=1 << 16).data).get("done"):
                return False
        except (BlobNotFound, orjson.JSONDecodeError, AttributeError):
            return False
    return True
