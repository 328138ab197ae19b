"""The same policy as an Azure Storage lifecycle management policy, so the account tiers by itself.

`native_policy_document(policy_book)` gives the JSON of `Microsoft.Storage/storageAccounts/
managementPolicies` (`{"rules": [...]}`); `infra/generate.py` writes it to
`infra/generated/lifecycle-policy.json`. Days count per blob from its creation, and rules select
by the index tags every job blob carries (`shared.tags`):

- `{set}-cool`: block blobs under the prefix -> Cool (metadata.json too: Cool stays readable);
- `{set}-archive-{kind}`: package, result, artifact and by-date copies -> Archive; when Archive's
  180-day minimum would be cut short by the deletion, only blobs tagged `retain == "true"`;
- `{set}-delete`: block and append blobs tagged `retain == "false"` -> deleted; untagged blobs
  never match, a safe failure. Kinds whose artifacts have their own retention are left to the
  sweep (the tags do not carry the artifact type).

Azure applies the cheapest action when rules overlap, so an override rule set can only act sooner
than the default set under `projects/`; where an override acts *later*, that action is dropped
from the default set and left to the sweep, so the account never acts before the sweep would.
The compression of logs is the sweep's alone (append blobs take no tier).
"""

from __future__ import annotations

from typing import Any

from lifecycle.policy import DEFAULT_POLICY, PolicyBook, RetentionPolicy
from shared.errors import InvalidInput
from shared.layout import BlobKind

MAX_RULES = 100
ARCHIVED_KINDS = (BlobKind.PACKAGE, BlobKind.RESULT, BlobKind.ARTIFACT, BlobKind.BY_DATE_LOG)
DELETED_KINDS = (
    BlobKind.LOG,
    BlobKind.ARCHIVED_LOG,
    BlobKind.PACKAGE,
    BlobKind.RESULT,
    BlobKind.BY_DATE_LOG,
    BlobKind.BY_DATE_ARCHIVED_LOG,
)


def native_policy_document(
    policy: PolicyBook | RetentionPolicy | None = None, container: str = "ascend-data"
) -> dict[str, Any]:
    """The lifecycle management policy for `policy` (default: `DEFAULT_POLICY`)."""
    book = _book(policy)
    later = _later_in_some_override(book)
    rules = _rule_set("default", f"{container}/projects/", book.default, skip=later)
    for project, override in book.overrides:
        rules += _rule_set(f"project-{project}", f"{container}/projects/{project}/", override)
    if len(rules) > MAX_RULES:
        raise InvalidInput("lifecycle policy", f"{len(rules)} rules, over Azure's {MAX_RULES}")
    return {"rules": rules}


def _book(policy: PolicyBook | RetentionPolicy | None) -> PolicyBook:
    if policy is None:
        return PolicyBook(DEFAULT_POLICY)
    return policy if isinstance(policy, PolicyBook) else PolicyBook(policy)


def _later_in_some_override(book: PolicyBook) -> set[str]:
    """Default actions some override takes later (or never): the default set must not have them."""
    later = set()
    for _, override in book.overrides:
        for field in ("cool_after", "archive_after", "delete_after"):
            ours, theirs = getattr(book.default, field), getattr(override, field)
            if ours is not None and (theirs is None or theirs > ours):
                later.add(field)
        if override.artifact_delete_after != book.default.artifact_delete_after:
            later.add("delete_after")
    return later


def _rule_set(
    name: str, prefix: str, policy: RetentionPolicy, skip: set[str] | None = None
) -> list[dict[str, Any]]:
    skip = skip or set()
    rules = []
    if policy.cool_after is not None and "cool_after" not in skip:
        rules.append(
            _rule(
                f"{name}-cool",
                prefix,
                ["blockBlob"],
                [],
                {"tierToCool": {"daysAfterCreationGreaterThan": policy.cool_after}},
            )
        )
    if policy.archive_after is not None and "archive_after" not in skip:
        only_retained = not policy.archive_allowed(policy.delete_after, retained=False)
        for kind in ARCHIVED_KINDS:
            match = [_tag("kind", kind.value)] + ([_tag("retain", "true")] if only_retained else [])
            rules.append(
                _rule(
                    f"{name}-archive-{kind.value}".replace("_", "-"),
                    prefix,
                    ["blockBlob"],
                    match,
                    {"tierToArchive": {"daysAfterCreationGreaterThan": policy.archive_after}},
                )
            )
    if policy.delete_after is not None and "delete_after" not in skip:
        rules += _delete_rules(name, prefix, policy)
    return rules


def _delete_rules(name: str, prefix: str, policy: RetentionPolicy) -> list[dict[str, Any]]:
    action = {"delete": {"daysAfterCreationGreaterThan": policy.delete_after}}
    blob_types = ["blockBlob", "appendBlob"]
    if not policy.artifact_delete_after:
        return [_rule(f"{name}-delete", prefix, blob_types, [_tag("retain", "false")], action)]
    # Artifacts (and the metadata.json that must outlive them) are left to the sweep.
    return [
        _rule(
            f"{name}-delete-{kind.value}".replace("_", "-"),
            prefix,
            blob_types,
            [_tag("retain", "false"), _tag("kind", kind.value)],
            action,
        )
        for kind in DELETED_KINDS
    ]


def _rule(
    name: str,
    prefix: str,
    blob_types: list[str],
    tags: list[dict[str, str]],
    actions: dict[str, Any],
) -> dict[str, Any]:
    filters: dict[str, Any] = {"blobTypes": blob_types, "prefixMatch": [prefix]}
    if tags:
        filters["blobIndexMatch"] = tags
    return {
        "enabled": True,
        "name": name,
        "type": "Lifecycle",
        "definition": {"filters": filters, "actions": {"baseBlob": actions}},
    }


def _tag(name: str, value: str) -> dict[str, str]:
    return {"name": name, "op": "==", "value": value}
