"""Finding 5: escape sequences a job writes (name, tags, log messages, exception text) are shown,
not obeyed, in everything printed for a person; `--json` keeps the exact text."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from ascend_cli.visible import visible
from indexer.rejected import record_rejection
from shared.layout import log_path
from shared.logrecords import JobContext, dump_record, make_record
from shared.services import Services
from shared.settings import Settings
from tests.support.builders import seed_job
from tests.support.cli import invoke_cli, point_cli_at
from tests.support.jobs_data import NOW

OSC52 = "\x1b]52;c;Y3VybCBldmlsLnNofHNo\x07"  # sets the viewer's clipboard
CSI = "\x1b[2J\x1b[H"  # clears the screen
C1 = "\x9b31m"  # an 8-bit CSI
BIDI = "\u202e"
HOSTILE = OSC52 + CSI + C1 + BIDI


CONTROLS = "\x07\x08\x0b\x0c\r\x00\t"  # BEL, backspace, VT, FF, CR, NUL, tab
WIDE = "宽字"  # two cells each


def assert_rows_aligned(out: str) -> None:
    """Every line of the printed table takes the same number of terminal cells, and no control
    character (but the line breaks) reaches the terminal."""
    lines = out.rstrip("\n").split("\n")
    assert len({cell_len(line) for line in lines}) == 1, [cell_len(line) for line in lines]
    assert not [c for c in out if c != "\n" and (ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0)]
    assert BIDI not in out


def assert_no_raw_controls(text: str) -> None:
    for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw not in text
    assert "\\x1b]52" in text


@pytest.fixture
def hostile_job(services: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """An admin's view of a job whose function name and log carry escape sequences."""
    meta = seed_job(
        services.blobs, services.index, NOW - timedelta(hours=1), function_name=f"train{HOSTILE}"
    )
    context = JobContext(meta.job_id, meta.user, meta.project)
    record = make_record(
        context, level="ERROR", logger=f"x{CSI}", message=f"boom {HOSTILE}", when=NOW
    )
    record["exception"] = {
        "type": "ValueError",
        "message": OSC52,
        "stacktrace": f"Traceback\n  {OSC52}\nValueError: {CSI}",
    }
    services.blobs.create_append(log_path(meta.parsed_job_id), content_type="application/x-ndjson")
    services.blobs.append(log_path(meta.parsed_job_id), dump_record(record))
    point_cli_at(settings, monkeypatch, user="root", roles="admin")
    return meta.job_id


@pytest.mark.parametrize(
    "command",
    [
        ("jobs", "list"),
        ("search", "status:completed"),
        ("jobs", "status", "{job}"),
        ("jobs", "logs", "{job}"),
    ],
)
def test_what_a_person_reads_shows_escapes_instead_of_obeying_them(
    hostile_job: str, command: tuple[str, ...]
) -> None:
    """jobs list, search, status and logs print `\\x1b]52...` where the job wrote ESC ] 52."""
    code, out, err = invoke_cli(*(part.format(job=hostile_job) for part in command))
    assert code == 0, err
    assert_no_raw_controls(out)


@pytest.fixture
def hostile_rows(
    services: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """Jobs beside one whose function name holds escapes, control characters and wide
    characters, and a rejection whose reason does, seen by an admin: (the name, the job)."""
    name = f"tr{CSI}ain{OSC52}{CONTROLS}{C1}{WIDE}{BIDI}[/x]"
    seed_job(services.blobs, services.index, NOW - timedelta(hours=2), function_name="plain_name")
    hostile = seed_job(services.blobs, services.index, NOW - timedelta(hours=1), function_name=name)
    record_rejection(
        services.blobs,
        blob="projects/p/users/alice/jobs/x/metadata.json",
        reason=f"bad {name} here",
        event_id="e",
        at=NOW,
        etag=None,
    )
    point_cli_at(settings, monkeypatch, user="root", roles="admin")
    return name, hostile.job_id


@pytest.mark.parametrize(
    "command",
    [
        ("jobs", "list"),
        ("search", "status:completed"),
        ("report", "cost", "--by", "function"),
        ("pipeline", "rejected"),
        ("jobs", "status", "{job}"),
    ],
)
def test_a_hostile_cell_leaves_its_table_aligned(
    hostile_rows: tuple[str, str], command: tuple[str, ...]
) -> None:
    """The escapes are laid out as the text shown: every row of the table is as wide as the
    others, and no control character is printed raw (nor `[/x]` read as markup)."""
    code, out, err = invoke_cli(*(part.format(job=hostile_rows[1]) for part in command))
    assert code == 0, err
    assert_rows_aligned(out)
    assert "\\x1b]52" in out
    assert "[/x]" in out


def test_the_hostile_cells_json_stays_exact(hostile_rows: tuple[str, str]) -> None:
    """`--json` of the same rows gives back the function name byte for byte."""
    name, _ = hostile_rows
    code, out, _ = invoke_cli("jobs", "list", "--json")
    assert code == 0
    assert name in {orjson.loads(line)["function_name"] for line in out.splitlines()}
    _, out, _ = invoke_cli("report", "cost", "--by", "function", "--json")
    assert name in {orjson.loads(line)["function"] for line in out.splitlines()}


def test_json_output_stays_the_exact_text(hostile_job: str) -> None:
    """`--json` is exact JSON: the escape characters come back byte for byte once decoded."""
    _, out, _ = invoke_cli("jobs", "status", hostile_job, "--json")
    assert orjson.loads(out)["metadata"]["function_name"] == f"train{HOSTILE}"
    _, out, _ = invoke_cli("jobs", "logs", hostile_job, "--json")
    assert orjson.loads(out)["message"] == f"boom {HOSTILE}"


def test_error_messages_show_escapes_too(
    services: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hostile argument echoed in an error message reaches stderr made visible."""
    point_cli_at(settings, monkeypatch)
    code, _, err = invoke_cli("jobs", "status", f"nope{OSC52}")
    assert code != 0
    assert_no_raw_controls(err)


@given(st.text())
def test_visible_text_has_no_control_character_but_newline_and_tab(text: str) -> None:
    """Whatever the input, the visible form holds no C0/C1 control or bidi override."""
    shown = visible(text)
    assert all(c in "\n\t" or (0x20 <= ord(c) < 0x7F or ord(c) >= 0xA0) for c in shown)
    assert not set(shown) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
