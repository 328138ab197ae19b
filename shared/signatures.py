"""Error signatures: what is the same about failures that differ only in their varying parts.

`error_pattern("RuntimeError", "CUDA out of memory. Tried to allocate 2.00 GiB")` is
`RuntimeError: CUDA out of memory. Tried to allocate <size>`, and `error_signature(pattern)` is
its 12-hex fingerprint. Masked: quoted values, URLs and e-mail addresses, job IDs, UUIDs,
paths, IP addresses (with a port), memory addresses and other hex IDs (6+ hex digits, digits
and letters mixed), sizes with a unit (`2.00 GiB`, `512 bytes`), and every other number. Words
stay: two messages with different words, or different exception types, are different errors.

The indexer computes this once per job with an error, so it is built for speed (see
`bench/reports.py`: a few µs of CPU per failed job): each mask is one regular expression that
starts with a character class (the engine then skips to candidate characters in C) and replaces
with a constant; the rarer masks run only when their tell-tale character is in the message (a
C-speed `in`), the numeric ones only when it has a digit, and a size's number is never
backtracked into. The masks, and so the signatures of indexed jobs, are those of the first
version: only their cost changed.
"""

from __future__ import annotations

import hashlib
import re

MAX_PATTERN_CHARS = 300
MAX_MESSAGE_CHARS = 2000
SIGNATURE_HEX = 12

_H = "[0-9a-fA-F]"
_NUMBER = r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
_DIGIT = re.compile(r"\d")
_Step = tuple[str, re.Pattern[str], str]
# (tell-tale characters, "" for always; pattern; mask), applied in this order.
_STEPS: tuple[_Step, ...] = (
    ("'\"", re.compile(r"""'(?<!\w')[^'\n]{0,400}'(?!\w)|"[^"\n]{0,400}\""""), "'<str>'"),
    (":", re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>()]+"), "<url>"),
    ("@", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (
        "-",
        re.compile(r"\d{8}-\d{6}-[a-z0-9_]{1,16}-[a-z0-9_]{1,16}-[0-9a-f]{8}-[0-9a-f]{8}\b"),
        "<job>",
    ),
    ("-", re.compile(rf"{_H}(?<!\w{_H}){_H}{{7}}-(?:{_H}{{4}}-){{3}}{_H}{{12}}\b"), "<uuid>"),
    ("/\\~", re.compile(r"[/~\\](?<![\w.\-/~\\][/~\\])[^\s'\"(),;:\[\]<>]+"), "<path>"),
    (".", re.compile(r"\d(?<!\w\d)\d{0,2}(?:\.\d{1,3}){3}(?::\d{1,5})?\b"), "<ip>"),
    ("xX", re.compile(r"0(?<!\w0)[xX][0-9a-fA-F]+\b"), "<hex>"),
    # a hex run with a letter and a digit in it (the first one, already consumed, counts too)
    (
        "",
        re.compile(
            rf"{_H}(?<!\w{_H})(?:(?<=[a-fA-F])|(?=\d*[a-fA-F]))"
            rf"(?:(?<=\d)|(?=[a-fA-F]*\d)){_H}{{5,}}\b"
        ),
        "<hex>",
    ),
    # the number is atomic: a shorter one never ends where a unit starts (a number only gives
    # back digits, `.`, `e` and signs), so backtracking into it could only cost time
    ("Bb", re.compile(rf"(?>{_NUMBER})\s?(?:[KMGTP]i?B|bytes?|B)\b"), "<size>"),
    ("", re.compile(_NUMBER), "<n>"),
)
# The steps that can match a message without a digit (a UUID may be hex letters only).
_WITHOUT_DIGITS: tuple[_Step, ...] = tuple(
    step for step in _STEPS if step[2] in {"'<str>'", "<url>", "<email>", "<uuid>", "<path>"}
)


def mask_message(message: str) -> str:
    """`message` with its varying parts masked and its white space collapsed."""
    text = message[:MAX_MESSAGE_CHARS]
    for tells, pattern, mask in _STEPS if _DIGIT.search(text) else _WITHOUT_DIGITS:
        if not tells or _any_in(tells, text):
            text = pattern.sub(mask, text)
    return " ".join(text.split())[:MAX_PATTERN_CHARS]


def _any_in(chars: str, text: str) -> bool:
    """Whether one of `chars` is in `text` (a C `in` each: `any()` of a generator costs more
    than the steps it saves)."""
    for char in chars:  # noqa: SIM110
        if char in text:
            return True
    return False


def error_pattern(kind: str | None, message: str | None) -> str | None:
    """`Type: masked message` (just the masked message without a type); None for no error."""
    kind = " ".join((kind or "").split())[:100]
    masked = mask_message(message or "")
    if kind and masked:
        return f"{kind}: {masked}"
    return kind or masked or None


def error_signature(pattern: str | None) -> str | None:
    """The 12-hex fingerprint of an error pattern (None for None)."""
    if pattern is None:
        return None
    return hashlib.sha256(pattern.encode()).hexdigest()[:SIGNATURE_HEX]
