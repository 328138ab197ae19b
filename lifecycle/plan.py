"""The sweep's pure core: (a job's blobs, the policy, now) -> the actions to take.

No I/O here. `plan_job` decides, blob by blob, from the state the inventory read:

- past the job's delete age and not retained: `delete` every blob of the job (metadata.json
  last) and then its search document; artifacts whose type has its own retention are deleted at
  that age instead, and metadata.json stays as long as any blob of the job stays;
- otherwise the blob moves to the coldest tier its kind allows at that age (`COLDEST`):
  metadata.json and the compressed log stay readable (Cool at most), package, result, artifacts
  and the by-date copy go to Archive, unless the blob would be deleted within Archive's 180-day
  minimum (then it stays Cool, unless the policy accepts the charge);
- a finished job's log (an append blob, which takes no tier) is gzip-compressed into a block
  blob, Cool, at the Cool age (30 days by default), so it goes Cool with the
  rest of the job; a running job's log waits for the job to finish.

Tiers only ever get colder: a blob already colder than its target is left alone.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from lifecycle.policy import RetentionPolicy
from shared.jobid import JobId
from shared.layout import BlobKind
from shared.tiers import Tier, tier_rank


class ActionKind(StrEnum):
    """What the sweep does to one blob."""

    SET_TIER = "set_tier"
    COMPRESS = "compress"
    DELETE = "delete"


SET_TIER, COMPRESS, DELETE = ActionKind.SET_TIER, ActionKind.COMPRESS, ActionKind.DELETE
SECONDS_PER_DAY = 86_400.0

# The coldest tier each kind of block blob may reach: what the system must read stays readable.
COLDEST: dict[BlobKind, Tier] = {
    BlobKind.METADATA: Tier.COOL,  # read by the indexer, jobs status, export: never archived
    BlobKind.ARCHIVED_LOG: Tier.COOL,  # what `ascend jobs logs` reads once the log is compressed
    BlobKind.LOG: Tier.COOL,  # only when written as a block blob; compressed at the Cool age
    BlobKind.PACKAGE: Tier.ARCHIVE,
    BlobKind.RESULT: Tier.ARCHIVE,
    BlobKind.ARTIFACT: Tier.ARCHIVE,
    BlobKind.BY_DATE_LOG: Tier.ARCHIVE,  # a duplicate of the job's log, kept for date listings
    BlobKind.BY_DATE_ARCHIVED_LOG: Tier.ARCHIVE,
}
COMPRESSED_KINDS = frozenset({BlobKind.LOG})


class BlobState(NamedTuple):
    """One blob of a job as the inventory found it (a tuple: a sweep holds hundreds of
    thousands)."""

    name: str
    kind: BlobKind | None  # None: a file of the job folder outside the layout
    blob_type: str = "BlockBlob"
    tier: str | None = None
    etag: str = ""
    retain_tag: bool = False
    artifact_type: str | None = None
    tagged: bool = True  # carries a `retain` tag at all (a delete is guarded by it)


@dataclass(frozen=True, slots=True)
class JobState:
    """A job: its ID, whether it is retained, its blobs, and its index entry's stage."""

    job: JobId
    retain: bool
    blobs: tuple[BlobState, ...]
    metadata_etag: str | None = None
    doc_tier: str | None = None
    indexed: bool = True
    final: bool = True  # the job finished: its log is written for good and may be compressed
    job_id: str = ""  # `job` as text, as the index and listing had it ("": made from `job`)

    def __post_init__(self) -> None:
        if not self.job_id:
            object.__setattr__(self, "job_id", str(self.job))


class Action(NamedTuple):
    """One thing to do to one blob (the CLI's `--json` line); a tuple, made by the hundred
    thousand."""

    job_id: str
    blob: str
    action: ActionKind
    tier: Tier | None
    reason: str
    etag: str = ""
    tagged: bool = True  # the blob carried a `retain` tag when planned

    def as_json(self) -> dict[str, str | None]:
        return {
            "job_id": self.job_id,
            "blob": self.blob,
            "action": self.action,
            "tier": self.tier,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class JobPlan:
    """Every action for one job, then what to do to its search document."""

    job_id: str
    actions: tuple[Action, ...]
    stage: Tier  # the document's `tier` once the actions are done
    delete_document: bool
    metadata_etag: str | None
    doc_tier: str | None = None

    @property
    def indexed_change(self) -> bool:
        return self.delete_document or self.stage != (self.doc_tier or Tier.HOT)

    @property
    def is_empty(self) -> bool:
        return not self.actions and not self.indexed_change


def age_days(job: JobId, now: datetime) -> float:
    """The job's age in days (fractional) at `now`."""
    return (now - job.created_at).total_seconds() / SECONDS_PER_DAY


def reached(age: float, days: int | None) -> bool:
    return days is not None and age >= days


def stage_at(policy: RetentionPolicy, age: float) -> Tier:
    """The policy's stage for a job of that age: Archive, Cool or Hot."""
    if reached(age, policy.archive_after):
        return Tier.ARCHIVE
    return Tier.COOL if reached(age, policy.cool_after) else Tier.HOT


def job_delete_age(blobs: Iterable[BlobState], policy: RetentionPolicy) -> int | None:
    """The age at which the whole job (metadata.json, document) goes: when its last blob does."""
    return _delete_age_of(
        policy, frozenset(b.artifact_type for b in blobs if b.kind is BlobKind.ARTIFACT)
    )


@functools.lru_cache(maxsize=1024)
def _delete_age_of(policy: RetentionPolicy, artifact_types: frozenset[str | None]) -> int | None:
    ages = [policy.delete_after] + [policy.artifact_delete_age(t) for t in artifact_types]
    return None if any(a is None for a in ages) else max(a for a in ages if a is not None)


def plan_job(state: JobState, policy: RetentionPolicy, now: datetime) -> JobPlan:
    """The actions that bring `state` to what `policy` wants at `now`."""
    age = age_days(state.job, now)
    blobs = state.blobs
    shape = _Shape(
        math.floor(age),
        f"{age:.0f}",
        state.retain,
        state.final,
        state.indexed,
        state.doc_tier,
        tuple(map(_SHAPE_OF, blobs)),
    )
    table = _answers(policy)
    try:
        answer = table[shape]
    except KeyError:
        if len(table) > MAX_ANSWERS:
            table.clear()
        answer = table[shape] = _answer(shape, policy)
    job_id = state.job_id
    actions = _actions(job_id, blobs, answer.decisions)
    if answer.last:  # metadata.json, after every other blob of the job
        actions += _actions(job_id, blobs, answer.last)
    return JobPlan(
        job_id=job_id,
        actions=actions,
        stage=answer.stage,
        delete_document=answer.delete_document,
        metadata_etag=state.metadata_etag,
        doc_tier=state.doc_tier,
    )


class _Shape(NamedTuple):
    """All a job's plan depends on but its names and etags: the age only through the whole days
    reached (every threshold is a whole number of days) and its text in the reasons, and each
    blob's kind, type, tier, artifact type and `retain` tag. A sweep of 100,000 jobs has a few
    hundred shapes; working each plan out again was most of its time."""

    day: int
    age: str
    retain: bool
    final: bool
    indexed: bool
    doc_tier: str | None
    blobs: tuple[tuple[BlobKind | None, str, str | None, str | None, bool], ...]


class _Answer(NamedTuple):
    """The plan of a shape: (blob position, decision) for each blob with an action but
    metadata.json, then for metadata.json; the stage and whether the document goes."""

    decisions: tuple[tuple[int, Decision], ...]
    last: tuple[tuple[int, Decision], ...]
    stage: Tier
    delete_document: bool


def _actions(
    job_id: str, blobs: tuple[BlobState, ...], decisions: tuple[tuple[int, Decision], ...]
) -> tuple[Action, ...]:
    """The actions of `decisions` on `blobs`, in blob name order."""
    made = [
        _new(Action, (job_id, blobs[n].name, *decision, blobs[n].etag, blobs[n].tagged))
        for n, decision in decisions
    ]
    if len(made) > 1:
        made.sort(key=_BLOB)
    return tuple(made)


_SHAPE_OF = operator.attrgetter("kind", "blob_type", "tier", "artifact_type", "retain_tag")
_BLOB = operator.attrgetter("blob")


def _answer(shape: _Shape, policy: RetentionPolicy) -> _Answer:
    """The plan of every job of `shape` under `policy`."""
    day, text, retain, final, indexed, doc_tier, blobs = shape
    retained = retain or any(b[4] for b in blobs)
    whole = _delete_age_of(policy, frozenset(b[3] for b in blobs if b[0] is BlobKind.ARTIFACT))
    decisions = [
        (n, decision)
        for n, (kind, blob_type, tier, artifact_type, _) in enumerate(blobs)
        if (
            decision := _decision(
                Question(
                    kind, blob_type, tier, artifact_type, policy, day, text, retained, whole, final
                )
            )
        )
    ]
    last = tuple(d for d in decisions if blobs[d[0]][0] is BlobKind.METADATA)
    # A running job's log cannot be compressed yet: its stage is not advanced, so the job stays
    # a candidate and its log is compressed by the first sweep after it finished.
    held = (
        not final
        and reached(day, compress_age(policy))
        and any(b[0] in COMPRESSED_KINDS for b in blobs)
    )
    return _Answer(
        tuple(d for d in decisions if d not in last),
        last,
        _known_stage(doc_tier) if held else stage_at(policy, day),
        not retained and reached(day, whole) and indexed,
    )


def _known_stage(doc_tier: str | None) -> Tier:
    """The stage the document records (Hot when none, or one this code does not know)."""
    return Tier(doc_tier) if doc_tier in {t.value for t in Tier} else Tier.HOT


def compress_age(policy: RetentionPolicy) -> int | None:
    """When a finished job's log is gzipped into a block blob: at the Cool age (an append blob
    takes no tier, so compressing is how the log goes Cool), else at the Archive age."""
    return policy.cool_after if policy.cool_after is not None else policy.archive_after


def decide(
    blob: BlobState,
    job: str,
    policy: RetentionPolicy,
    age: float,
    *,
    retained: bool,
    whole: int | None,
    final: bool = True,
) -> Action | None:
    """The one action for `blob` of job `job` at `age` days, or None."""
    decision = _decision(
        Question(
            blob.kind,
            blob.blob_type,
            blob.tier,
            blob.artifact_type,
            policy,
            math.floor(age),
            f"{age:.0f}",
            retained,
            whole,
            final,
        )
    )
    if decision is None:
        return None
    action, tier, reason = decision
    return Action(job, blob.name, action, tier, reason, blob.etag, blob.tagged)


Decision = tuple[ActionKind, Tier | None, str]


class Question(NamedTuple):
    """All a blob's decision depends on: its kind, type, tier and artifact type, the policy, and
    the age only through the whole days reached (every threshold is a whole number of days) and
    its text in the reason."""

    kind: BlobKind | None
    blob_type: str
    tier: str | None
    artifact_type: str | None
    policy: RetentionPolicy
    day: int
    age: str
    retained: bool
    whole: int | None
    final: bool


MAX_ANSWERS = 100_000
# A NamedTuple from a plain tuple, without its keyword-handling __new__ (a few times faster; the
# plan of 100,000 jobs makes half a million actions).
_new = tuple.__new__


@functools.lru_cache(maxsize=64)
def _answers(policy: RetentionPolicy) -> dict[_Shape, _Answer]:
    """The plans of the shapes already worked out under `policy` (one table per policy)."""
    return {}


def _decision(question: Question) -> Decision | None:
    """The action kind, tier and reason for a blob described by `question` (or None)."""
    kind, blob_type, tier, artifact_type, policy, day, age, retained, whole, final = question
    if kind is BlobKind.ARTIFACT:
        delete_age = policy.artifact_delete_age(artifact_type)
    else:
        delete_age = whole if kind is BlobKind.METADATA else policy.delete_after
    if not retained and reached(day, delete_age):
        return DELETE, None, f"age {age} d >= delete at {delete_age} d"
    if kind in COMPRESSED_KINDS and final and reached(day, compress_age(policy)):
        return (
            COMPRESS,
            Tier.COOL,
            f"age {age} d >= Cool at {compress_age(policy)} d: gzip the finished "
            "job's log into a block blob, Cool (readable)",
        )
    if blob_type != "BlockBlob" or kind is None or kind not in COLDEST:
        return None
    target, why = _target_tier(kind, policy, day, age, retained=retained, delete_age=delete_age)
    if target is None or tier_rank(target) <= tier_rank(tier):
        return None
    return SET_TIER, target, why


def _target_tier(
    kind: BlobKind,
    policy: RetentionPolicy,
    day: int,
    age: str,
    *,
    retained: bool,
    delete_age: int | None,
) -> tuple[Tier | None, str]:
    coldest = COLDEST[kind]
    if reached(day, policy.archive_after) and coldest == Tier.ARCHIVE:
        if policy.archive_allowed(delete_age, retained=retained):
            return Tier.ARCHIVE, f"age {age} d >= Archive at {policy.archive_after} d"
        if reached(day, policy.cool_after) or policy.cool_after is None:
            return Tier.COOL, (
                f"age {age} d >= Archive at {policy.archive_after} d, kept "
                f"Cool: deleted at {delete_age} d, within Archive's 180-day minimum"
            )
    if reached(day, policy.cool_after) or reached(day, policy.archive_after):
        return Tier.COOL, f"age {age} d >= Cool at {policy.cool_after} d"
    return None, ""
