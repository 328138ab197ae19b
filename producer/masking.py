"""Masking of secret-shaped values in job output, before anything is stored.

What is masked (each replaced by `***`, keeping the name around it so a reader sees what was there):

- connection-string keys: `AccountKey=...`, `SharedAccessKey=...`, `SharedAccessSignature=...`;
- SAS signatures: `sig=...` in a query string; `Password=` / `Pwd=` values;
- Azure storage account keys on their own: 88 characters of base64 ending in `==` (64 bytes);
- bearer tokens (`Bearer ...`) and bare JSON Web Tokens (`eyJ...`.`...`.`...`);
- passwords in URLs: `scheme://user:password@host`;
- PEM private key blocks, whole (`-----BEGIN ... PRIVATE KEY-----` to its `END` line).

`mask_text` masks one piece of text (a log message, a stack trace). Console output arrives a line
at a time, and a key block spans lines, so `SecretMasker` keeps that one bit of state per stream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MASK = "***"
KEY_MASK = "[private key masked]"

_BASE64 = r"A-Za-z0-9+/"
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd)="
                r"[^;&\s\"']+"), rf"\1={MASK}"),
    (re.compile(r"(?i)\b(sig=)[^&\s\"'#;]+"), rf"\1{MASK}"),
    (re.compile(rf"(?<![{_BASE64}])[{_BASE64}]{{86}}==(?![{_BASE64}=])"), MASK),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\1{MASK}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@\"']*:)[^\s@/\"']+(@)"), rf"\1{MASK}\2"),
)
_KEY_BLOCK = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.DOTALL
)
_KEY_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----")
_KEY_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")
# Lines that can sit inside a PEM block: base64, RFC 1421 headers (Proc-Type, DEK-Info), blanks.
_KEY_BODY = re.compile(rf"[{_BASE64}=]*|[A-Za-z-]+:.*")
# Every rule needs one of these; text without any (most output) skips the regexes.
_HINTS = re.compile(r"=|://|earer|EARER|eyJ|PRIVATE KEY")


def mask_text(text: str) -> str:
    """`text` with every secret-shaped value replaced; complete key blocks become one marker."""
    if _HINTS.search(text) is None:
        return text  # the common case: nothing that could match, no regex run
    text = _KEY_BLOCK.sub(KEY_MASK, text)
    begin = _KEY_BEGIN.search(text)
    if begin is not None:  # a block that does not end here: mask everything after its start
        text = text[: begin.start()] + KEY_MASK
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


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
                rest = line[end.end():]
                return mask_text(rest) if rest.strip() else None
            if _KEY_BODY.fullmatch(line.strip()):
                return None
            self.in_key_block = False
        self.in_key_block = _opens_key_block(line)
        return mask_text(line)


def _opens_key_block(line: str) -> bool:
    """True when a `BEGIN ... PRIVATE KEY` on this line has no `END` after it on the line."""
    return _KEY_BEGIN.search(_KEY_BLOCK.sub("", line)) is not None
