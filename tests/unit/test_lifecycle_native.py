"""The Azure lifecycle management policy generated from the same policy table."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle.native import native_policy_document
from lifecycle.policy import DEFAULT_POLICY, PolicyBook, RetentionPolicy
from shared.errors import InvalidInput


def rules_by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["name"]: rule["definition"] for rule in document["rules"]}


def days(definition: dict[str, Any], action: str) -> int:
    return int(definition["actions"]["baseBlob"][action]["daysAfterCreationGreaterThan"])


def test_the_native_policy_uses_the_same_days_as_the_policy_table() -> None:
    """Cool, Archive and Delete days in the JSON are the table's, for every rule."""
    rules = rules_by_name(native_policy_document())
    table = {row["stage"]: row["from_days"] for row in DEFAULT_POLICY.table()}
    assert days(rules["default-cool"], "tierToCool") == table["Cool"]
    archive_rules = [d for n, d in rules.items() if n.startswith("default-archive-")]
    assert {days(d, "tierToArchive") for d in archive_rules} == {table["Archive"]}
    assert days(rules["default-delete"], "delete") == table["Delete"]


def test_deletion_only_matches_blobs_tagged_not_retained() -> None:
    """The delete rule needs the `retain == "false"` tag; tier rules are block blobs only."""
    rules = rules_by_name(native_policy_document())
    delete = rules["default-delete"]["filters"]
    assert delete["blobIndexMatch"] == [{"name": "retain", "op": "==", "value": "false"}]
    assert delete["prefixMatch"] == ["ascend-data/projects/"]
    for name, definition in rules.items():
        if name != "default-delete":
            assert definition["filters"]["blobTypes"] == ["blockBlob"]


def test_metadata_and_compressed_logs_are_never_archived_natively() -> None:
    """Archive rules select only package, result, artifact and by-date kinds by tag."""
    rules = rules_by_name(native_policy_document())
    kinds = {
        d["filters"]["blobIndexMatch"][0]["value"]
        for n, d in rules.items()
        if "tierToArchive" in d["actions"]["baseBlob"]
    }
    assert kinds == {"package", "result", "artifact", "by_date_log"}


def test_each_project_override_gets_its_own_rule_set_with_its_own_days() -> None:
    """An override is a rule set under its project's prefix, with the override's days."""
    book = PolicyBook(
        DEFAULT_POLICY,
        (("fraud", RetentionPolicy(cool_after=7, archive_after=60, delete_after=300)),),
    )
    rules = rules_by_name(native_policy_document(book))
    assert rules["project-fraud-cool"]["filters"]["prefixMatch"] == ["ascend-data/projects/fraud/"]
    assert days(rules["project-fraud-cool"], "tierToCool") == 7
    assert days(rules["project-fraud-delete"], "delete") == 300
    assert days(rules["default-delete"], "delete") == 365


def test_an_override_that_keeps_data_longer_removes_that_action_from_the_default_set() -> None:
    """Azure applies the cheapest of overlapping rules: the default delete would win, so it goes."""
    book = PolicyBook(DEFAULT_POLICY, (("legal", RetentionPolicy(delete_after=3650)),))
    rules = rules_by_name(native_policy_document(book))
    assert "default-delete" not in rules
    assert days(rules["project-legal-delete"], "delete") == 3650
    assert "default-cool" in rules


def test_an_override_deleting_within_180_days_of_archive_archives_only_retained_blobs() -> None:
    """Archive at 90 d, delete at 200 d: the archive rules also require retain == "true"."""
    book = PolicyBook(DEFAULT_POLICY, (("short", RetentionPolicy(delete_after=200)),))
    rules = rules_by_name(native_policy_document(book))
    match = rules["project-short-archive-package"]["filters"]["blobIndexMatch"]
    assert {"name": "retain", "op": "==", "value": "true"} in match


def test_artifact_retention_leaves_artifact_deletion_to_the_sweep() -> None:
    """Tags carry no artifact type, so with artifact rules the native deletes skip artifacts."""
    policy = RetentionPolicy(artifact_delete_after=(("model", 730),))
    rules = rules_by_name(native_policy_document(policy))
    deleted_kinds = {
        d["filters"]["blobIndexMatch"][1]["value"]
        for n, d in rules.items()
        if "delete" in d["actions"]["baseBlob"]
    }
    assert "artifact" not in deleted_kinds
    assert "metadata" not in deleted_kinds
    assert "log" in deleted_kinds


def test_too_many_overrides_for_azures_100_rules_are_refused() -> None:
    """More rules than Azure accepts is an error naming the limit, not a broken deployment."""
    overrides = tuple((f"p{i}", RetentionPolicy(cool_after=10)) for i in range(20))
    with pytest.raises(InvalidInput, match="100"):
        native_policy_document(PolicyBook(DEFAULT_POLICY, overrides))
