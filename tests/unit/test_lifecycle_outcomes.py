"""Tiers, actions and outcomes are typed values that print as the audit log and `--json` did."""

from __future__ import annotations

import orjson

from lifecycle.outcome import DONE, GONE, Outcome, OutcomeKind
from lifecycle.plan import ActionKind
from shared.tiers import Tier, tier_rank


def test_outcomes_print_as_the_audit_log_records_them() -> None:
    """done / skipped: reason / failed: reason, exactly the texts written before."""
    assert [str(DONE), str(GONE), str(Outcome(OutcomeKind.FAILED, "HTTP 500"))] == [
        "done",
        "skipped: already gone",
        "failed: HTTP 500",
    ]


def test_tiers_and_actions_serialize_as_their_azure_and_cli_names() -> None:
    """A StrEnum is its text in JSON, so `retention plan --json` lines do not change."""
    line = orjson.dumps({"action": ActionKind.SET_TIER, "tier": Tier.ARCHIVE})
    assert line == b'{"action":"set_tier","tier":"Archive"}'


def test_colder_tiers_rank_higher_and_unknown_ones_count_as_hot() -> None:
    """Hot < Cool < Cold < Archive; a tier storage did not report (None) or a new name is Hot."""
    assert [tier_rank(t) for t in ("Hot", "Cool", "Cold", "Archive")] == [0, 1, 2, 3]
    assert tier_rank(None) == tier_rank("Smart") == 0
