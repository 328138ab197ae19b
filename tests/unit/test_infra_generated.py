"""The JSON files infra/ loads: current with the code, and within what each Azure service accepts.

The validators below restate the services' documented rules (Azure AI Search "Create Index" field
attributes and naming rules; Storage lifecycle management policy structure; Event Grid advanced
filtering limits). Each returns the list of broken rules, so a failure says what and where.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from infra import generate

GENERATED = Path(generate.__file__).parent / "generated"

# ---- Azure AI Search: index definition ------------------------------------------------------

_EDM = {
    "Edm.String",
    "Edm.Int32",
    "Edm.Int64",
    "Edm.Double",
    "Edm.Boolean",
    "Edm.DateTimeOffset",
    "Edm.GeographyPoint",
    "Edm.ComplexType",
    "Edm.Single",
}
_ATTRIBUTES = ("key", "searchable", "filterable", "sortable", "facetable", "retrievable")
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")
_INDEX_NAME = re.compile(r"(?!.*--)[a-z0-9][a-z0-9-]{0,126}[a-z0-9]")


def search_index_problems(index: dict[str, Any]) -> list[str]:
    """Rules of Create Index: names, one string key, and the allowed attribute combinations."""
    problems = (
        []
        if _INDEX_NAME.fullmatch(str(index.get("name", "")))
        else [f"index name {index.get('name')!r}: lowercase letters, digits, single dashes, <= 128"]
    )
    keys = [f for f in index["fields"] if f.get("key")]
    if len(keys) != 1:
        problems.append(f"{len(keys)} key fields: exactly one top-level key is required")
    for key in keys:
        if key["type"] != "Edm.String" or key.get("retrievable") is False:
            problems.append(f"key {key['name']}: must be a retrievable Edm.String")
        if key.get("filterable") is False:
            problems.append(f"key {key['name']}: must be filterable (lookups filter on it)")
    problems += _fields_problems(index["fields"], path="", in_collection=False)
    return problems


def _fields_problems(fields: list[dict[str, Any]], path: str, in_collection: bool) -> list[str]:
    problems: list[str] = []
    names = [f["name"] for f in fields]
    if len(set(names)) != len(names):
        problems.append(f"{path or 'index'}: duplicate field names")
    for field in fields:
        problems += _field_problems(field, path, in_collection)
    return problems


def _field_problems(field: dict[str, Any], path: str, in_collection: bool) -> list[str]:
    name, kind = field["name"], field["type"]
    where = f"{path}{name}"
    problems = []
    if not _FIELD_NAME.fullmatch(name) or name.startswith("azureSearch"):
        problems.append(f"{where}: a name starts with a letter, then letters, digits, '_'")
    collection = kind.startswith("Collection(")
    base = kind[len("Collection(") : -1] if collection else kind
    if base not in _EDM:
        problems.append(f"{where}: unknown type {kind}")
    if base == "Edm.ComplexType":
        present = [a for a in _ATTRIBUTES if field.get(a) is not None]
        if present:
            problems.append(f"{where}: a complex field carries no attributes, has {present}")
        return problems + _fields_problems(
            field.get("fields", []), f"{where}/", in_collection or collection
        )
    if field.get("sortable") and (collection or in_collection):
        problems.append(f"{where}: multi-valued fields cannot be sortable")
    if field.get("searchable") and base != "Edm.String":
        problems.append(f"{where}: only strings can be searchable")
    if field.get("facetable") and base == "Edm.GeographyPoint":
        problems.append(f"{where}: geography points cannot be facetable")
    if field.get("key") and path:
        problems.append(f"{where}: the key must be a top-level field")
    return problems


# ---- Storage lifecycle management policy ----------------------------------------------------

_RULE_NAME = re.compile(r"[A-Za-z0-9-]{1,256}")  # docs: alphanumeric; ARM also takes '-'
_BASE_ACTIONS = {
    "tierToCool",
    "tierToCold",
    "tierToArchive",
    "tierToHot",
    "delete",
    "enableAutoTierToHotFromCool",
}
_OTHER_ACTIONS = {"tierToCool", "tierToCold", "tierToArchive", "tierToHot", "delete"}
_BASE_CONDITIONS = {
    "daysAfterModificationGreaterThan",
    "daysAfterCreationGreaterThan",
    "daysAfterLastTierChangeGreaterThan",
}  # last-access time needs tracking on
_OTHER_CONDITIONS = {"daysAfterCreationGreaterThan", "daysAfterLastTierChangeGreaterThan"}


def lifecycle_problems(policy: dict[str, Any]) -> list[str]:
    """Rules of the policy structure: 1-100 uniquely named rules, valid filters and actions."""
    rules = policy.get("rules", [])
    problems = [] if 1 <= len(rules) <= 100 else [f"{len(rules)} rules: 1 to 100 allowed"]
    names = [r.get("name", "") for r in rules]
    if len(set(names)) != len(names):
        problems.append("rule names must be unique")
    for rule in rules:
        problems += _rule_problems(rule)
    return problems


def _rule_problems(rule: dict[str, Any]) -> list[str]:
    name = str(rule.get("name"))
    problems = [] if _RULE_NAME.fullmatch(name) else [f"rule {name!r}: bad name"]
    if rule.get("type") != "Lifecycle":
        problems.append(f"{name}: type must be Lifecycle")
    filters, actions = rule["definition"].get("filters", {}), rule["definition"]["actions"]
    problems += [f"{name}: {p}" for p in _filter_problems(filters)]
    problems += [f"{name}: {p}" for p in _action_problems(actions)]
    if "appendBlob" in filters.get("blobTypes", []):
        tiering = [a for a in actions.get("baseBlob", {}) if a != "delete"]
        if tiering or set(actions) - {"baseBlob"}:
            problems.append(f"{name}: append blobs only take baseBlob delete, not {tiering}")
    return problems


def _filter_problems(filters: dict[str, Any]) -> list[str]:
    problems = []
    types = filters.get("blobTypes", [])
    if not types or not set(types) <= {"blockBlob", "appendBlob"}:
        problems.append(f"blobTypes {types}: blockBlob and/or appendBlob required")
    prefixes = filters.get("prefixMatch", [])
    if len(prefixes) > 10 or any(
        not re.fullmatch(r"[a-z0-9$][a-z0-9-]{2,62}(/.*)?", p) for p in prefixes
    ):
        problems.append(f"prefixMatch {prefixes}: at most 10, each starting with a container")
    matches = filters.get("blobIndexMatch", [])
    if len(matches) > 10:
        problems.append("blobIndexMatch: at most 10 conditions")
    for match in matches:
        if (
            match.get("op") != "=="
            or not 1 <= len(match.get("name", "")) <= 128
            or len(match.get("value", "")) > 256
        ):
            problems.append(f"blobIndexMatch {match}: name 1-128, op '==', value <= 256")
    return problems


def _action_problems(actions: dict[str, Any]) -> list[str]:
    problems = []
    if not actions or set(actions) - {"baseBlob", "snapshot", "version"}:
        problems.append(f"actions {sorted(actions)}: baseBlob, snapshot or version")
    for target, group in actions.items():
        allowed = _BASE_ACTIONS if target == "baseBlob" else _OTHER_ACTIONS
        conditions = _BASE_CONDITIONS if target == "baseBlob" else _OTHER_CONDITIONS
        for action, condition in group.items():
            if action not in allowed:
                problems.append(f"{target}.{action}: unknown action")
            elif action != "enableAutoTierToHotFromCool":
                problems += _condition_problems(f"{target}.{action}", condition, conditions)
    return problems


def _condition_problems(where: str, condition: dict[str, Any], allowed: set[str]) -> list[str]:
    if len(condition) != 1 or not set(condition) <= allowed:
        return [f"{where}: one condition of {sorted(allowed)}, got {sorted(condition)}"]
    days = next(iter(condition.values()))
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 99999:
        return [f"{where}: days must be an integer 0-99999, got {days!r}"]
    return []


# ---- Event Grid subscription filter ---------------------------------------------------------

_OPERATORS = {
    "NumberIn",
    "NumberNotIn",
    "NumberLessThan",
    "NumberGreaterThan",
    "NumberLessThanOrEquals",
    "NumberGreaterThanOrEquals",
    "NumberInRange",
    "NumberNotInRange",
    "BoolEquals",
    "StringIn",
    "StringNotIn",
    "StringContains",
    "StringNotContains",
    "StringBeginsWith",
    "StringNotBeginsWith",
    "StringEndsWith",
    "StringNotEndsWith",
    "IsNullOrUndefined",
    "IsNotNull",
}
_KEYS = re.compile(r"(id|topic|subject|eventType|dataVersion|data(\.[A-Za-z0-9_]+)+)")


def event_filter_problems(event_filter: dict[str, Any]) -> list[str]:
    """Advanced filtering limits: <= 25 filters and <= 25 values across all, known operators,
    keys of the event, string values <= 512 characters."""
    filters = event_filter.get("advancedFilters", [])
    values = [v for f in filters for v in f.get("values", [f.get("value")]) if v is not None]
    problems = []
    if len(filters) > 25:
        problems.append(f"{len(filters)} advanced filters: at most 25")
    if len(values) > 25:
        problems.append(f"{len(values)} filter values in all: at most 25")
    for item in filters:
        if item.get("operatorType") not in _OPERATORS:
            problems.append(f"{item.get('operatorType')}: unknown operator")
        if not _KEYS.fullmatch(str(item.get("key"))):
            problems.append(f"{item.get('key')}: not a key of the Event Grid schema")
    problems += [
        f"value {v[:30]!r}...: at most 512 characters"
        for v in values
        if isinstance(v, str) and len(v) > 512
    ]
    return problems


def delivered(event_filter: dict[str, Any], event_type: str, subject: str, api: str) -> bool:
    """Whether Event Grid would deliver an event with these fields through `event_filter`."""
    if event_type not in event_filter["includedEventTypes"]:
        return False
    if not subject.startswith(event_filter["subjectBeginsWith"]):
        return False
    fields = {"subject": subject, "data.api": api, "eventType": event_type}
    return all(_passes(f, fields[f["key"]]) for f in event_filter["advancedFilters"])


def _passes(item: dict[str, Any], value: str) -> bool:
    values = [v.lower() for v in item["values"]]
    value = value.lower()  # string comparisons of advanced filters ignore case
    test: Callable[[], bool] = {
        "StringIn": lambda: value in values,
        "StringNotContains": lambda: not any(v in value for v in values),
        "StringNotBeginsWith": lambda: not any(value.startswith(v) for v in values),
        "StringNotEndsWith": lambda: not any(value.endswith(v) for v in values),
    }[item["operatorType"]]
    return test()


# ---- the tests ------------------------------------------------------------------------------


def committed(name: str) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads((GENERATED / name).read_bytes())
    return document


@pytest.mark.parametrize("name", sorted(generate.render()))
def test_committed_generated_files_equal_what_make_infra_writes(name: str) -> None:
    """A generated file that differs from `make infra`'s output fails until regenerated."""
    assert (GENERATED / name).read_bytes() == generate.render()[name], (
        f"infra/generated/{name} is out of date: run `make infra` and commit it"
    )


def test_the_lifecycle_policy_is_generated_now_that_lifecycle_native_exists() -> None:
    """lifecycle/native.py exists, so generate.py writes the policy the Bicep loads."""
    assert "lifecycle-policy.json" in generate.render()


def test_the_search_index_follows_the_service_field_rules() -> None:
    """The committed index definition breaks none of Azure AI Search's attribute rules."""
    assert search_index_problems(committed("search-index.json")) == []


def test_the_metrics_field_is_a_complex_collection_of_name_and_value() -> None:
    """metrics_last is Collection(Edm.ComplexType) with filterable name and value sub-fields."""
    (metrics,) = [
        f for f in committed("search-index.json")["fields"] if f["name"] == "metrics_last"
    ]
    assert metrics["type"] == "Collection(Edm.ComplexType)"
    assert [(f["name"], f["type"], f["filterable"]) for f in metrics["fields"]] == [
        ("name", "Edm.String", True),
        ("value", "Edm.Double", True),
    ]


@pytest.mark.parametrize(
    ("change", "broken"),
    [
        (lambda i: i["fields"][0].update(type="Edm.Int32"), "must be a retrievable Edm.String"),
        (lambda i: i["fields"][11].update(sortable=True), "multi-valued fields cannot be sortable"),
        (lambda i: i["fields"][-2].update(filterable=True), "complex field carries no attributes"),
        (lambda i: i["fields"][-2]["fields"][0].update(sortable=True), "cannot be sortable"),
        (lambda i: i["fields"][1].update(name="1st"), "a name starts with a letter"),
        (lambda i: i["fields"][13].update(searchable=True), "only strings can be searchable"),
        (lambda i: i.update(name="Ascend_Jobs"), "index name"),
    ],
)
def test_the_search_index_validator_catches_each_rule(change: Any, broken: str) -> None:
    """Each documented rule, broken on purpose, is reported (the validator is not vacuous)."""
    index = copy.deepcopy(committed("search-index.json"))
    change(index)
    assert any(broken in p for p in search_index_problems(index))


def test_the_lifecycle_policy_follows_the_rule_schema() -> None:
    """The committed lifecycle policy breaks none of the documented rule-schema limits."""
    assert lifecycle_problems(committed("lifecycle-policy.json")) == []


@pytest.mark.parametrize(
    ("change", "broken"),
    [
        (lambda r: r["definition"]["filters"].update(blobTypes=["pageBlob"]), "blobTypes"),
        (
            lambda r: r["definition"]["filters"].update(
                blobIndexMatch=[{"name": "retain", "op": "!=", "value": "true"}]
            ),
            "op '=='",
        ),
        (
            lambda r: r["definition"]["actions"]["baseBlob"].update(
                tierToArchive={"daysAfterCreationGreaterThan": -1}
            ),
            "0-99999",
        ),
        (lambda r: r["definition"]["actions"]["baseBlob"].update(moveToMars={}), "unknown action"),
        (lambda r: r["definition"]["filters"].update(blobTypes=["appendBlob"]), "append blobs"),
        (lambda r: r.update(name="cool rule!"), "bad name"),
    ],
)
def test_the_lifecycle_validator_catches_each_rule(change: Any, broken: str) -> None:
    """Each documented lifecycle rule, broken on purpose, is reported."""
    policy = copy.deepcopy(committed("lifecycle-policy.json"))
    change(policy["rules"][0])
    assert any(broken in p for p in lifecycle_problems(policy))


def test_the_event_filter_stays_within_event_grid_limits() -> None:
    """At most 25 advanced filters and 25 values in all, with known operators and keys."""
    assert event_filter_problems(committed("event-filters.json")) == []


def test_the_event_filter_validator_counts_values_across_filters() -> None:
    """26 values spread over two filters are over the limit."""
    too_many = {
        "advancedFilters": [
            {"operatorType": "StringIn", "key": "data.api", "values": [f"a{n}" for n in range(13)]},
            {
                "operatorType": "StringNotIn",
                "key": "subject",
                "values": [f"b{n}" for n in range(13)],
            },
        ]
    }
    assert event_filter_problems(too_many) == ["26 filter values in all: at most 25"]


BLOBS = "/blobServices/default/containers/ascend-data/blobs/"
JOB = "projects/frauddetect/users/alice/jobs/20251204-143022-alice-frauddetect-a3f5d2c8-7b9e4f1a"


@pytest.mark.parametrize(
    ("event_type", "blob", "api", "expected"),
    [
        ("Microsoft.Storage.BlobCreated", f"{JOB}/metadata.json", "PutBlob", True),
        ("Microsoft.Storage.BlobCreated", f"{JOB}/metadata.json", "PutBlockList", True),
        ("Microsoft.Storage.BlobCreated", f"{JOB}/job.log.jsonl", "PutBlob", True),
        ("Microsoft.Storage.BlobCreated", f"{JOB}/artifacts/model.pkl", "PutBlockList", True),
        (
            "Microsoft.Storage.BlobCreated",
            "projects/frauddetect/users/alice/images/a3f5d2c8e9b1/requirements.txt",
            "PutBlob",
            True,
        ),
        ("Microsoft.Storage.BlobDeleted", f"{JOB}/metadata.json", "DeleteBlob", True),
        (
            "Microsoft.Storage.BlobCreated",
            "projects/frauddetect/logs/by-date/2025/12/04/"
            "20251204-143022-alice-frauddetect-a3f5d2c8-7b9e4f1a.log.jsonl",
            "PutBlockList",
            False,
        ),
        ("Microsoft.Storage.BlobCreated", "_ascend/rejected/x.json", "PutBlob", False),
        ("Microsoft.Storage.BlobCreated", f"{JOB}/package.pkl", "PutBlob", False),
        # a job's .gz log is delivered: the handler refuses one the lifecycle did not write
        ("Microsoft.Storage.BlobCreated", f"{JOB}/job.log.jsonl.gz", "PutBlockList", True),
        ("Microsoft.Storage.BlobCreated", "shared/base-images/python311", "PutBlob", False),
        ("Microsoft.Storage.BlobTierChanged", f"{JOB}/metadata.json", "SetBlobTier", False),
    ],
)
def test_the_event_filter_delivers_what_the_indexer_reads_and_nothing_it_wrote(
    event_type: str, blob: str, api: str, expected: bool
) -> None:
    """Job and image inputs reach the function; by-date copies and system records never do."""
    assert delivered(committed("event-filters.json"), event_type, BLOBS + blob, api) is expected
