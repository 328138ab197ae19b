"""The retention and tier policy: the default table (Cool at 30 days, Archive at 90, deletion at
365, retained jobs never) as data, validated, with per-project overrides.

Ages count in days from the job's creation time (its job ID). A policy says when a job's blobs
move to Cool, when to Archive, when the job is deleted, and, per artifact type, when those
artifacts are deleted instead (longer or shorter than the job). `None` means never. A policy that
makes no sense is refused with `InvalidPolicy` naming the field and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, ValidationError

from shared.errors import InvalidInput
from shared.metadata import describe_validation_error
from shared.tiers import Tier

ARCHIVE_MINIMUM_DAYS = 180  # Archive's early-deletion period: deleting sooner is still billed
_ARTIFACT_TYPE = re.compile(r"[a-z0-9_]{1,32}")


class InvalidPolicy(InvalidInput):
    """A retention policy that cannot be applied: names the field and the reason."""


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """When a job's blobs move to Cool and Archive and when they are deleted (days, None=never)."""

    cool_after: int | None = 30
    archive_after: int | None = 90
    delete_after: int | None = 365
    artifact_delete_after: tuple[tuple[str, int | None], ...] = ()
    accept_early_deletion: bool = False
    subject: str = field(default="policy", compare=False)

    def __post_init__(self) -> None:
        problem = policy_problem(self)
        if problem is not None:
            raise InvalidPolicy(self.subject, problem)

    @property
    def artifact_rules(self) -> dict[str, int | None]:
        return dict(self.artifact_delete_after)

    def artifact_delete_age(self, artifact_type: str | None) -> int | None:
        """Delete age of an artifact of that type: its own rule, else the job's."""
        if artifact_type is None:
            return self.delete_after
        return self.artifact_rules.get(artifact_type, self.delete_after)

    def archive_allowed(self, delete_age: int | None, *, retained: bool) -> bool:
        """Archive only what will stay there for Archive's 180-day minimum (or if accepted)."""
        if self.archive_after is None:
            return False
        if retained or delete_age is None or self.accept_early_deletion:
            return True
        return delete_age - self.archive_after >= ARCHIVE_MINIMUM_DAYS

    def table(self) -> list[dict[str, Any]]:
        """The policy as a table: one row per stage, with its age range in days."""
        stages = [
            (Tier.HOT, 0),
            (Tier.COOL, self.cool_after),
            (Tier.ARCHIVE, self.archive_after),
            ("Delete", self.delete_after),
        ]
        present = [(name, days) for name, days in stages if days is not None]
        rows = []
        for i, (name, days) in enumerate(present):
            until = present[i + 1][1] if i + 1 < len(present) else None
            rows.append({"stage": name, "from_days": days, "until_days": until})
        return rows

    def as_json(self) -> dict[str, Any]:
        """The stored form (`_ascend/policies/{project}.json`)."""
        return {
            "cool_after": self.cool_after,
            "archive_after": self.archive_after,
            "delete_after": self.delete_after,
            "artifact_delete_after": self.artifact_rules,
            "accept_early_deletion": self.accept_early_deletion,
        }


def policy_problem(policy: RetentionPolicy) -> str | None:
    """Why `policy` makes no sense, or None when it is coherent."""
    days = {
        "cool_after": policy.cool_after,
        "archive_after": policy.archive_after,
        "delete_after": policy.delete_after,
    }
    for name, value in days.items():
        if value is not None and value < 0:
            return f"{name} is {value} days: days cannot be negative"
    cool, archive, delete = policy.cool_after, policy.archive_after, policy.delete_after
    if cool is not None and archive is not None and archive < cool:
        return f"archive_after ({archive} d) is before cool_after ({cool} d): Archive before Cool"
    for name, tier_day in (("archive_after", archive), ("cool_after", cool)):
        if delete is not None and tier_day is not None and delete <= tier_day:
            return f"delete_after ({delete} d) is not after {name} ({tier_day} d)"
    return _artifact_problem(policy.artifact_delete_after)


def _artifact_problem(rules: tuple[tuple[str, int | None], ...]) -> str | None:
    for artifact_type, value in rules:
        if _ARTIFACT_TYPE.fullmatch(artifact_type) is None:
            return f"artifact type {artifact_type!r} must be 1-32 of a-z, 0-9, _"
        if value is not None and value < 0:
            return f"artifact_delete_after.{artifact_type} is {value} days: cannot be negative"
    if len({t for t, _ in rules}) != len(rules):
        return "artifact_delete_after names a type twice"
    return None


DEFAULT_POLICY = RetentionPolicy(subject="default policy")


class PolicyFile(BaseModel):
    """The JSON form of a policy, as stored and as set by an admin (the boundary)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cool_after: StrictInt | None = 30
    archive_after: StrictInt | None = 90
    delete_after: StrictInt | None = 365
    artifact_delete_after: dict[str, StrictInt | None] = {}
    accept_early_deletion: StrictBool = False


def policy_from_json(data: Mapping[str, Any] | bytes, *, subject: str) -> RetentionPolicy:
    """Validate a policy document (dict or JSON bytes), or raise `InvalidPolicy` in one line."""
    try:
        parsed = (
            PolicyFile.model_validate_json(data)
            if isinstance(data, bytes)
            else PolicyFile.model_validate(data)
        )
    except ValidationError as exc:
        raise InvalidPolicy(subject, describe_validation_error(exc)) from None
    return RetentionPolicy(
        cool_after=parsed.cool_after,
        archive_after=parsed.archive_after,
        delete_after=parsed.delete_after,
        artifact_delete_after=tuple(sorted(parsed.artifact_delete_after.items())),
        accept_early_deletion=parsed.accept_early_deletion,
        subject=subject,
    )


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """The default policy and the per-project overrides."""

    default: RetentionPolicy = DEFAULT_POLICY
    overrides: tuple[tuple[str, RetentionPolicy], ...] = ()

    def for_project(self, project: str) -> RetentionPolicy:
        return dict(self.overrides).get(project, self.default)

    @property
    def overridden(self) -> tuple[str, ...]:
        return tuple(project for project, _ in self.overrides)
