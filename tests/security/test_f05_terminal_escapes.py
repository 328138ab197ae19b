"""Finding 5: escape sequences a job writes (name, tags, log messages, exception text) are shown,
not obeyed, in everything printed for a person; `--json` keeps the exact text."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ascend_cli.visible import visible
from shared.layout import log_path
from shared.logrecords import JobContext, dump_record, make_record
from shared.services import Services
from shared.settings import Settings
from tests.support.cli import invoke_cli, point_cli_at
from tests.support.jobs_data import NOW, seed_job

OSC52 = "\x1b]52;c;Y3VybCBldmlsLnNofHNo\x07"  # sets the viewer's clipboard
CSI = "\x1b[2J\x1b[H"  # clears the screen
C1 = "\x9b31m"  # an 8-bit CSI
BIDI = "\u202e"
HOSTILE = OSC52 + CSI + C1 + BIDI


def assert_no_raw_controls(text: str) -> None:
    for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw not in text
    assert "\\x1b]52" in text


@pytest.fixture
def hostile_job(services: Services, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """An admin's view of a job whose function name and log carry escape sequences."""
    meta = seed_job(services, function_name=f"train{HOSTILE}", when=NOW - timedelta(hours=1))
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
