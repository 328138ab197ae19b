"""Azure Blob access tiers, coldest last: what a blob's `tier` and a document's `tier` hold."""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    """An access tier, spelled as Azure Storage reports it (`Hot`, `Cool`, `Cold`, `Archive`)."""

    HOT = "Hot"
    COOL = "Cool"
    COLD = "Cold"
    ARCHIVE = "Archive"

    @property
    def rank(self) -> int:
        """Colder tiers rank higher."""
        return list(Tier).index(self)


def tier_rank(tier: str | None) -> int:
    """The rank of a reported tier; an unreported or unknown one counts as Hot."""
    known = {t.value: t for t in Tier}
    return known[tier].rank if tier in known else 0
