"""Text made visible before rich lays it out (`ascend_cli.visible`): any cell text keeps its
table aligned, styles stay on the text they styled, and nothing is read as markup."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ascend_cli.visible import made_visible, safe_console, visible_text


def printed(table: Table) -> str:
    out = safe_console(Console(file=io.StringIO(), width=400, color_system=None))
    out.print(table)
    file = out.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=4))
def test_any_cell_text_leaves_every_row_as_wide_as_the_others(cells: list[str]) -> None:
    """Whatever a job wrote into a cell (controls, tabs, wide characters, markup), every
    printed line of the table takes as many terminal cells as the others."""
    table = Table(box=None, pad_edge=False)
    table.add_column("A")
    table.add_column("B")
    for text in cells:
        table.add_row(text.replace("\n", " "), "x")
    lines = printed(table).rstrip("\n").split("\n")
    assert len({cell_len(line) for line in lines}) == 1
    assert not [c for line in lines for c in line if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0]


def test_a_styled_text_keeps_its_styles_on_what_they_styled() -> None:
    """The escape takes the style of the character it stands for; the rest keeps its own."""
    text = Text("ok")
    text.append("\x1b", style="red")
    text.append("done", style="bold")
    shown = visible_text(text)
    assert shown.plain == "ok\\x1bdone"
    styles = {shown.plain[s.start : s.end]: str(s.style) for s in shown.spans}
    assert styles == {"\\x1b": "red", "done": "bold"}


def test_a_string_cell_is_text_not_markup() -> None:
    """`[/x]` in a cell is printed as written (rich would raise on it as markup)."""
    assert made_visible("[/x]", cell=True).plain == "[/x]"
