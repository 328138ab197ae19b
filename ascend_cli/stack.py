"""`make run`: the local stack in the foreground: Azurite, the container, the embedded index and
the pipeline worker, until Ctrl-C stops everything it started."""

from __future__ import annotations

import signal
import sys
import threading

from ascend_cli.azurite import ROOT, Azurite, start_azurite
from ascend_cli.lock import worker_lock
from ascend_cli.passes import PassReporter
from ascend_cli.profile import profile_settings
from shared.adapters.azure_blob import AzureBlobStore
from shared.adapters.sqlite_index import SqliteIndex
from shared.errors import AscendError
from shared.settings import Settings, load_settings

STATE = ROOT / ".ascend"
PORT = 10000


def main() -> int:
    try:
        settings = load_settings(**profile_settings())  # the settings `ascend` uses
        with worker_lock(settings.index_path):
            return _run(settings)
    except AscendError as exc:
        sys.exit(f"make run: {exc}")


def _run(settings: Settings) -> int:
    azurite = _start_azurite(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        AzureBlobStore.from_settings(settings).ensure_container()
        SqliteIndex(settings.index_path).ensure()
        _print_banner(settings, azurite)
        _run_worker(settings, stop)
    except KeyboardInterrupt:
        pass
    finally:
        if azurite is not None:
            azurite.stop()
        started = "Azurite and the pipeline worker" if azurite else "the pipeline worker"
        print(f"\nstopped: {started}", file=sys.stderr)
    return 0


def _start_azurite(settings: Settings) -> Azurite | None:
    if settings.storage_connection_string or settings.storage_account_url:
        print("using the storage account from ASCEND_STORAGE_* (not starting Azurite)")
        return None
    try:
        return start_azurite(STATE / "azurite", port=PORT)
    except RuntimeError as exc:
        sys.exit(f"make run: {exc} (is another Azurite already on port {PORT}?)")


def _run_worker(settings: Settings, stop: threading.Event) -> None:
    try:
        from indexer.worker import run_forever
    except ImportError:  # the worker arrives with the indexer
        print("pipeline worker: not available in this build; Ctrl-C to stop")
        stop.wait()
        return
    report = PassReporter()
    run_forever(settings, stop, on_pass=report.on_pass, on_idle=report.on_idle)


def _print_banner(settings: Settings, azurite: Azurite | None) -> None:
    where = f"Azurite on http://127.0.0.1:{PORT} (data in .ascend/azurite)" if azurite else ""
    print(
        f"""
ascend-index local stack
  blob storage : {where or settings.storage_account_url or "ASCEND_STORAGE_CONNECTION_STRING"}
  container    : {settings.container}
  index        : {settings.index_path} (SQLite; ASCEND_INDEX_PATH to move it)

Try, in another terminal (source .venv/bin/activate first):
  ascend demo seed --jobs 200          write 200 realistic jobs into storage
  ascend jobs list                     your newest jobs (ASCEND_USER, ASCEND_ROLES=admin for all)
  ascend search 'status:failed created:>=-7d'
  ascend pipeline rejected             inputs the pipeline refused, and why

Ctrl-C stops everything started here.
""",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
