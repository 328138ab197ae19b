"""Text for a person's terminal: control characters shown, never obeyed.

Job names, tags, log messages and exception text are written by whoever runs a job. Printed raw,
an escape sequence in them moves the cursor, rewrites earlier lines or sets the viewer's
clipboard (OSC 52). `visible` replaces every C0/C1 control character (but newline and tab) and the
bidirectional overrides with a readable escape (`\\x1b`, `\\u202e`); `VisibleHook` applies it to
everything a rich console prints, so every table, panel and log line gets it, whoever adds
them. It does so *before* layout (`made_visible`: tables' cells and headers, panels, groups),
so the escapes are what rich measures and a hostile cell cannot shift its row; table cells also
get their tabs escaped (a tab's width depends on where it lands) and are never read as rich
markup (`[/x]` in a job's name is text, not a tag). What it cannot see into is made visible
after layout, as a last guard. `--json` output never goes through here: it stays the exact
stored text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from rich.console import (
    Console,
    ConsoleOptions,
    ConsoleRenderable,
    Group,
    RenderableType,
    RenderHook,
)
from rich.padding import Padding
from rich.panel import Panel
from rich.segment import Segment
from rich.table import Table
from rich.text import Span, Text

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


def visible_cell(text: str) -> str:
    """`visible` for a table cell: tabs are escaped too (newlines still make a cell's lines)."""
    return visible(text).replace("\t", "\\t")


def visible_text(text: Text, *, cell: bool = False) -> Text:
    """A rich `Text` with its control characters written out, styles kept on what they styled."""
    shown = visible_cell if cell else visible
    if shown(text.plain) == text.plain:
        return text
    cuts = sorted({i for m in _cuts(text.plain, cell) for i in m.span()})
    result = text.blank_copy()
    for piece in text.divide(cuts):
        if shown(piece.plain) == piece.plain:
            result.append_text(piece)
        else:
            written = shown(piece.plain)
            spans = [Span(0, len(written), span.style) for span in piece.spans]
            result.append_text(Text(written, style=piece.style, spans=spans))
    return result


def made_visible(renderable: Any, *, cell: bool = False) -> Any:
    """`renderable` with its text made visible before rich measures it: strings and `Text`
    are replaced, tables, panels, groups and paddings are changed in place (they are built to
    be printed once). A plain string cell becomes `Text`: never parsed as markup."""
    if isinstance(renderable, str):
        return Text(visible_cell(renderable)) if cell else visible(renderable)
    if isinstance(renderable, Text):
        return visible_text(renderable, cell=cell)
    if isinstance(renderable, Table):
        _table_made_visible(renderable)
    elif isinstance(renderable, Panel):
        renderable.renderable = made_visible(renderable.renderable)
        renderable.title = _title(renderable.title)
        renderable.subtitle = _title(renderable.subtitle)
    elif isinstance(renderable, Group):  # rich offers no setter for a group's renderables
        renderable._renderables = tuple(made_visible(r) for r in renderable._renderables)
    elif isinstance(renderable, Padding):
        renderable.renderable = made_visible(renderable.renderable)
    return renderable


def _table_made_visible(table: Table) -> None:
    table.title = _title(table.title)
    table.caption = _title(table.caption)
    for column in table.columns:
        column.header = made_visible(column.header, cell=True)
        column.footer = made_visible(column.footer, cell=True)
        # rich keeps a column's cells in `_cells` and offers no way to replace one
        column._cells = [made_visible(c, cell=True) for c in column._cells]


def _title(title: str | Text | None) -> Any:
    return None if title is None else made_visible(title, cell=True)


def _cuts(text: str, cell: bool) -> Iterator[re.Match[str]]:
    yield from _UNSAFE.finditer(text)
    if cell:
        yield from re.finditer("\t", text)


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
        return [_Visible(made_visible(r)) for r in renderables]


def safe_console(console: Console) -> Console:
    """`console`, printing only visible text from now on."""
    console.push_render_hook(VisibleHook())
    return console
