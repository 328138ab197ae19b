"""Pure helpers the templates use: relative times, durations, money, panels of a job's metadata,
and the differences between compared jobs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from shared.units import human_bytes

STATUS_CLASSES = ("queued", "running", "completed", "failed", "cancelled")
PANELS = ("config", "dependencies", "execution", "resources", "tags")
FACET_FIELDS = {"status": "status", "project": "project", "user": "user", "node_type": "node"}


def parse_time(text: object) -> datetime | None:
    """An ISO timestamp (with Z) as an aware datetime, None if missing or invalid."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def relative(moment: datetime | None, now: datetime) -> str:
    """`3 h ago`, `in 5 min`: the coarsest unit that fits."""
    if moment is None:
        return ""
    seconds = (now - moment).total_seconds()
    ahead, seconds = seconds < 0, abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            text = f"{int(seconds // size)} {unit}"
            break
    else:
        text = f"{int(seconds)} s"
    return f"in {text}" if ahead else f"{text} ago"


def duration(seconds: object) -> str:
    """`1 h 02 min`, `4 min 05 s`, `12 s`; empty when unknown."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return ""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def money(value: object) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return ""
    return f"${value:,.2f}"


def size(value: object) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return ""
    return human_bytes(value, grouped=False)


def query_url(path: str, **params: str | None) -> str:
    """`path?k=v...` leaving out empty values."""
    kept = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(kept)}" if kept else path


def narrowed(query: str, field: str, value: str) -> str:
    """The query with `field:value` AND-ed (quoted when needed), unless it is there already."""
    key = FACET_FIELDS.get(field, field)
    term = f"{key}:{_quoted(value)}"
    return query if term in query.split() else f"{query} {term}".strip()


def sorted_by(query: str, key: str) -> str:
    """The query with its `sort:` term replaced by `sort:KEY`."""
    kept = [word for word in query.split(" ") if word and not word.startswith("sort:")]
    return " ".join([*kept, f"sort:{key}"])


def _quoted(value: str) -> str:
    plain = value and all(c.isalnum() or c in "_.-=" for c in value)
    return value if plain else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def panels(metadata: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The metadata's sections as flat name → value tables (lists joined)."""
    if not metadata:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name in PANELS:
        section = metadata.get(name)
        if isinstance(section, Mapping):
            out[name] = {k: _flat(v) for k, v in section.items() if v not in (None, "", [])}
    return out


def _flat(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value


def differences(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[Any], bool]]:
    """(key, value per job, differs) for every key of any job, in first-seen order."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    table = []
    for key in keys:
        values = [row.get(key) for row in rows]
        table.append((key, values, len({repr(v) for v in values}) > 1))
    return table


def flatten(metadata: Mapping[str, Any] | None, sections: Sequence[str]) -> dict[str, Any]:
    """`section.key` → value for the given sections of a metadata dict."""
    flat: dict[str, Any] = {}
    for name in sections:
        section = (metadata or {}).get(name)
        if isinstance(section, Mapping):
            for key, value in section.items():
                flat[f"{name}.{key}"] = _flat(value)
    return flat
