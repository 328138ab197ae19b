"""The retention policy: the design's table as data, and refusal of policies that make no sense."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lifecycle.policy import DEFAULT_POLICY, InvalidPolicy, RetentionPolicy, policy_from_json


def test_the_default_policy_is_the_designs_table() -> None:
    """Hot 0-30 days, Cool 30-90, Archive 90+, Delete 365+."""
    assert DEFAULT_POLICY.table() == [
        {"stage": "Hot", "from_days": 0, "until_days": 30},
        {"stage": "Cool", "from_days": 30, "until_days": 90},
        {"stage": "Archive", "from_days": 90, "until_days": 365},
        {"stage": "Delete", "from_days": 365, "until_days": None},
    ]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"cool_after": 90, "archive_after": 30}, "Archive before Cool"),
        ({"cool_after": -1}, "cannot be negative"),
        ({"delete_after": 60}, "delete_after (60 d) is not after archive_after (90 d)"),
        ({"archive_after": None, "delete_after": 10}, "is not after cool_after"),
        ({"artifact_delete_after": {"Model!": 10}}, "artifact type 'Model!'"),
        ({"artifact_delete_after": {"model": -5}}, "cannot be negative"),
        ({"delete_after": "soon"}, "delete_after"),
        ({"keep_forever": True}, "keep_forever"),
    ],
)
def test_a_policy_that_makes_no_sense_is_refused_with_the_reason(
    document: dict[str, Any], reason: str
) -> None:
    """Each incoherent policy is refused in one line that names the project and the reason."""
    with pytest.raises(InvalidPolicy) as caught:
        policy_from_json(document, subject="policy for project 'vision'")
    message = str(caught.value)
    assert message.startswith("policy for project 'vision': ")
    assert reason in message
    assert "\n" not in message


def test_a_stored_policy_round_trips_through_its_json_form() -> None:
    """What `as_json` writes, `policy_from_json` reads back equal."""
    policy = RetentionPolicy(
        cool_after=10,
        archive_after=100,
        delete_after=730,
        artifact_delete_after=(("model", None), ("plot", 400)),
    )
    assert policy_from_json(policy.as_json(), subject="p") == policy


@given(
    st.one_of(st.none(), st.integers(-5, 800)),
    st.one_of(st.none(), st.integers(-5, 800)),
    st.one_of(st.none(), st.integers(-5, 800)),
)
def test_any_three_thresholds_are_accepted_exactly_when_ordered(
    cool: int | None, archive: int | None, delete: int | None
) -> None:
    """Accepted iff no day is negative, Cool <= Archive, and deletion comes after both tiers."""
    days = [d for d in (cool, archive, delete) if d is not None]
    ordered = (
        all(d >= 0 for d in days)
        and (cool is None or archive is None or cool <= archive)
        and (delete is None or all(delete > t for t in (cool, archive) if t is not None))
    )
    if ordered:
        RetentionPolicy(cool_after=cool, archive_after=archive, delete_after=delete)
    else:
        with pytest.raises(InvalidPolicy):
            RetentionPolicy(cool_after=cool, archive_after=archive, delete_after=delete)


def test_archive_is_skipped_when_deletion_would_come_within_180_days() -> None:
    """A 90-day archive with a 200-day delete would pay Archive's early-deletion charge."""
    policy = RetentionPolicy(archive_after=90, delete_after=200)
    assert not policy.archive_allowed(200, retained=False)
    assert policy.archive_allowed(200, retained=True)
    assert policy.archive_allowed(None, retained=False)
    assert DEFAULT_POLICY.archive_allowed(365, retained=False)
    accepting = RetentionPolicy(archive_after=90, delete_after=200, accept_early_deletion=True)
    assert accepting.archive_allowed(200, retained=False)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=12,
)
KEYS = st.sampled_from(
    [
        "cool_after",
        "archive_after",
        "delete_after",
        "artifact_delete_after",
        "accept_early_deletion",
    ]
)


@given(st.dictionaries(KEYS | st.text(max_size=12), JSON, max_size=6))
@example(document={"\n": None})  # a key with a newline once split the refusal
def test_any_json_document_gives_a_policy_or_one_line_refusal(document: dict[str, Any]) -> None:
    """Whatever an admin or a hand-edited file holds: a valid policy, or InvalidPolicy in one
    line naming the policy, never another exception."""
    result = parse_or_reason(document, "policy for project 'p'")
    if isinstance(result, str):
        assert result.startswith("policy for project 'p': ")
        assert "\n" not in result
    else:
        assert policy_from_json(result.as_json(), subject="again") == result


@given(st.binary(max_size=200))
def test_any_stored_bytes_give_a_policy_or_one_line_refusal(raw: bytes) -> None:
    """A corrupted policy file is refused with a reason, not a traceback."""
    result = parse_or_reason(raw, "stored policy x")
    assert isinstance(result, RetentionPolicy) or "\n" not in result


def parse_or_reason(data: dict[str, Any] | bytes, subject: str) -> RetentionPolicy | str:
    """The policy, or the refusal's message."""
    try:
        return policy_from_json(data, subject=subject)
    except InvalidPolicy as exc:
        return str(exc)
