"""Masking of secret-shaped values in job output, before anything is stored.

What is masked (each replaced by `***`, keeping the name around it so a reader sees what was there):

- connection-string keys: `AccountKey=...`, `SharedAccessKey=...`, `SharedAccessSignature=...`;
- SAS signatures: `sig=...` in a query string; `Password=` / `Pwd=` values;
- Azure storage account keys on their own: 88 characters of base64 ending in `==` (64 bytes);
- bearer tokens (`Bearer ...`) and bare JSON Web Tokens (`eyJ...`.`...`.`...`);
- passwords in URLs: `scheme://user:password@host`;
- PEM private key blocks and PGP private key blocks, whole (`-----BEGIN ... PRIVATE KEY-----` to
  its `END` line), also printed line by line with a prefix on each line;
- `NAME=value`, `NAME: value` and `"NAME": "value"` where NAME says password, passwd, pwd, secret
  (any value) or token, api key, access key, client secret (values of 8+ characters, not numbers):
  `DB_PASSWORD=`, `PGPASSWORD=`, JSON and YAML `password` fields;
- `Basic` credentials, and the token shapes of detect-secrets' maintained rule set (AWS, GitHub,
  GitLab, Slack, OpenAI, Stripe, SendGrid, Twilio, npm, PyPI, Discord, Mailchimp, Artifactory,
  Square, Telegram; see `_DETECTORS`), compiled once into the rules below.

Encoded secrets are masked too: text with URL escapes (`%3D`) or JSON escapes (`\u0026`, `\"`)
is masked again after decoding (a JSON line value by value, re-encoded; other text stored in its
decoded form when the decoded form held a secret).

`mask_text` masks one piece of text (a log message, a stack trace). Console output and log records
arrive one at a time, and a key block spans them, so `SecretMasker` keeps that one bit of state
per stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import orjson
from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

MASK = "***"
_TOKEN_MIN_CHARS = 8  # a shorter value of a token-ish key is a setting (`max_tokens: 512`)
KEY_MASK = "[private key masked]"

_BASE64 = r"A-Za-z0-9+/"
# Token shapes from detect-secrets (Yelp's maintained rule set). Its keyword and high-entropy
# plugins are left out: they guess from file names and entropy and would mask ordinary output;
# the keyword rule below covers NAME=value shapes instead.
_DETECTORS = (
    ArtifactoryDetector,
    AWSKeyDetector,
    DiscordBotTokenDetector,
    GitHubTokenDetector,
    GitLabTokenDetector,
    MailchimpDetector,
    NpmDetector,
    OpenAIDetector,
    PypiTokenDetector,
    SendGridDetector,
    SlackDetector,
    SquareOAuthDetector,
    StripeDetector,
    TelegramBotTokenDetector,
    TwilioKeyDetector,
)
_SECRET_WORD = r"(?:password|passwd|pwd|secret)"  # noqa: S105 - names to look for, not secrets
_TOKEN_WORD = r"(?:token|api[_-]?key|access[_-]?key|client[_-]?secret|auth[_-]?key)"  # noqa: S105
_NAME = r"[A-Za-z0-9_.-]*"
_VALUE_END = r"\s\"',;&}<>"


@dataclass(frozen=True)
class _Rule:
    """A pattern and its replacement, run only when the text holds one of `needs` (substrings
    of the lower-cased text, or of the text itself when `cased`): most lines skip most rules
    after a few substring tests in C."""

    pattern: re.Pattern[str]
    replacement: str
    needs: tuple[str, ...]
    cased: bool = False


# What each detector's patterns cannot match without (checked on the lower-cased text, or on the
# text itself for the upper-case prefixes marked cased).
_DETECTOR_NEEDS: dict[type, tuple[tuple[str, ...], bool]] = {
    ArtifactoryDetector: (("AKC", "AP"), True),
    AWSKeyDetector: (("akia", "asia", "a3t", "abia", "acca", "aws"), False),
    DiscordBotTokenDetector: ((".",), False),
    GitHubTokenDetector: (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), False),
    GitLabTokenDetector: (("gl", "gr1348941"), False),
    MailchimpDetector: (("-us",), False),
    NpmDetector: (("_authtoken",), False),
    OpenAIDetector: (("t3blbkfj",), False),
    PypiTokenDetector: (("pypi-",), False),
    SendGridDetector: (("sg.",), False),
    SlackDetector: (("xox", "hooks.slack.com"), False),
    SquareOAuthDetector: (("sq0",), False),
    StripeDetector: (("k_live_",), False),
    TelegramBotTokenDetector: ((":",), False),
    TwilioKeyDetector: (("AC", "SK"), True),
}
_RULES: tuple[_Rule, ...] = (
    _Rule(
        re.compile(
            r"(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd)="
            r"[^;&\s\"']+"
        ),
        rf"\1={MASK}",
        ("accountkey=", "sharedaccess", "password=", "pwd="),
    ),
    _Rule(re.compile(r"(?i)(?<![A-Za-z])(sig=)[^&\s\"'#;\\]+"), rf"\1{MASK}", ("sig=",)),
    _Rule(re.compile(rf"(?<![{_BASE64}])[{_BASE64}]{{86}}==(?![{_BASE64}=])"), MASK, ("==",)),
    _Rule(
        re.compile(r"(?i)\b((?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}"),
        rf"\1{MASK}",
        ("bearer", "basic"),
    ),
    _Rule(
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
        MASK,
        ("eyJ",),
        cased=True,
    ),
    _Rule(
        re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@\"']*:)[^\s@/\"']+(@)"),
        rf"\1{MASK}\2",
        ("://",),
    ),
    _Rule(
        re.compile(
            rf"(?i)(\b{_NAME}{_SECRET_WORD}{_NAME}[\"']?\s*[:=]\s*[\"']?)"
            rf"(?!\*\*\*)[^{_VALUE_END}]+"
        ),
        rf"\1{MASK}",
        ("pass", "pwd", "secret"),
    ),
    _Rule(
        re.compile(
            rf"(?i)(\b{_NAME}{_TOKEN_WORD}{_NAME}[\"']?\s*[:=]\s*[\"']?)"
            rf"(?!\*\*\*)(?![0-9.]+(?:[{_VALUE_END}]|$))[^{_VALUE_END}]{{8,}}"
        ),
        rf"\1{MASK}",
        ("token", "key", "secret"),
    ),
    *(
        _Rule(pattern, MASK, *_DETECTOR_NEEDS[detector])
        for detector in _DETECTORS
        for pattern in detector.denylist
    ),
)
# need -> the rules it lets run, in rule order (one pass of `in` tests picks the rules to run)
_BY_NEED: dict[tuple[str, bool], list[int]] = {}
for _index, _rule in enumerate(_RULES):
    for _need in _rule.needs:
        _BY_NEED.setdefault((_need, _rule.cased), []).append(_index)


def _rules_for(text: str, lower: str) -> list[_Rule]:
    """The rules whose needs `text` holds, in order."""
    chosen = {
        i
        for (need, cased), rules in _BY_NEED.items()
        if need in (text if cased else lower)
        for i in rules
    }
    return [_RULES[i] for i in sorted(chosen)]


_KEY_BLOCK = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY((?: BLOCK)?)-----.*?-----END \1PRIVATE KEY\2-----",
    re.DOTALL,
)
_KEY_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----")
_KEY_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
# Lines that can sit inside a PEM or PGP block, after any prefix the printer put on each line:
# base64 (PGP's checksum line starts with `=`), RFC 1421/4880 headers (Proc-Type, Version), blanks.
_KEY_BODY = re.compile(
    rf"[{_BASE64}=]*|(?:.*\s)?[{_BASE64}=]{{16,}}|(?:.*\s)?=[{_BASE64}]{{4}}"
    r"|[A-Za-z-]+: .*"
)
_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}|\\[u\"/\\]")


def mask_text(text: str) -> str:
    """`text` with every secret-shaped value replaced; complete key blocks become one marker.
    Encoded text is masked again after decoding (see the module's docstring)."""
    masked = _mask_plain(text)
    if _ENCODED.search(masked) is None:
        return masked
    return _mask_decoded(masked)


def _mask_plain(text: str) -> str:
    lower = text.lower()
    if "private key" in lower:
        text = _KEY_BLOCK.sub(KEY_MASK, text)
        begin = _KEY_BEGIN.search(text)
        if begin is not None:  # a block that does not end here: mask all after its start
            text = text[: begin.start()] + KEY_MASK
        lower = text.lower()
    for rule in _rules_for(text, lower):
        text = rule.pattern.sub(rule.replacement, text)
    return text


def _mask_decoded(text: str) -> str:
    """A JSON line masked value by value and re-encoded; other text decoded (URL escapes, JSON
    string escapes) and, if that reveals a secret, stored decoded and masked."""
    stripped = text.strip()
    if stripped[:1] in "{[" and stripped[-1:] in "}]":
        try:
            value = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            pass
        else:
            masked = mask_value(value)
            return text if masked == value else orjson.dumps(masked).decode()
    decoded = _decode(text)
    again = _mask_plain(decoded)
    return again if again != decoded else text


def _decode(text: str) -> str:
    try:
        unescaped = orjson.loads(f'"{text}"') if "\\" in text else text
    except orjson.JSONDecodeError:
        unescaped = text
    return unquote(unescaped if isinstance(unescaped, str) else text)


def mask_value(value: Any) -> Any:
    """`value` with secrets masked in every string inside it (a record, a parsed JSON line)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: _mask_field(key, item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_text(str(value))  # stored as its text anyway: mask that text


_SECRET_KEY = re.compile(rf"(?i){_NAME}(?:{_SECRET_WORD}|{_TOKEN_WORD}){_NAME}")


def _mask_field(key: Any, item: Any) -> Any:
    """A dict entry: a string under a secret-sounding key is masked whole (`{"password": x}`)."""
    secret_key = isinstance(key, str) and _SECRET_KEY.fullmatch(key) is not None
    if secret_key and isinstance(item, str) and item and not _looks_like_a_count(key, item):
        return MASK
    return mask_value(item)


def _looks_like_a_count(key: str, item: str) -> bool:
    """`max_tokens: "512"` is a setting, not a token: token-ish keys need 8+ non-numeric chars."""
    short = len(item) < _TOKEN_MIN_CHARS or _NUMBER.fullmatch(item) is not None
    return _TOKEN_WORD_RE.search(key) is not None and short


_TOKEN_WORD_RE = re.compile(rf"(?i){_TOKEN_WORD}")
_NUMBER = re.compile(r"[0-9.]+")


@dataclass
class SecretMasker:
    """Masks console lines of one stream, including private key blocks spread over lines.

    `mask_line` returns None for a line that lies wholly inside a key block (it is dropped): the
    block's first line already says a key was masked. A block ends at its `END` line or at the
    first line that cannot be part of a PEM block, so a stray `BEGIN` never swallows the job's
    output.
    """

    in_key_block: bool = False

    def mask_line(self, line: str) -> str | None:
        """The line as it may be stored, or None when it is part of a masked key block."""
        if self.in_key_block:
            end = _KEY_END.search(line)
            if end is not None:
                self.in_key_block = False
                rest = line[end.end() :]
                return mask_text(rest) if rest.strip() else None
            if _KEY_BODY.fullmatch(line.strip()):
                return None
            self.in_key_block = False
        self.in_key_block = _opens_key_block(line)
        return mask_text(line)


def _opens_key_block(line: str) -> bool:
    """True when a `BEGIN ... PRIVATE KEY` on this line has no `END` after it on the line."""
    return _KEY_BEGIN.search(_KEY_BLOCK.sub("", line)) is not None
