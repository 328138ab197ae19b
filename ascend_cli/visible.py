"""Text for a person's terminal: control characters shown, never obeyed.

Job names, tags, log messages and exception text are written by whoever runs a job. Printed raw,
an escape sequence in them moves the cursor, rewrites earlier lines or sets the viewer's
clipboard (OSC 52). `visible` replaces every C0/C1 control character (but newline and tab) and the
bidirectional overrides with a readable escape (`\\x1b`, `\\u202e`); `VisibleHook` applies it to
everything a rich console prints, so every table, panel and log line gets it, whoever adds
them. `--json` output never goes through here: it stays the exact stored text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderableType, RenderHook
from rich.segment import Segment

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_KEPT = "\n\t"
_ONE_BYTE = 0x100  # code points below it print as \xNN, the others as \uNNNN
_UNSAFE = re.compile(
    "["
    + "".join(re.escape(chr(c)) for c in (*range(0x20), *range(0x7F, 0xA0)) if chr(c) not in _KEPT)
    + _BIDI
    + "]"
)


def _shown(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < _ONE_BYTE else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every control character (but newline and tab) written out as an escape."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(lambda found: _shown(found[0]), text)


def visible_line(text: str) -> str:
    """`visible` for one line of a message: newlines and tabs are escaped too."""
    return visible(text).replace("\n", "\\n").replace("\t", "\\t")


class _Visible:
    """A renderable printed with its text made visible (styles and layout kept)."""

    def __init__(self, inner: ConsoleRenderable | RenderableType) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        for segment in console.render(self.inner, options):
            if segment.control or not _UNSAFE.search(segment.text):
                yield segment
            else:
                yield Segment(visible(segment.text), segment.style)


class VisibleHook(RenderHook):
    """Install on a console (`console.push_render_hook(VisibleHook())`): all it prints is safe."""

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_Visible(r) for r in renderables]


def safe_console(console: Console) -> Console:
    """`console`, printing only visible text from now on."""
    console.push_render_hook(VisibleHook())
    return console
