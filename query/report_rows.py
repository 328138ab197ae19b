"""The pure half of the reports: from `SearchIndex.aggregate` rows to report rows.

Each fold takes the grouped rows the index answered (a few per group: split by status, GPU,
tier...) and returns one JSON-ready row per group of the report, sorted the way an operator
reads it. No I/O: the use cases in `query.reports` ask the index, these functions add up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]
GIB = 1024**3
FINAL = frozenset({"completed", "failed", "cancelled"})

# `--by` keys of the reports and the document fields they group by.
COST_KEYS: Mapping[str, tuple[str, ...]] = {
    "project": ("project",),
    "user": ("user",),
    "node": ("node_type",),
    "function": ("function_name",),
    "image": ("user", "image_hash"),
    "week": ("created_week",),
    "month": ("created_month",),
}
STORAGE_KEYS: Mapping[str, tuple[str, ...]] = {
    "project": ("project",),
    "user": ("user",),
    "tier": ("tier",),
}
# Where each part of a job lies once its lifecycle stage (`tier`) is reached: the log itself
# never goes past Cool (gzip-compressed at the Archive stage), copies and artifacts do.
PLACEMENT: Mapping[str, Mapping[str, str]] = {
    "Hot": {"log": "Hot", "copy": "Hot", "artifact": "Hot"},
    "Cool": {"log": "Cool", "copy": "Cool", "artifact": "Cool"},
    "Archive": {"log": "Cool", "copy": "Archive", "artifact": "Archive"},
}
TIERS = ("Hot", "Cool", "Archive")


def group_fields(by: Sequence[str], keys: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The document fields to group by for the `--by` keys `by`, in order, without repeats."""
    return list(dict.fromkeys(f for b in by for f in keys[b]))


def key_of(
    row: Mapping[str, Any], by: Sequence[str], keys: Mapping[str, tuple[str, ...]]
) -> tuple[Any, ...]:
    """The report's group key of an aggregate row (an image is `user-hash12`)."""
    return tuple(_key_value(row, b, keys[b]) for b in by)


def _key_value(row: Mapping[str, Any], name: str, fields: tuple[str, ...]) -> Any:
    if name == "image":
        return image_tag(row.get("user"), row.get("image_hash"))
    return row.get(fields[0])


def image_tag(user: Any, image_hash: Any) -> str | None:
    """`user-hash12`, the image's tag; None when the job has no dependency hash."""
    return f"{user}-{image_hash}" if user and image_hash else None


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


# ---- cost ---------------------------------------------------------------------------------


@dataclass
class _Cost:
    jobs: int = 0
    failed: int = 0
    gpu_seconds: float = 0.0
    cpu_seconds: float = 0.0
    cost: float = 0.0
    failed_cost: float = 0.0


def fold_cost(rows: Iterable[Row], by: Sequence[str]) -> list[Row]:
    """Cost rows from aggregate rows grouped by the keys' fields + `use_gpu` + `status` with
    `sum_duration_seconds` and `sum_cost_usd`; most expensive first (time keys: in order)."""
    groups: dict[tuple[Any, ...], _Cost] = defaultdict(_Cost)
    for row in rows:
        acc = groups[key_of(row, by, COST_KEYS)]
        seconds, cost = _number(row.get("sum_duration_seconds")), _number(row.get("sum_cost_usd"))
        acc.jobs += row["count"]
        acc.cost += cost
        if row.get("use_gpu"):
            acc.gpu_seconds += seconds
        else:
            acc.cpu_seconds += seconds
        if row.get("status") == "failed":
            acc.failed += row["count"]
            acc.failed_cost += cost
    out = [
        dict(zip(by, key, strict=True))
        | {
            "count": acc.jobs,
            "gpu_hours": round(acc.gpu_seconds / 3600, 3),
            "cpu_hours": round(acc.cpu_seconds / 3600, 3),
            "cost_usd": round(acc.cost, 4),
            "failed": acc.failed,
            "failure_rate": _rate(acc.failed, acc.jobs),
            "failed_cost_usd": round(acc.failed_cost, 4),
        }
        for key, acc in groups.items()
    ]
    return _sorted(out, by, "cost_usd")


def _sorted(rows: list[Row], by: Sequence[str], measure: str) -> list[Row]:
    if by and by[0] in {"week", "month"}:
        return sorted(rows, key=lambda r: tuple(str(r[k]) for k in by))
    return sorted(rows, key=lambda r: (-r[measure], *(str(r[k]) for k in by)))


# ---- failures -----------------------------------------------------------------------------


@dataclass
class _Failure:
    count: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    example: str | None = None

    def __post_init__(self) -> None:
        self.users: set[str] = set()
        self.projects: set[str] = set()
        self.images: set[str] = set()


def fold_failures(rows: Iterable[Row]) -> list[Row]:
    """Failure rows from aggregate rows grouped by error_signature, user, project and
    image_hash with min/max `created_at` and max `job_id`; most failures first."""
    groups: dict[str | None, _Failure] = defaultdict(_Failure)
    for row in rows:
        acc = groups[row.get("error_signature")]
        acc.count += row["count"]
        acc.users.add(row["user"])
        acc.projects.add(row["project"])
        if (tag := image_tag(row.get("user"), row.get("image_hash"))) is not None:
            acc.images.add(tag)
        acc.first_seen = _least(acc.first_seen, row.get("min_created_at"))
        acc.last_seen = _most(acc.last_seen, row.get("max_created_at"))
        acc.example = _most(acc.example, row.get("max_job_id"))
    out = [
        {
            "signature": signature,
            "count": acc.count,
            "users": sorted(acc.users),
            "projects": sorted(acc.projects),
            "images": sorted(acc.images),
            "first_seen": acc.first_seen,
            "last_seen": acc.last_seen,
            "example": acc.example,
        }
        for signature, acc in groups.items()
    ]
    return sorted(out, key=lambda r: (-r["count"], r["signature"] or ""))


def _least(a: str | None, b: Any) -> str | None:
    return b if isinstance(b, str) and (a is None or b < a) else a


def _most(a: str | None, b: Any) -> str | None:
    return b if isinstance(b, str) and (a is None or b > a) else a


def new_signatures(this_week: Iterable[Row], week_before: Iterable[Row]) -> set[str]:
    """Signatures seen this week (aggregate rows by error_signature) and not the week before."""
    before = {r.get("error_signature") for r in week_before}
    return {s for r in this_week if (s := r.get("error_signature")) and s not in before}


# ---- storage ------------------------------------------------------------------------------


@dataclass
class _Storage:
    jobs: int = 0
    log: float = 0.0
    copy: float = 0.0
    artifact: float = 0.0
    retained_jobs: int = 0
    retained_bytes: float = 0.0

    def __post_init__(self) -> None:
        self.by_tier: dict[str, float] = dict.fromkeys(TIERS, 0.0)


def job_parts(row: Row) -> dict[str, float]:
    """Bytes of the log, its by-date copy (final jobs) and the artifacts of an aggregate row."""
    log = _number(row.get("sum_log_bytes"))
    return {
        "log": log,
        "copy": log if row.get("status") in FINAL else 0.0,
        "artifact": _number(row.get("sum_artifact_bytes")),
    }


def placed(row: Row) -> dict[str, float]:
    """Bytes per access tier of an aggregate row (grouped by tier and status)."""
    where = PLACEMENT.get(row.get("tier") or "Hot", PLACEMENT["Hot"])
    tiers = dict.fromkeys(TIERS, 0.0)
    for part, size in job_parts(row).items():
        tiers[where[part]] += size
    return tiers


def monthly_usd(by_tier: Mapping[str, float], prices: Mapping[str, float]) -> float:
    """The month's storage bill of bytes per tier at USD per GB-month `prices`."""
    return round(sum(size / GIB * prices.get(tier, 0.0) for tier, size in by_tier.items()), 4)


def fold_storage(rows: Iterable[Row], by: Sequence[str], prices: Mapping[str, float]) -> list[Row]:
    """Storage rows from aggregate rows grouped by the keys' fields + tier + retain + status
    with `sum_log_bytes` and `sum_artifact_bytes`; largest first."""
    groups: dict[tuple[Any, ...], _Storage] = defaultdict(_Storage)
    for row in rows:
        acc = groups[key_of(row, by, STORAGE_KEYS)]
        parts = job_parts(row)
        acc.jobs += row["count"]
        acc.log, acc.copy = acc.log + parts["log"], acc.copy + parts["copy"]
        acc.artifact += parts["artifact"]
        for tier, size in placed(row).items():
            acc.by_tier[tier] += size
        if row.get("retain"):
            acc.retained_jobs += row["count"]
            acc.retained_bytes += sum(parts.values())
    out = [
        dict(zip(by, key, strict=True))
        | {
            "count": acc.jobs,
            "log_bytes": int(acc.log),
            "copy_bytes": int(acc.copy),
            "artifact_bytes": int(acc.artifact),
            "total_bytes": int(acc.log + acc.copy + acc.artifact),
            **{f"{t.lower()}_bytes": int(acc.by_tier[t]) for t in TIERS},
            "monthly_usd": monthly_usd(acc.by_tier, prices),
            "retained": acc.retained_jobs,
            "retained_bytes": int(acc.retained_bytes),
        }
        for key, acc in groups.items()
    ]
    return sorted(out, key=lambda r: (-r["total_bytes"], *(str(r[k]) for k in by)))


def sweep_change(row: Row, stage: str | None) -> dict[str, float]:
    """Bytes per tier that one aggregate row adds (+) and removes (-) when the sweep moves its
    jobs to `stage` (None: deletes them)."""
    before = placed(row)
    after = placed({**row, "tier": stage}) if stage else dict.fromkeys(TIERS, 0.0)
    return {t: after[t] - before[t] for t in TIERS}


def with_sweep(
    report: list[Row],
    moves: Iterable[tuple[Row, str | None]],
    by: Sequence[str],
    prices: Mapping[str, float],
) -> list[Row]:
    """Storage rows with what the next sweep changes: jobs it moves to a colder tier, jobs it
    deletes, bytes it frees, and the monthly bill after it."""
    changes: dict[tuple[Any, ...], dict[str, float]] = defaultdict(
        lambda: {"moved": 0, "deleted": 0, "freed": 0.0, **dict.fromkeys(TIERS, 0.0)}
    )
    for row, stage in moves:
        change = changes[key_of(row, by, STORAGE_KEYS)]
        change["moved" if stage else "deleted"] += row["count"]
        if stage is None:
            change["freed"] += sum(job_parts(row).values())
        for tier, delta in sweep_change(row, stage).items():
            change[tier] += delta
    out = []
    for row in report:
        change = changes[tuple(row[k] for k in by)]
        after = {t: row[f"{t.lower()}_bytes"] + change[t] for t in TIERS}
        out.append(
            row
            | {
                "sweep_moves": int(change["moved"]),
                "sweep_deletes": int(change["deleted"]),
                "sweep_freed_bytes": int(change["freed"]),
                "monthly_usd_after_sweep": monthly_usd(after, prices),
            }
        )
    return out


# ---- images -------------------------------------------------------------------------------


def fold_images(rows: Iterable[Row], packages: Iterable[Row], *, unused_before: str) -> list[Row]:
    """Image rows from aggregate rows grouped by user, image_hash, status (with max
    created_at) and by user, image_hash, packages; most used first. An image last used
    before `unused_before` (a document time) is a candidate to prune."""
    images: dict[str, Row] = {}
    for row in rows:
        tag = image_tag(row.get("user"), row.get("image_hash"))
        if tag is None:
            continue
        image = images.setdefault(
            tag, {"image": tag, "count": 0, "failed": 0, "last_used": None, "packages": []}
        )
        image["count"] += row["count"]
        image["failed"] += row["count"] if row.get("status") == "failed" else 0
        image["last_used"] = _most(image["last_used"], row.get("max_created_at"))
    for row in packages:
        tag = image_tag(row.get("user"), row.get("image_hash"))
        if tag in images and row.get("packages"):
            images[tag]["packages"].append(row["packages"])
    for image in images.values():
        image["failure_rate"] = _rate(image["failed"], image["count"])
        image["packages"] = sorted(image["packages"])
        image["unused"] = bool(image["last_used"] and image["last_used"] < unused_before)
    return sorted(images.values(), key=lambda r: (-r["count"], r["image"]))


def fold_packages(packages: Iterable[Row]) -> list[Row]:
    """Package rows (`name==version`: distinct images carrying it, jobs using it) from
    aggregate rows grouped by user, image_hash, packages; the most shared first."""
    acc: dict[str, Row] = {}
    for row in packages:
        text = row.get("packages")
        if not text or image_tag(row.get("user"), row.get("image_hash")) is None:
            continue
        entry = acc.setdefault(text, {"package": text, "images": 0, "count": 0})
        entry["images"] += 1
        entry["count"] += row["count"]
    return sorted(acc.values(), key=lambda r: (-r["images"], -r["count"], r["package"]))
