"""The README's first ten minutes, as a newcomer types them: after `ascend demo seed --jobs 200`
and the pipeline, every `ascend jobs list`, `ascend search` and `ascend report` example of the
README (and of `make run`'s banner) prints jobs or report rows. Demo dates are relative to now,
so this holds on any day (and the examples use relative windows: `--since 30d`, not a date)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import orjson
import pytest

from ascend_cli import stack
from shared.settings import Settings
from tests.support.cli import invoke_cli, point_cli_at

ROOT = Path(__file__).resolve().parents[2]
# A command example: a line of a ```sh or ```console block (or the banner) that runs `ascend jobs
# list`, `ascend search` or `ascend report` with concrete values (no QUERY, JOB_ID or [optional]
# placeholders).
_EXAMPLE = re.compile(r"^\s*(?:\$ )?(ascend (?:jobs list|search|report)\b.*?)(?:\s+#.*)?$")


def readme_examples() -> list[str]:
    """The example commands, in order, from the README's sh blocks and the stack's banner."""
    found: list[str] = []
    in_block = False
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_block = line.strip() in {"```sh", "```console"}
            continue
        match = _EXAMPLE.match(line) if in_block else None
        if match and not re.search(r"\[|QUERY|JOB_ID|\.\.\.", match[1]):
            found.append(match[1].strip())
    banner = Path(stack.__file__).read_text(encoding="utf-8")
    found += [m[1].strip() for m in re.finditer(r"^\s+(ascend search '[^']*')", banner, re.M)]
    return list(dict.fromkeys(found))


EXAMPLES = readme_examples()


def test_the_readme_has_the_examples_this_test_runs() -> None:
    """The quick start's list and search, and the query language section's five, are found."""
    assert "ascend jobs list" in EXAMPLES
    assert sum(e.startswith("ascend search") for e in EXAMPLES) >= 6
    reports = {e.split()[2] for e in EXAMPLES if e.startswith("ascend report")}
    assert reports == {"failures", "cost", "storage", "images"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, azurite: object) -> Settings:
    """200 demo jobs seeded as of now and indexed, as after the quick start's first commands."""
    from ascend_cli.azurite import Azurite

    assert isinstance(azurite, Azurite)
    settings = Settings(
        storage_connection_string=azurite.connection_string,
        container="readme-demo",
        user="alice",
        roles=("admin",),
        index_path=tmp_path_factory.mktemp("readme") / "index.sqlite3",
    )
    with pytest.MonkeyPatch.context() as patch:
        point_cli_at(settings, patch, roles="admin")
        for command in (["demo", "seed", "--jobs", "200"], ["pipeline", "run", "--once"]):
            code, _, err = invoke_cli(*command)
            assert code == 0, err
    return settings


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES)
def test_each_readme_example_prints_jobs_on_demo_data(
    example: str, demo: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The example, typed as in the README (as an admin, as the quick start says), prints at
    least one job or report row (as JSON Lines, or CSV when the example asks for it)."""
    point_cli_at(demo, monkeypatch, roles="admin")
    monkeypatch.chdir(tmp_path)  # where a `--plot FILE.png` example draws
    words = shlex.split(example)[1:]
    csv = "--csv" in words
    code, out, err = invoke_cli(*words, *(() if csv or "--json" in words else ("--json",)))
    assert code == 0, err
    if csv:
        assert len(out.splitlines()) >= 2, f"{example!r} printed no rows"
        return
    rows = [orjson.loads(line) for line in out.splitlines()]
    assert rows, f"{example!r} printed no jobs"
    assert all(int(row.get("count", 1)) >= 1 for row in rows)
    if "--plot" in words:
        assert (tmp_path / words[words.index("--plot") + 1]).stat().st_size > 0
