"""Console rendering: progress bars keep their final state, repeats and blank runs collapse."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from producer.render import ConsoleRenderer, RepeatCollapser, Repeated


def render(*pieces: str) -> list[str]:
    renderer = ConsoleRenderer()
    lines = [line for piece in pieces for line in renderer.feed(piece)]
    return lines + renderer.close()


def collapse(lines: list[str]) -> list[str | Repeated]:
    collapser = RepeatCollapser()
    return [item for line in lines for item in collapser.push(line)] + collapser.flush()


def test_carriage_return_progress_bar_keeps_only_its_final_state() -> None:
    """A bar redrawn with `\\r` many times is one line, as the terminal shows it at the end."""
    pieces = [f"\r{p:3d}%|{'#' * (p // 10):<10}|" for p in range(0, 101, 5)]
    assert render(*pieces, "\n") == ["100%|##########|"]


def test_shorter_redraw_leaves_the_tail_of_the_longer_one_like_a_terminal() -> None:
    """Overwriting is character by character: `\\r` does not erase the line."""
    assert render("downloading 10 files\rdone\n") == ["doneloading 10 files"]


def test_text_split_across_writes_forms_one_line() -> None:
    """`print` writes text and newline separately; the line is whole once finished."""
    assert render("hel", "lo", "\n", "wor", "ld\n") == ["hello", "world"]


def test_windows_line_endings_do_not_blank_the_line() -> None:
    """`\\r\\n` ends a line and keeps its text."""
    assert render("one\r\ntwo\r\n") == ["one", "two"]


def test_ansi_colours_are_removed_and_backspace_moves_back() -> None:
    """Escape sequences are removed; a spinner drawn with backspaces ends in its last frame."""
    assert render("\x1b[32mgreen\x1b[0m\n", "spin |\b/\b-\b\\\n") == ["green", "spin \\"]


def test_unfinished_last_line_is_kept_at_close() -> None:
    """Output without a final newline is not lost."""
    assert render("no newline at the end") == ["no newline at the end"]


def test_endless_line_is_stored_in_bounded_pieces() -> None:
    """A line that never ends is cut into pieces of at most `max_line` characters."""
    renderer = ConsoleRenderer(max_line=10)
    lines = renderer.feed("x" * 25) + renderer.close()
    assert lines == ["x" * 10, "x" * 10, "x" * 5]


def test_repeated_line_is_stored_once_then_one_notice_with_the_count() -> None:
    """Five equal lines become the line and a notice that four repetitions were dropped."""
    assert collapse(["a", "a", "a", "a", "a", "b"]) == ["a", Repeated("a", 4), "b"]


def test_repetitions_at_the_end_are_reported_on_flush() -> None:
    """A run that lasts until the job ends still gets its notice."""
    assert collapse(["x", "x"]) == ["x", Repeated("x", 1)]


def test_run_of_empty_lines_collapses_to_one_without_notice() -> None:
    """Blank lines (also whitespace-only ones) collapse silently."""
    assert collapse(["a", "", "", "  ", "", "b", ""]) == ["a", "", "b", ""]


def test_notice_message_says_how_many_repetitions_were_dropped() -> None:
    """The notice reads as a sentence with the count."""
    assert Repeated("a", 3).message == "(previous line repeated 3 more times; repetitions dropped)"


@given(st.lists(st.text(alphabet="ab \r\n\x1b[m", max_size=12), max_size=12))
def test_any_split_of_plain_text_renders_the_same_lines(pieces: list[str]) -> None:
    """However the text is cut into writes, the rendered lines are the same."""
    whole = "".join(pieces)
    assert render(*pieces) == render(whole)


@given(st.lists(st.sampled_from(["a", "b", "", " "]), max_size=30))
def test_collapsing_keeps_every_change_between_lines(lines: list[str]) -> None:
    """The stored lines never repeat back to back, and every non-blank change is kept."""
    stored = [item for item in collapse(lines) if isinstance(item, str)]
    assert all(a != b for a, b in itertools.pairwise(stored))
    changes = [b for a, b in zip([None, *lines], lines, strict=False) if a != b and b.strip()]
    assert [line for line in stored if line.strip()] == changes
