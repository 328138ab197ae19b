"""Console rendering of a job's output, before lines are stored: what a terminal would show.

`ConsoleRenderer` turns the text written to one stream (in arbitrary pieces) into finished lines:
a carriage return moves back to the start of the line and later text overwrites what was there, a
backspace moves back one character, ANSI escape sequences (colours, cursor moves) are removed. So a
progress bar redrawn a thousand times with `\\r` yields one line, in its final state.

`RepeatCollapser` then keeps a stored log small, as the cluster logger does: a line equal to the
one before it is dropped and counted (one `Repeated` notice follows the run), and a run of empty
lines collapses to one empty line, silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LINE_CHARS = 64 * 1024
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_INCOMPLETE_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]{0,256})?\Z")
_CONTROL = re.compile(r"([\r\b])")
_SPECIAL = re.compile(r"[\r\b\x1b]")


class ConsoleRenderer:
    """Assembles the text of one stream into the finished lines a console would show."""

    def __init__(self, max_line: int = MAX_LINE_CHARS) -> None:
        self.max_line = max_line
        self._line = ""
        self._cursor = 0
        self._held = ""  # the start of an escape sequence cut off by the end of a write

    def feed(self, text: str) -> list[str]:
        """Take more text; return the lines it finished (without their newline)."""
        finished: list[str] = []
        parts = text.split("\n")
        for number, part in enumerate(parts):
            if number:
                finished.append(self._finish())
            if part:
                self._write(part, finished)
        return finished

    def close(self) -> list[str]:
        """The unfinished last line, in its final state, if there is one."""
        self._release_held()
        return [self._finish()] if self._line else []

    def _write(self, part: str, finished: list[str]) -> None:
        if self._held:
            part, self._held = self._held + part, ""
        if self._cursor == len(self._line) and _SPECIAL.search(part) is None:
            self._line += part  # the hot path: plain text appended at the end
            self._cursor = len(self._line)
        else:
            incomplete = _INCOMPLETE_ANSI.search(part)
            if incomplete is not None:
                part, self._held = part[: incomplete.start()], incomplete.group()
            self._overwrite(part)
        while len(self._line) > self.max_line:  # a line without end: store it in pieces
            finished.append(self._line[: self.max_line])
            self._line = self._line[self.max_line :]
            self._cursor = max(0, self._cursor - self.max_line)

    def _release_held(self) -> None:
        if self._held:
            held, self._held = self._held, ""
            self._overwrite(held)

    def _overwrite(self, part: str) -> None:
        part = _ANSI.sub("", part).replace("\x1b", "")
        for piece in _CONTROL.split(part):
            if piece == "\r":
                self._cursor = 0
            elif piece == "\b":
                self._cursor = max(0, self._cursor - 1)
            elif piece:
                end = self._cursor + len(piece)
                self._line = self._line[: self._cursor] + piece + self._line[end:]
                self._cursor = end

    def _finish(self) -> str:
        self._release_held()
        line, self._line, self._cursor = self._line, "", 0
        return line


@dataclass(frozen=True, slots=True)
class Repeated:
    """`count` more copies of `line` came right after it and were dropped."""

    line: str
    count: int

    @property
    def message(self) -> str:
        times = "time" if self.count == 1 else "times"
        return f"(previous line repeated {self.count} more {times}; repetitions dropped)"


Rendered = str | Repeated


@dataclass
class RepeatCollapser:
    """Drops repeated lines (counting them) and runs of empty lines, for one stream."""

    _last: str | None = None
    _repeats: int = 0

    def push(self, line: str) -> list[Rendered]:
        """What to store for `line`: nothing, the line, or a `Repeated` notice and the line."""
        last = self._last
        if line == last or (last is not None and _is_blank(line) and _is_blank(last)):
            if not _is_blank(line):
                self._repeats += 1
            return []
        out: list[Rendered] = self.flush()
        self._last = line
        out.append(line)
        return out

    def flush(self) -> list[Rendered]:
        """The pending `Repeated` notice, if any (at the end, or before a command)."""
        if not self._repeats or self._last is None:
            return []
        notice = Repeated(self._last, self._repeats)
        self._repeats = 0
        return [notice]

    def forget(self) -> None:
        """Start afresh: the next line is stored even if it equals the last one."""
        self._last, self._repeats = None, 0


def _is_blank(line: str) -> bool:
    return not line.strip()
