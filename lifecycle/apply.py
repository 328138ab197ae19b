"""Carrying out one job's plan: each action once, each audited, the search document last.

Before acting, the job's metadata.json etag is compared with the one the plan saw; a job that
changed is re-planned from its current state (`replan`), never acted on blindly. Deletions are
guarded per blob by the `retain` tag (`"retain" <> 'true'`), or for a blob without the tag by
metadata.json's etag read again just before (`lifecycle.guarded_delete`), metadata.json also by
its own etag, and go metadata.json last, so an interrupted sweep leaves a job that the next
sweep finds again. The search document is updated (stage in `tier`) or deleted only when every
action of the job is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lifecycle.audit import AuditLog, AuditRecord, now_text
from lifecycle.compress import compress_log
from lifecycle.guarded_delete import delete_unless_retained
from lifecycle.outcome import DONE, GONE, Outcome, OutcomeKind
from lifecycle.plan import Action, ActionKind, JobPlan
from shared.documents import format_datetime
from shared.errors import AscendError, BlobNotFound, PreconditionFailed
from shared.jobid import parse_job_id
from shared.layout import metadata_path
from shared.ports import BlobStore, SearchIndex
from shared.tiers import Tier


@dataclass(frozen=True, slots=True)
class Result:
    """An action and what came of it."""

    action: Action
    result: Outcome

    @property
    def outcome(self) -> str:
        """The outcome as the audit log and `--json` print it (`done`, `skipped: ...`)."""
        return str(self.result)

    @property
    def settled(self) -> bool:
        """Nothing is left to do for this blob."""
        return self.result in {DONE, GONE}

    def as_json(self) -> dict[str, Any]:
        return {**self.action.as_json(), "outcome": self.outcome}


@dataclass(frozen=True, slots=True)
class Applier:
    """What an apply needs: the ports, the audit log, who acts and the sweep's date."""

    blobs: BlobStore
    index: SearchIndex
    audit: AuditLog
    who: str
    now: datetime

    def apply_job(
        self, plan: JobPlan, replan: Callable[[], JobPlan]
    ) -> tuple[JobPlan, list[Result]]:
        """Re-check, then carry out `plan`; returns the plan acted on and the results."""
        plan = self._rechecked(plan, replan)
        results: list[Result] = []
        for action in plan.actions:
            result = Result(action, carry_out(self.blobs, action, plan.metadata_etag))
            self._record(result)
            results.append(result)
            if not result.settled and action.action is ActionKind.DELETE:
                break  # a refused delete (retain set, job changed) stops the job's deletion
        if len(results) == len(plan.actions) and all(r.settled for r in results):
            update_document(self.index, plan)
        return plan, results

    def _rechecked(self, plan: JobPlan, replan: Callable[[], JobPlan]) -> JobPlan:
        current = self.blobs.props(metadata_path(parse_job_id(plan.job_id)))
        if (current.etag if current else None) == plan.metadata_etag:
            return plan
        fresh = replan()
        note = "re-checked (metadata.json changed since planning): "
        actions = tuple(a._replace(reason=note + a.reason) for a in fresh.actions)
        return JobPlan(
            fresh.job_id,
            actions,
            fresh.stage,
            fresh.delete_document,
            fresh.metadata_etag,
            fresh.doc_tier,
        )

    def _record(self, result: Result) -> None:
        action = result.action
        self.audit.record(
            AuditRecord(
                at=now_text(),
                who=self.who,
                action=action.action,
                blob=action.blob,
                job_id=action.job_id,
                tier=action.tier,
                outcome=result.outcome,
                reason=action.reason,
                as_of=format_datetime(self.now),
            )
        )


def carry_out(blobs: BlobStore, action: Action, metadata_etag: str | None = None) -> Outcome:
    """Do one action. Failures of the world become a `failed` outcome with the reason.
    `metadata_etag`: of the job's metadata.json as planned (judges a blob without a tag)."""
    try:
        if action.action is ActionKind.SET_TIER:
            blobs.set_tier(action.blob, action.tier or Tier.COOL)
        elif action.action is ActionKind.COMPRESS:
            compress_log(blobs, action.blob, tier=action.tier or Tier.COOL)
        else:
            return _delete(blobs, action, metadata_etag)
    except BlobNotFound:
        return GONE
    except PreconditionFailed:
        return Outcome(
            OutcomeKind.SKIPPED,
            "the blob changed while it was being processed; the next sweep retries",
        )
    except AscendError as exc:
        return Outcome(OutcomeKind.FAILED, str(exc))
    return DONE


def _delete(blobs: BlobStore, action: Action, metadata_etag: str | None) -> Outcome:
    try:
        deleted = delete_unless_retained(
            blobs,
            action.blob,
            tagged=action.tagged,
            etag=action.etag or None,
            metadata=metadata_path(parse_job_id(action.job_id)),
            metadata_etag=metadata_etag,
        )
    except PreconditionFailed:
        return Outcome(OutcomeKind.SKIPPED, "retain=true was set or the job changed since planning")
    return DONE if deleted else GONE


def update_document(index: SearchIndex, plan: JobPlan) -> None:
    """Delete the job's document, or record its stage in `tier`, once its actions are done."""
    if plan.delete_document:
        index.delete([plan.job_id])
    elif plan.stage != (plan.doc_tier or Tier.HOT):
        index.set_tier([plan.job_id], plan.stage)
