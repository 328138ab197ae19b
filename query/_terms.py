"""What each query key means: one builder per key, from its value text to a term of the tree.

Builders raise `TermError` with the reason only; the parser adds the position. Values are kept
as literals (never rewritten into something else): a value that cannot be meant literally is an
error, so nothing in a query can match more than it says.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from query.ast import AllOf, Compare, Equals, IsTrue, Metric, Op, Package, Relative, Tag, Term
from query.resolve import to_millis
from shared.errors import InvalidName
from shared.jobid import is_valid_name, parse_image_tag
from shared.status import JobStatus

MAX_VALUE_CHARS = 1024
STATUSES = tuple(s.value for s in JobStatus)
SORT_KEYS = {
    "created": "created_at",
    "updated": "updated_at",
    "cost": "cost_usd",
    "duration": "duration_seconds",
    "user": "user",
    "project": "project",
    "errors": "log_errors",
    "bytes": "artifact_bytes",
}
_OPS: tuple[Op, ...] = ("<=", ">=", "=", "<", ">")  # the two-character ones first
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_METRIC_RE = re.compile(r"(?P<name>[^<>=]+)(?:(?P<op><=|>=|=|<|>)(?P<value>.*))?", re.DOTALL)
_RELATIVE_RE = re.compile(r"-(\d{1,6})([wdh])")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HEX8_RE = re.compile(r"[0-9a-f]{8}")
_HEX12_RE = re.compile(r"[0-9a-f]{12}")
_UNITS = {"w": "weeks", "d": "days", "h": "hours"}


class TermError(ValueError):
    """Why a term's value is not acceptable (the parser adds where)."""


Builder = Callable[[str, bool], Term]


def _literal(value: str) -> str:
    if not value:
        raise TermError("empty value")
    if len(value) > MAX_VALUE_CHARS:
        raise TermError(f"value longer than {MAX_VALUE_CHARS} characters")
    return value


def _alternatives(value: str, quoted: bool) -> tuple[str, ...]:
    parts = (value,) if quoted else tuple(value.split(","))
    return tuple(_literal(p) for p in parts)


def _equality(field: str, check: Callable[[str], str] = _literal) -> Builder:
    def build(value: str, quoted: bool) -> Term:
        return Equals(field, tuple(dict.fromkeys(check(v) for v in _alternatives(value, quoted))))

    return build


def _status(value: str) -> str:
    if value.lower() not in STATUSES:
        raise TermError(f"unknown status {value!r} (expected one of {', '.join(STATUSES)})")
    return value.lower()


def _name(kind: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not is_valid_name(value.lower()):
            raise TermError(f"{value!r} is not a valid {kind} name (a-z, 0-9, _; at most 16)")
        return value.lower()

    return check


def _dep_hash(value: str) -> str:
    if not _HEX8_RE.fullmatch(value.lower()):
        raise TermError(f"{value!r} is not 8 hex digits (image: takes user-<12 hex digits>)")
    return value.lower()


def _signature(value: str) -> str:
    if not _HEX12_RE.fullmatch(value.lower()):
        raise TermError(
            f"{value!r} is not an error signature (12 hex digits, from `ascend report failures`)"
        )
    return value.lower()


def _image(value: str, quoted: bool) -> Term:
    try:
        user, image_hash = parse_image_tag(_literal(value).lower())
    except InvalidName:
        raise TermError(f"{value!r} is not an image tag USER-<12 hex digits>") from None
    return AllOf((Equals("user", (user,)), Equals("image_hash", (image_hash,))))


def _package(value: str, quoted: bool) -> Term:
    # Imported here: `packaging` costs ~20 ms that `ascend` start-up never needs.
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        req = Requirement(_literal(value))
    except InvalidRequirement as exc:
        why = str(exc).splitlines()[0] if str(exc) else "invalid"
        raise TermError(f"{value!r} is not NAME or NAME<PEP 440 specifiers>: {why}") from None
    if req.url or req.marker or req.extras:
        raise TermError(f"{value!r}: only a name and version specifiers are allowed")
    return Package(canonicalize_name(req.name), str(req.specifier))


def _tag(value: str, quoted: bool) -> Term:
    key, equals, tag_value = _literal(value).partition("=")
    if not key:
        raise TermError(f"{value!r} has no tag key (write tag:KEY or tag:KEY=VALUE)")
    return Tag(key, tag_value if equals else None)


def _gpu(value: str, quoted: bool) -> Term:
    if value.lower() not in {"true", "false"}:
        raise TermError(f"{value!r} is not true or false")
    return IsTrue("use_gpu", value.lower() == "true")


def _retain(value: str, quoted: bool) -> Term:
    if value.lower() not in {"true", "false"}:
        raise TermError(f"{value!r} is not true or false")
    return IsTrue("retain", value.lower() == "true")


TIERS = ("Hot", "Cool", "Cold", "Archive")


def _tier(value: str) -> str:
    for tier in TIERS:
        if value.lower() == tier.lower():
            return tier
    raise TermError(f"unknown tier {value!r} (expected one of {', '.join(TIERS)})")


def _number(text: str) -> float:
    if not _NUMBER_RE.fullmatch(text) or not math.isfinite(number := float(text)):
        raise TermError(f"{text!r} is not a number")
    return number


def _split_op(value: str) -> tuple[Op, str]:
    text = _literal(value)
    given = next((op for op in _OPS if text.startswith(op)), None)
    op, rest = (given, text[len(given) :]) if given else ("=", text)
    if rest[:1] in {"<", ">", "=", "!"}:
        raise TermError(f"unknown operator in {value!r} (use =, >, >=, <, <=)")
    return op, rest


def _numeric(field: str) -> Builder:
    def build(value: str, quoted: bool) -> Term:
        op, number = _split_op(value)
        return Compare(field, op, _number(number))

    return build


MAX_AGO = timedelta(days=36_525)  # a century: `-999999d` would reach before year 1


def _created(value: str, quoted: bool) -> Term:
    op, moment = _split_op(value)
    relative = _RELATIVE_RE.fullmatch(moment)
    if relative:
        if op == "=":
            raise TermError("a relative time needs >, >=, < or <=")
        ago = timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
        if ago > MAX_AGO:
            raise TermError(f"{moment!r} reaches back more than {MAX_AGO.days} days")
        return Compare("created_at", op, Relative(ago))
    if _DATE_RE.fullmatch(moment):
        return _whole_day(op, _moment(moment))
    return Compare("created_at", op, _moment(moment))


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TermError(f"{text!r} is not a date, an ISO 8601 time or -Nd/-Nh/-Nw") from None
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return to_millis(aware)


def _whole_day(op: Op, day: datetime) -> Term:
    """A bare date means the whole day: `<=D` includes it, `>D` starts after it."""
    if day.date() >= date.max:
        raise TermError(f"{day:%Y-%m-%d} is the last day a date can name: use < or >= instead")
    after = day + timedelta(days=1)
    if op == "=":
        return AllOf((Compare("created_at", ">=", day), Compare("created_at", "<", after)))
    if op in {">", "<="}:
        return Compare("created_at", ">=" if op == ">" else "<", after)
    return Compare("created_at", op, day)


def _metric(value: str, quoted: bool) -> Term:
    match = _METRIC_RE.fullmatch(_literal(value))
    if match is None:
        raise TermError(f"{value!r} is not NAME, or NAME followed by =, >, >=, <, <= and a number")
    op = next((o for o in _OPS if o == match["op"]), None)  # the pattern allows only these
    if op is None:
        return Metric(match["name"])
    return Metric(match["name"], op, _number(match["value"]))


BUILDERS: dict[str, Builder] = {
    "status": _equality("status", _status),
    "user": _equality("user", _name("user")),
    "project": _equality("project", _name("project")),
    "function": _equality("function_name"),
    "node": _equality("node_type"),
    "python": _equality("python_version"),
    "dep": _equality("dep_hash", _dep_hash),
    "image": _image,
    "signature": _equality("error_signature", _signature),
    "package": _package,
    "tag": _tag,
    "gpu": _gpu,
    "retain": _retain,
    "tier": _equality("tier", _tier),
    "created": _created,
    "duration": _numeric("duration_seconds"),
    "cost": _numeric("cost_usd"),
    "metric": _metric,
}
