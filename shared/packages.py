"""Package requirement texts as indexed (`torch==2.0.0`): their PEP 503 name and pinned version."""

from __future__ import annotations

import functools

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name


@functools.lru_cache(maxsize=1 << 16)  # parsing dominates ingest; jobs share few distinct texts
def split_requirement(text: str) -> tuple[str, str]:
    """(PEP 503 name, pinned version or '') of a requirement text like `torch==2.0.0`."""
    try:
        req = Requirement(text)
    except InvalidRequirement:  # best effort: the name up to the first operator or marker
        head = text.split(";", 1)[0]
        for stop in "=<>!~[ @":
            head = head.split(stop, 1)[0]
        return canonicalize_name(head.strip()), text.partition("==")[2].split(";")[0].strip()
    pins = [s.version for s in req.specifier if s.operator in {"==", "==="}]
    return canonicalize_name(req.name), (pins[0] if len(pins) == 1 else "")
