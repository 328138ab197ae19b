"""Per-project policy overrides, stored as `_ascend/policies/{project}.json`; admins set them.

Only `admin` or `admin:{project}` may set or reset a project's policy; every change is audited.
A stored file that no longer validates stops the sweep with the file named, rather than letting
the sweep fall back to a policy nobody chose.
"""

from __future__ import annotations

import orjson

from lifecycle.audit import AuditLog, AuditRecord, now_text
from lifecycle.policy import DEFAULT_POLICY, PolicyBook, RetentionPolicy, policy_from_json
from shared.errors import AccessDenied, InvalidInput
from shared.jobid import is_valid_name
from shared.layout import SYSTEM_PREFIX, system_path
from shared.ports import BlobStore
from shared.principal import Principal

POLICIES_PREFIX = SYSTEM_PREFIX + "policies/"


def policy_path(project: str) -> str:
    """Where a project's override is stored."""
    if not is_valid_name(project):
        raise InvalidInput(f"project {project!r}", "is not a sanitized project name")
    return system_path("policies", f"{project}.json")


def load_policy_book(blobs: BlobStore) -> PolicyBook:
    """The default policy and every stored override."""
    overrides = []
    for name in blobs.list_names(POLICIES_PREFIX):
        project = name[len(POLICIES_PREFIX) :].removesuffix(".json")
        if not name.endswith(".json") or not is_valid_name(project):
            continue
        raw = blobs.read(name, max_bytes=64 << 10).data
        overrides.append((project, policy_from_json(raw, subject=f"stored policy {name}")))
    return PolicyBook(DEFAULT_POLICY, tuple(sorted(overrides, key=lambda item: item[0])))


def set_override(blobs: BlobStore, who: Principal, project: str, policy: RetentionPolicy) -> None:
    """Store `policy` for `project` (admins of the project only), audited."""
    path = _authorized_path(who, project)
    blobs.write(path, orjson.dumps(policy.as_json()), content_type="application/json")
    _audit(blobs, who, "policy_set", path, orjson.dumps(policy.as_json()).decode())


def reset_override(blobs: BlobStore, who: Principal, project: str) -> bool:
    """Remove the project's override (back to the default); False if there was none."""
    path = _authorized_path(who, project)
    removed = blobs.delete(path)
    _audit(blobs, who, "policy_reset", path, "back to the default policy")
    return removed


def _authorized_path(who: Principal, project: str) -> str:
    path = policy_path(project)
    if not who.can_administer(project):
        raise AccessDenied(
            f"{who.user} is not an admin of project {project!r} "
            f"(needs role admin or admin:{project})"
        )
    return path


def _audit(blobs: BlobStore, who: Principal, action: str, path: str, reason: str) -> None:
    log = AuditLog(blobs)
    log.record(
        AuditRecord(
            at=now_text(),
            who=who.user,
            action=action,
            blob=path,
            job_id=None,
            tier=None,
            outcome="done",
            reason=reason,
        )
    )
    log.flush()
