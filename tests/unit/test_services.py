"""The composition root: adapters handed in are used as they are, the process has one root."""

from __future__ import annotations

from pathlib import Path

import pytest

import shared.services
from shared.adapters.sqlite_index import SqliteIndex
from shared.clock import FixedClock
from shared.errors import InvalidInput
from shared.services import Services
from shared.settings import Settings
from tests.support.query import NOW


def test_adapters_handed_in_are_the_ports(tmp_path: Path) -> None:
    """`Services(settings, clock, index=...)` answers with that index and that clock."""
    index = SqliteIndex(tmp_path / "i.sqlite3")
    clock = FixedClock(NOW)
    built = Services(Settings(index_path=tmp_path / "other.sqlite3"), clock, index=index)
    assert built.index is index
    assert built.clock.now() == NOW
    assert not (tmp_path / "other.sqlite3").exists()


def test_an_index_not_handed_in_is_built_once_from_settings(tmp_path: Path) -> None:
    """Without an index, the first ask builds the settings' SQLite file; later asks reuse it."""
    built = Services(Settings(index_path=tmp_path / "built.sqlite3"))
    first = built.index
    assert built.index is first
    assert (tmp_path / "built.sqlite3").exists()


def test_using_swaps_one_port_and_shares_the_rest(tmp_path: Path) -> None:
    """`using(index=...)` is a copy with that index, the same settings and clock."""
    base = Services(Settings(index_path=tmp_path / "a.sqlite3"), FixedClock(NOW))
    other = SqliteIndex(tmp_path / "b.sqlite3")
    swapped = base.using(index=other)
    assert swapped.index is other
    assert (swapped.settings, swapped.clock) == (base.settings, base.clock)


def test_the_process_root_is_built_once_until_reset(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`services()` returns the same root until `reset()`; `install` hands one in."""
    monkeypatch.setenv("ASCEND_INDEX_PATH", str(tmp_path / "env.sqlite3"))
    first = shared.services.services()
    assert shared.services.services() is first
    assert first.settings.index_path == tmp_path / "env.sqlite3"
    mine = shared.services.install(Services(Settings(), FixedClock(NOW)))
    assert shared.services.services() is mine
    shared.services.reset()
    assert shared.services.services() not in (first, mine)


def test_a_bad_environment_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process root reads settings with `load_settings`: one line, the variable's name."""
    monkeypatch.setenv("ASCEND_NODE_PRICES", "not json")
    with pytest.raises(InvalidInput, match=r"^ASCEND_NODE_PRICES: "):
        shared.services.services()
