"""The producer's name for `shared.transitions`: how a job's metadata changes (pure)."""

from shared.transitions import transition, validated, with_artifacts

__all__ = ["transition", "validated", "with_artifacts"]
