"""Package requirement texts as indexed (`torch==2.0.0`): their PEP 503 name and pinned version,
and which of them a PEP 440 specifier (`package:"torch>=2"`) takes in.

`packaging` is imported where it is used: it costs ~20 ms that `ascend` start-up never needs."""

from __future__ import annotations

import functools
from collections.abc import Iterable


@functools.lru_cache(maxsize=1 << 16)  # parsing dominates ingest; jobs share few distinct texts
def split_requirement(text: str) -> tuple[str, str]:
    """(PEP 503 name, pinned version or '') of a requirement text like `torch==2.0.0`."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        req = Requirement(text)
    except InvalidRequirement:  # best effort: the name up to the first operator or marker
        head = text.split(";", 1)[0]
        for stop in "=<>!~[ @":
            head = head.split(stop, 1)[0]
        return canonicalize_name(head.strip()), text.partition("==")[2].split(";")[0].strip()
    pins = [s.version for s in req.specifier if s.operator in {"==", "==="}]
    return canonicalize_name(req.name), (pins[0] if len(pins) == 1 else "")


def version_matches(specifier: str, version: str) -> bool:
    """Is `version` inside `specifier`, prereleases and local versions as packaging decides?"""
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        return SpecifierSet(specifier).contains(Version(version))
    except InvalidVersion:
        return False


def matching_versions(specifier: str, versions: Iterable[str]) -> tuple[str, ...]:
    """The version texts inside `specifier`, sorted (for stable SQL)."""
    return tuple(sorted(v for v in set(versions) if version_matches(specifier, v)))


def matching_package_texts(name: str, specifier: str, texts: Iterable[str]) -> tuple[str, ...]:
    """The indexed `packages` texts of package `name` whose pinned version is in `specifier`."""
    chosen = set()
    for text in texts:
        text_name, version = split_requirement(text)
        if text_name == name and version_matches(specifier, version):
            chosen.add(text)
    return tuple(sorted(chosen))
