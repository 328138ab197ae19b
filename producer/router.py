"""The pure core of a job's output capture: text written to stdout/stderr and `logging` records
in, the records to store out.

For every line, in order: console rendering (`producer.render`), secret masking
(`producer.masking`), logger commands (`producer.commands`), repeat and blank-run collapsing,
metrics extraction (`producer.metrics`, stdout only), the mode filter, then one record to `emit`.
Stdout lines are records of logger `ascend.job.stdout`, stderr lines of `ascend.job.stderr`, each
with `context.stream`. The capture's own records (commands, malformed commands, the final
summary) use logger `CAPTURE_LOGGER` and are kept in every mode. No I/O of its own: the process's
streams are redirected into it by `producer.capture`.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from producer.commands import (
    Command,
    Kind,
    Mode,
    is_command,
    keeps,
    parse_command,
)
from producer.masking import SecretMasker, mask_value
from producer.metrics import parse_metrics_line
from producer.render import ConsoleRenderer, Rendered, RepeatCollapser, Repeated
from shared.clock import Clock
from shared.logrecords import JobContext, JobLogFormatter, make_record

CAPTURE_LOGGER = "ascend.capture"
STREAMS = ("stdout", "stderr")


@dataclass
class _Stream:
    """The per-source state of one stream: its line assembly, key-block masking and repeats."""

    renderer: ConsoleRenderer = field(default_factory=ConsoleRenderer)
    masker: SecretMasker = field(default_factory=SecretMasker)
    collapser: RepeatCollapser = field(default_factory=RepeatCollapser)


class OutputRouter:
    """Turns text written to stdout/stderr and `logging` records into the records to store.

    Thread-safe; `emit` receives each record to keep. No I/O of its own.
    """

    def __init__(
        self,
        emit: Callable[[dict[str, Any]], None],
        job: JobContext,
        mode: Mode,
        clock: Clock,
        tail_lines: int = 200,
    ) -> None:
        self.emit, self.job, self.mode, self.clock = emit, job, mode, clock
        self.tail: deque[str] = deque(maxlen=tail_lines)
        self.lines = self.records = self.repetitions_dropped = self.internal_errors = 0
        self._streams: dict[tuple[str, str], _Stream] = {}
        # A key block logged one line per record spans records: one masker per logger.
        self._record_maskers: dict[str, SecretMasker] = {}
        self._formatter = JobLogFormatter(job)
        self._lock = threading.RLock()

    # ---- input ---------------------------------------------------------------------------------

    def write(self, stream: str, text: str, source: str = "python") -> None:
        """Text written to `stream` ("stdout"/"stderr") by `source`; never raises."""
        try:
            with self._lock:
                state = self._state(stream, source)
                for line in state.renderer.feed(text):
                    self._line(stream, state, line)
        except Exception:
            self.internal_errors += 1

    def log(self, record: logging.LogRecord) -> None:
        """A record of one of the job's loggers; never raises."""
        try:
            raw = self._formatter.to_record(record)
            with self._lock:
                masker = self._record_maskers.setdefault(record.name, SecretMasker())
                message = raw.get("message")
                if isinstance(message, str) and "\n" not in message:
                    kept = masker.mask_line(message)
                    if kept is None:
                        return  # a line inside a key block: its first line says it was masked
                    raw["message"] = kept
                stored = _masked(raw)
                kind = Kind.METRICS if stored.get("metrics") else Kind.OUTPUT
                self._keep(stored, kind, f"{stored['level']} {record.name}: {stored['message']}")
        except Exception:
            self.internal_errors += 1

    def notice(self, level: str, message: str, *, stream: str | None = None, **extra: Any) -> None:
        """A record of the capture itself (kept in every mode)."""
        record = self._record(level, CAPTURE_LOGGER, message, stream, extra=extra)
        with self._lock:
            self._keep(record, Kind.COMMAND, message)

    def job_failed(self, exc: BaseException) -> None:
        """The function raised `exc`: an ERROR record, with details only in mode `enabled`."""
        name = type(exc).__name__
        if keeps(self.mode, Kind.OUTPUT):
            self.log(
                logging.LogRecord(
                    "ascend.job",
                    logging.ERROR,
                    __file__,
                    0,
                    "function raised %s: %s",
                    (name, exc),
                    (type(exc), exc, exc.__traceback__),
                )
            )
            return
        record = self._record(
            "ERROR", "ascend.job", f"function raised {name} (details withheld in mode {self.mode})"
        )
        with self._lock:
            self._keep(record, Kind.COMMAND, record["message"])

    def tail_lines(self) -> list[str]:
        """The tail of kept output, oldest first."""
        with self._lock:
            return list(self.tail)

    def close(self) -> None:
        """Finish unfinished lines and pending repeat notices of every stream."""
        with self._lock:
            for (stream, _), state in self._streams.items():
                for line in state.renderer.close():
                    self._line(stream, state, line)
            self._flush_repeats()

    # ---- lines ---------------------------------------------------------------------------------

    def _state(self, stream: str, source: str) -> _Stream:
        key = (stream, source)
        if key not in self._streams:
            self._streams[key] = _Stream()
        return self._streams[key]

    def _line(self, stream: str, state: _Stream, raw: str) -> None:
        self.lines += 1
        line = state.masker.mask_line(raw)
        if line is None:
            return
        if is_command(line):
            self._flush_repeats()
            state.collapser.forget()
            self._command(stream, line)
            return
        for item in state.collapser.push(line):
            self._rendered(stream, item)

    def _rendered(self, stream: str, item: Rendered) -> None:
        line = item.line if isinstance(item, Repeated) else item
        metrics = parse_metrics_line(line) if stream == "stdout" else None
        kind = Kind.METRICS if metrics else Kind.OUTPUT
        logger = f"ascend.job.{stream}"
        if isinstance(item, Repeated):
            self.repetitions_dropped += item.count
            record = self._record(
                "INFO", logger, item.message, stream, extra={"repetitions_dropped": item.count}
            )
            self._keep(record, kind, item.message)
        else:
            self._keep(self._record("INFO", logger, line, stream, metrics=metrics), kind, line)

    def _command(self, stream: str, line: str) -> None:
        outcome = parse_command(line)
        if isinstance(outcome, Command):
            previous, self.mode = self.mode, outcome.mode
            record = self._record(
                "INFO",
                CAPTURE_LOGGER,
                line,
                stream,
                extra={"command": {"mode": outcome.mode.value}, "previous_mode": previous.value},
            )
            self._keep(record, Kind.COMMAND, line)
        else:
            message = f"malformed logger command ignored: {outcome.reason}"
            record = self._record(
                "WARNING", CAPTURE_LOGGER, message, stream, extra={"line": line[:500]}
            )
            self._keep(record, Kind.COMMAND, message)

    def _flush_repeats(self) -> None:
        for (stream, _), state in self._streams.items():
            for item in state.collapser.flush():
                self._rendered(stream, item)

    # ---- records -------------------------------------------------------------------------------

    def _record(
        self, level: str, logger: str, message: str, stream: str | None = None, **optional: Any
    ) -> dict[str, Any]:
        context = {"stream": stream} if stream else None
        return make_record(
            self.job,
            level=level,
            logger=logger,
            message=message,
            when=self.clock.now(),
            context=context,
            **optional,
        )

    def _keep(self, record: dict[str, Any], kind: Kind, text: str) -> None:
        if not keeps(self.mode, kind):
            return
        self.records += 1
        self.tail.append(text)
        self.emit(record)


def _masked(value: Any) -> Any:
    """`value` with secrets masked in every string inside it (a whole logging record)."""
    return mask_value(value)
