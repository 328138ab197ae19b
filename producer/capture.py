"""Capture of a job's output: stdout, stderr and `ascend.*` logging, into the job's log streamer.

    with LogStreamer(blobs, job) as streamer:
        with capture_job_output(streamer, config_yaml=logoptin) as captured:
            run_the_function()
        response.stdout = "\\n".join(captured.tail)

This module is the redirection of the process's output: what the job writes goes to the pure
`producer.router.OutputRouter` (rendering, masking, logger commands, repeats, metrics, the mode
filter: one record per line), whose records go to the streamer. Records of the loggers
`ascend.deps`, `ascend.workspace` and `ascend.job` (dependency installation, workspace set-up,
the function) are stored as they are, masked and mode-filtered. The capture's own records
(commands, malformed commands, the final summary) use logger `ascend.capture` and are kept in
every mode. An exception leaving the block is recorded (ERROR, logger `ascend.job`; its details
only in mode `enabled`) and re-raised.

Python-level streams (`sys.stdout`, `sys.stderr`) are always captured. `fd_level=True` also
redirects file descriptors 1 and 2 through pipes read by a thread, so subprocesses and C code are
captured too; it is off by default because it changes process-wide state that a host (a test
runner, the Functions worker) may own.

The capture never breaks the job: a failure inside it is counted, never raised; when storage is
down the job runs on, and what was not stored is counted (`captured.unwritten`), reported in the
final summary record and, when not zero, on the process's real stderr.
"""

from __future__ import annotations

import codecs
import io
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any, Protocol, TextIO

from producer.commands import Mode, parse_logging_config
from producer.router import OutputRouter
from shared.clock import Clock, SystemClock
from shared.errors import InvalidInput
from shared.logrecords import JobContext

JOB_LOGGERS = ("ascend.deps", "ascend.workspace", "ascend.job")


class RecordSink(Protocol):
    """What the capture needs of `producer.streamer.LogStreamer`."""

    dropped: int
    unwritten: int

    def emit(self, record: Mapping[str, Any]) -> None: ...

    def flush(self) -> bool: ...

    @property
    def pending(self) -> int: ...


# ---- the context manager ---------------------------------------------------------------------


class Captured:
    """What the capture tells the job runner: the output's tail and what could not be stored."""

    def __init__(self, router: OutputRouter, sink: _SafeSink) -> None:
        self._router, self._sink = router, sink

    @property
    def tail(self) -> list[str]:
        """The last kept lines (masked, as stored), oldest first: for the function's response."""
        return self._router.tail_lines()

    @property
    def mode(self) -> Mode:
        return self._router.mode

    @property
    def lines(self) -> int:
        """Console lines seen (before collapsing and mode filtering)."""
        return self._router.lines

    @property
    def records(self) -> int:
        """Records handed to the streamer."""
        return self._router.records

    @property
    def repetitions_dropped(self) -> int:
        return self._router.repetitions_dropped

    @property
    def unwritten(self) -> int:
        """Records not stored (so far): refused, dropped from a full buffer, or still pending."""
        return self._sink.unwritten


class _SafeSink:
    """The streamer behind a wall: nothing it does can raise into the job."""

    def __init__(self, streamer: RecordSink) -> None:
        self.streamer = streamer
        self.refused = 0

    def emit(self, record: dict[str, Any]) -> None:
        try:
            self.streamer.emit(record)
        except Exception:
            self.refused += 1

    def flush(self) -> None:
        _quietly(self.streamer.flush)  # what it could not store stays `pending`: counted below

    @property
    def unwritten(self) -> int:
        try:
            s = self.streamer
            return self.refused + int(s.dropped) + int(s.unwritten) + int(s.pending)
        except Exception:
            return self.refused


@contextmanager
def capture_job_output(
    streamer: RecordSink,
    job: JobContext | None = None,
    *,
    config_yaml: str | None = None,
    clock: Clock | None = None,
    tail_lines: int = 200,
    fd_level: bool = False,
    loggers: tuple[str, ...] = JOB_LOGGERS,
    level: int = logging.INFO,
) -> Iterator[Captured]:
    """Capture the block's output into `streamer`; see the module docstring."""
    job = job or _job_context(streamer)
    mode, problem = _starting_mode(config_yaml)
    sink = _SafeSink(streamer)
    router = OutputRouter(sink.emit, job, mode, clock or SystemClock(), tail_lines)
    if problem:
        router.notice("WARNING", f"{problem}; starting in mode {mode}")
    captured = Captured(router, sink)
    real_stderr = sys.stderr
    try:
        with _redirected(router, fd_level, loggers, level, real_stderr):
            yield captured
    except Exception as exc:
        router.close()  # what was printed before the raise comes before it in the log
        router.job_failed(exc)
        raise
    finally:
        _finish(router, sink, real_stderr)


def _job_context(streamer: RecordSink) -> JobContext:
    job = getattr(streamer, "job", None)
    if job is None:
        raise InvalidInput("capture_job_output", "needs a JobContext or a streamer with .job")
    return JobContext(job_id=str(job), user=job.user, project=job.project)


def _starting_mode(config_yaml: str | None) -> tuple[Mode, str | None]:
    """The configured mode; a bad configuration starts in `disabled`, the mode that leaks least."""
    try:
        return parse_logging_config(config_yaml).mode, None
    except InvalidInput as exc:
        return Mode.DISABLED, str(exc)


def _finish(router: OutputRouter, sink: _SafeSink, real_stderr: TextIO) -> None:
    router.close()
    sink.flush()
    unwritten = sink.unwritten
    router.notice(
        "WARNING" if unwritten else "INFO",
        f"output captured: {router.lines} lines, {router.records} records, "
        f"{router.repetitions_dropped} repetitions dropped, {unwritten} records not stored",
        lines=router.lines,
        records=router.records,
        repetitions_dropped=router.repetitions_dropped,
        unwritten=unwritten,
        mode=router.mode.value,
        capture_errors=router.internal_errors,
    )
    sink.flush()
    if sink.unwritten:
        real_stderr.write(
            f"ascend: {sink.unwritten} log records of job {router.job.job_id} could not be stored\n"
        )


@contextmanager
def _redirected(
    router: OutputRouter, fd_level: bool, loggers: tuple[str, ...], level: int, real_stderr: TextIO
) -> Iterator[None]:
    with ExitStack() as stack:
        stack.enter_context(_streamer_diagnostics_to(real_stderr))
        stack.enter_context(_job_loggers(router, loggers, level))
        if fd_level:
            stack.enter_context(_file_descriptors(router))
        stack.enter_context(_python_streams(router, fd_level))
        yield


# ---- sys.stdout / sys.stderr ---------------------------------------------------------------


class _StreamWriter(io.TextIOBase):
    """Stands in for sys.stdout / sys.stderr: text goes to the router, nothing is buffered."""

    def __init__(self, router: OutputRouter, stream: str, fileno: int | None) -> None:
        super().__init__()
        self._router, self._stream, self._fileno = router, stream, fileno
        self.buffer = _BytesWriter(self)

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        if self._fileno is None:
            raise io.UnsupportedOperation("captured stream has no file descriptor")
        return self._fileno

    def write(self, text: str) -> int:
        self._router.write(self._stream, str(text))
        return len(text)


class _BytesWriter(io.RawIOBase):
    """sys.stdout.buffer of a captured stream: bytes decoded as UTF-8 (bad bytes replaced)."""

    def __init__(self, text: _StreamWriter) -> None:
        super().__init__()
        self._text = text
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._text.write(self._decoder.decode(bytes(data)))
        return len(data)


@contextmanager
def _python_streams(router: OutputRouter, fd_level: bool) -> Iterator[None]:
    saved = sys.stdout, sys.stderr
    for original in saved:
        _quietly(original.flush)
    sys.stdout = _StreamWriter(router, "stdout", 1 if fd_level else None)
    sys.stderr = _StreamWriter(router, "stderr", 2 if fd_level else None)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


# ---- file descriptors 1 and 2 ----------------------------------------------------------------


@contextmanager
def _file_descriptors(router: OutputRouter) -> Iterator[None]:
    pumps = []
    try:
        for fd, stream in ((1, "stdout"), (2, "stderr")):
            pumps.append(_FdPump(router, fd, stream))
    except OSError as exc:  # no such descriptor, no pipes left: Python-level capture only
        router.notice("WARNING", f"file-descriptor capture unavailable: {exc}")
    try:
        yield
    finally:
        for pump in pumps:
            pump.stop()


class _FdPump:
    """Points `fd` at a pipe; a thread reads the pipe into the router until `stop`."""

    def __init__(self, router: OutputRouter, fd: int, stream: str) -> None:
        self.fd, self._saved = fd, os.dup(fd)
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        self._read_end = read_end
        self._thread = threading.Thread(
            target=self._pump, args=(router, stream), name=f"capture-fd{fd}", daemon=True
        )
        self._thread.start()

    def _pump(self, router: OutputRouter, stream: str) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while chunk := os.read(self._read_end, 1 << 16):
            router.write(stream, decoder.decode(chunk), source="fd")
        router.write(stream, decoder.decode(b"", final=True), source="fd")

    def stop(self) -> None:
        os.dup2(self._saved, self.fd)  # closes our write end: the pump sees EOF
        os.close(self._saved)
        # A child process that inherited the pipe and still runs keeps it open: do not wait.
        self._thread.join(timeout=2.0)
        if not self._thread.is_alive():
            os.close(self._read_end)


# ---- logging -------------------------------------------------------------------------------


class _RouterHandler(logging.Handler):
    def __init__(self, router: OutputRouter, level: int) -> None:
        super().__init__(level)
        self.router = router

    def emit(self, record: logging.LogRecord) -> None:
        self.router.log(record)


@contextmanager
def _job_loggers(router: OutputRouter, names: tuple[str, ...], level: int) -> Iterator[None]:
    handler = _RouterHandler(router, level)
    saved = []
    for name in names:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False  # stored once, not again through the root's console handler
    try:
        yield
    finally:
        for logger, old_level, old_propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
            logger.propagate = old_propagate


@contextmanager
def _streamer_diagnostics_to(real_stderr: TextIO) -> Iterator[None]:
    """The streamer's own warnings (a failed flush) go to the real stderr, not into the log
    whose storage just failed."""
    logger = logging.getLogger("ascend.producer")
    handler = logging.StreamHandler(real_stderr)
    handler.setLevel(logging.WARNING)
    saved = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = saved


def _quietly(call: Callable[[], object]) -> None:
    try:
        call()
    except Exception:
        return
