"""The dashboard in real headless Chromium (Playwright driving Debian's `chromium`) against
`ascend serve --as-cli-user` on a free port, with jobs seeded into Azurite. One server and one
browser for the module; every test also checks that no request left 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import urlopen

import orjson
import pytest

from ascend_cli.azurite import Azurite
from shared.layout import log_path
from shared.logrecords import JobContext, dump_record, make_record
from shared.metadata import JobMetadata
from shared.services import Services
from tests.support.builders import seed_job
from tests.support.dashboard_data import X_CASES, error_records, job_with_artifact, job_with_log
from tests.support.jobs_data import NOW, make_services

sync_api = pytest.importorskip("playwright.sync_api")
if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
CHROMIUM = "/usr/bin/chromium"
BIG_LOG_BYTES = 100 << 20
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")


@dataclass
class Site:
    base: str
    services: Services
    env: dict[str, str]
    jobs: dict[str, JobMetadata] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _big_log(services: Services) -> JobMetadata:
    """A finished job whose log is 100 MB of INFO lines with an error near the end."""
    meta = seed_job(services.blobs, services.index, NOW - timedelta(hours=2))
    job = JobContext(meta.job_id, meta.user, meta.project)
    block = b"".join(
        dump_record(
            make_record(
                job,
                level="INFO",
                logger="ascend.user",
                message=f"step {i} " + "x" * 120,
                when=meta.created_at,
            )
        )
        for i in range(20_000)
    )
    name = log_path(meta.parsed_job_id)
    services.blobs.create_append(name, content_type="application/x-ndjson")
    written = 0
    while written < BIG_LOG_BYTES:
        for start in range(0, len(block), 4 << 20):
            services.blobs.append(name, block[start : start + (4 << 20)])
        written += len(block)
    return meta


@pytest.fixture(scope="module")
def site(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """`ascend serve --as-cli-user` as alice over seeded jobs (hers and bob's)."""
    services = make_services(azurite, tmp_path_factory.mktemp("web"))
    jobs = {
        name: job_with_log(services, rows=rows, when=NOW - timedelta(hours=3 + i))
        for i, (name, (rows, _)) in enumerate(X_CASES.items())
    }
    errors = job_with_log(services, [], when=NOW - timedelta(hours=1))
    jobs["errors"] = job_with_log(services, error_records(errors), when=NOW - timedelta(hours=1))
    jobs["failed"] = job_with_log(
        services, status="failed", when=NOW - timedelta(days=2), project="vision"
    )
    jobs["big"] = _big_log(services)
    jobs["live"] = seed_job(
        services.blobs,
        services.index,
        NOW - timedelta(minutes=10),
        status="running",
        levels=["INFO", "INFO"],
    )
    jobs["bob"] = job_with_log(services, rows=X_CASES["epoch"][0], user="bob")
    jobs["bob_artifact"] = job_with_artifact(services, user="bob")
    settings = services.settings
    env = os.environ | {
        "ASCEND_STORAGE_CONNECTION_STRING": str(settings.storage_connection_string),
        "ASCEND_CONTAINER": settings.container,
        "ASCEND_INDEX_PATH": str(settings.index_path),
        "ASCEND_USER": "alice",
        "ASCEND_ROLES": "",
        "NO_COLOR": "1",
    }
    port = _free_port()
    ascend = str(Path(sys.executable).parent / "ascend")
    server = subprocess.Popen(
        [ascend, "serve", "--as-cli-user", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, server)
        yield Site(base, services, env, jobs)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            reason = server.stderr.read() if server.stderr else b""
            raise RuntimeError(f"ascend serve exited: {reason!r}")
        try:
            with urlopen(base + "/static/dashboard.css", timeout=1):  # noqa: S310 - local
                return
        except (URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError("ascend serve did not start in 30 s")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module: no sandbox, no background networking."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    """A fresh page; after the test, every request it made went to the local server."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
    strays = [url for url in requests if not url.startswith(site.base + "/")]
    assert requests
    assert strays == [], f"requests left 127.0.0.1: {strays}"


def _ids(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        "tr[data-job-id]", "rows => rows.map(r => r.dataset.jobId)"
    )
    return ids


def _cli_search(site: Site, query: str) -> list[str]:
    ascend = str(Path(sys.executable).parent / "ascend")
    words = query.split() or ["sort:-created"]  # the CLI wants a query; this is the default
    out = subprocess.run(
        [ascend, "search", "--json", "--limit", "1000", "--", *words],
        env=site.env,
        capture_output=True,
        check=True,
    ).stdout
    return [orjson.loads(line)["job_id"] for line in out.splitlines() if line.strip()]


@pytest.mark.parametrize("query", ["", "status:completed", "project:vision", "sort:created"])
def test_the_jobs_table_shows_what_ascend_search_returns(
    page: Page, site: Site, query: str
) -> None:
    """The table's rows, in order, are the job IDs `ascend search --json` prints as alice."""
    page.goto(site.base + "/?" + urlencode({"q": query, "limit": "200"}))
    assert _ids(page) == _cli_search(site, query)


def test_paging_reaches_every_job_once(page: Page, site: Site) -> None:
    """Following "Next page" three rows at a time visits each of alice's jobs exactly once."""
    page.goto(site.base + "/?limit=3")
    seen = _ids(page)
    while page.locator("[data-next-page]").count():
        page.click("[data-next-page]")
        seen += _ids(page)
    assert sorted(seen) == sorted(_cli_search(site, ""))
    assert len(seen) == len(set(seen))


def test_a_facet_click_narrows_the_table(page: Page, site: Site) -> None:
    """The project facet counts what `ascend search` finds per project; clicking `vision`
    leaves only vision jobs (and only that facet value) and puts it in the URL."""
    page.goto(site.base + "/")
    page.wait_for_selector("[data-facets-src][data-loaded]")
    counts = page.eval_on_selector_all(
        "[data-facet=project] a",
        "as => as.map(a => [a.dataset.facetValue, +a.querySelector('.count').textContent])",
    )
    assert dict(counts) == {
        "frauddetect": len(_cli_search(site, "project:frauddetect")),
        "vision": len(_cli_search(site, "project:vision")),
    }
    page.click("[data-facet=project] [data-facet-value=vision]")
    assert "project%3Avision" in page.url
    page.wait_for_selector("[data-facets-src][data-loaded]")
    assert page.locator("[data-facet=project] a").count() == 1
    assert _ids(page) == _cli_search(site, "project:vision")


@pytest.mark.parametrize("case", list(X_CASES))
def test_the_chart_x_axis_is_the_one_choose_x_axis_picks(page: Page, site: Site, case: str) -> None:
    """progress, then epoch, then increasing integers, increasing numbers, any numbers; time
    when fewer than two keys are numeric."""
    page.goto(f"{site.base}/jobs/{site.jobs[case].job_id}")
    figure = page.wait_for_selector("figure[data-chart]")
    assert figure is not None
    assert figure.get_attribute("data-x") == X_CASES[case][1]
    rows = page.locator("[data-metrics-row]")
    assert rows.count() == 20
    assert rows.first.locator("td").first.inner_text() > rows.last.locator("td").first.inner_text()


def _drawn(page: Page) -> dict[str, list[object]]:
    drawn: dict[str, list[object]] = page.evaluate(
        """() => { const f = document.querySelector('figure[data-chart]');
        const out = {}; f.querySelectorAll('[data-series]').forEach((b, i) => {
          out[b.dataset.series] = [b.getAttribute('aria-pressed'), f.uplot.series[i + 1].show];
        }); return out; }"""
    )
    return drawn


def test_legend_clicks_isolate_restore_and_toggle_series(page: Page, site: Site) -> None:
    """A click leaves only that series drawn, a second click draws all, Ctrl+click toggles one
    (aria-pressed and uPlot's own series state agree)."""
    page.goto(f"{site.base}/jobs/{site.jobs['epoch'].job_id}")
    page.wait_for_selector("figure[data-chart] [data-series=loss]")
    assert _drawn(page) == {s: ["true", True] for s in ("acc", "loss", "step")}
    page.click("[data-series=loss]")
    assert _drawn(page) == {
        "acc": ["false", False],
        "loss": ["true", True],
        "step": ["false", False],
    }
    page.click("[data-series=loss]")
    assert _drawn(page) == {s: ["true", True] for s in ("acc", "loss", "step")}
    page.click("[data-series=acc]", modifiers=["Control"])
    assert _drawn(page) == {"acc": ["false", False], "loss": ["true", True], "step": ["true", True]}
    page.click("[data-series=acc]", modifiers=["Control"])
    assert _drawn(page)["acc"] == ["true", True]


def test_the_log_filters_by_level_and_by_text(page: Page, site: Site) -> None:
    """Level ERROR shows only ERROR and CRITICAL lines; a text filter only lines with it."""
    url = f"{site.base}/jobs/{site.jobs['errors'].job_id}"
    page.goto(url)
    page.select_option("select[name=level]", "ERROR")
    page.click("#log-filter button[type=submit]")
    page.wait_for_url("**level=ERROR**")
    levels = page.eval_on_selector_all(
        "[data-section=logs] [data-level]", "ls => ls.map(l => l.dataset.level)"
    )
    assert levels == ["ERROR", "CRITICAL"]
    page.goto(url + "?text=LOW+DISK")
    texts = page.eval_on_selector_all(
        "[data-section=logs] [data-level] .msg", "ls => ls.map(l => l.textContent)"
    )
    assert texts == ["low disk"]


def test_a_100_mb_logs_page_paints_its_first_lines_quickly(page: Page, site: Site) -> None:
    """The job page of a 100 MB log shows its first lines within 5 s on a loaded 2-core
    machine (the server reads one page, not the log; bench.dashboard measures it)."""
    started = time.monotonic()
    page.goto(f"{site.base}/jobs/{site.jobs['big'].job_id}", wait_until="domcontentloaded")
    page.wait_for_selector("[data-section=logs] [data-level]")
    elapsed = time.monotonic() - started
    print(f"100 MB log: first lines painted after {elapsed * 1000:.0f} ms")
    assert elapsed < 5
    assert page.locator("[data-section=logs] [data-level]").count() == 500
    page.click("#log-more")
    page.wait_for_selector("[data-line='1000']")


def test_another_users_job_is_a_404_everywhere(page: Page, site: Site) -> None:
    """alice gets 404 for bob's job page, its log stream, its artifact and a compare with it."""
    bob, art = site.jobs["bob"].job_id, site.jobs["bob_artifact"].job_id
    response = page.goto(f"{site.base}/jobs/{bob}")
    assert response is not None
    assert response.status == 404
    mine = site.jobs["epoch"].job_id
    for path in (
        f"/jobs/{bob}/log/stream",
        f"/jobs/{bob}/log",
        f"/jobs/{art}/artifacts/model.bin",
        f"/compare?jobs={mine},{bob}",
        f"/jobs/{bob}/metrics.csv",
    ):
        assert page.request.get(site.base + path).status == 404, path


def test_compare_overlays_each_metric_across_jobs(page: Page, site: Site) -> None:
    """Comparing two jobs draws one chart per metric with one series per job, and marks the
    metric values that differ."""
    a, b = site.jobs["epoch"].job_id, site.jobs["progress"].job_id
    page.goto(f"{site.base}/compare?jobs={a},{b}")
    page.wait_for_selector("figure[data-chart='loss']")
    series = page.eval_on_selector_all(
        "figure[data-chart='loss'] [data-series]", "bs => bs.map(b => b.dataset.series)"
    )
    assert series == [a, b]
    assert page.locator("[data-compare='last metric values'] tr[data-differs]").count() >= 1


def test_live_tail_shows_new_lines_until_the_job_finishes(page: Page, site: Site) -> None:
    """A running job's page receives appended lines over server-sent events, and the tail
    ends once the job's status is final."""
    from producer.jobs import set_status
    from shared.clock import FixedClock
    from tests.support.builders import log_lines

    meta = site.jobs["live"]
    page.goto(f"{site.base}/jobs/{meta.job_id}")
    page.wait_for_selector("[data-section=logs] [data-line='2']")
    assert page.locator("#live-tail").is_checked()
    page.wait_for_timeout(500)
    appended = log_lines(meta, ["INFO", "INFO", "ERROR"]).splitlines(True)[2:]
    site.services.blobs.append(log_path(meta.parsed_job_id), b"".join(appended))
    line = page.wait_for_selector("[data-section=logs] [data-line='3']")
    assert line is not None
    assert line.get_attribute("data-level") == "ERROR"
    set_status(site.services.blobs, meta.parsed_job_id, "completed", FixedClock(NOW), exit_code=0)
    page.wait_for_function(
        "() => document.getElementById('log-state').textContent === 'job finished'"
    )


def test_first_error_jumps_to_the_first_error_line(page: Page, site: Site) -> None:
    """ "First error" reopens the log at the first ERROR line, numbered as in the whole log."""
    page.goto(f"{site.base}/jobs/{site.jobs['errors'].job_id}")
    page.click("#first-error")
    page.wait_for_url("**#L3")
    first = page.locator("[data-section=logs] [data-level]").first
    assert (first.get_attribute("data-line"), first.get_attribute("data-level")) == ("3", "ERROR")


def test_another_x_axis_can_be_chosen(page: Page, site: Site) -> None:
    """Choosing `time` in the X menu redraws the chart against time."""
    page.goto(f"{site.base}/jobs/{site.jobs['epoch'].job_id}")
    page.wait_for_selector("figure[data-chart][data-x=epoch]")
    page.select_option("#x-choice", "time")
    page.wait_for_selector("figure[data-chart][data-x=time]")
    series = page.eval_on_selector_all(
        "figure[data-chart] [data-series]", "bs => bs.map(b => b.dataset.series)"
    )
    assert series == ["acc", "epoch", "loss", "step"]
