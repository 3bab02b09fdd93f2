"""The local dashboard in a real headless browser, over the known corpus the real pipeline
indexed: every panel draws data, the numbers shown equal the ground truth, the filters and the
time range change them, and failures read as messages, never as a blank page.

Screenshots go to the test's temporary directory (``--basetemp`` keeps them); with
``LOGIFLOW_UPDATE_SCREENSHOT=1`` the overview also refreshes ``docs/images/dashboard.png``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import ground_truth as truth
import pytest
from dashboard_corpus import QUIET_PANELS, Corpus
from playwright.sync_api import Browser, Page
from web_dashboard import Console, chromium, get, running_dashboard

from logiflow.config import LogiflowConfig
from logiflow.dashboard.panels import NO_SERVICE, PANELS
from logiflow.local.process import free_port

ZONE = "Europe/Paris"
README_SCREENSHOT = Path(__file__).parents[3] / "docs" / "images" / "dashboard.png"


def dashboard_config(corpus: Corpus, **elasticsearch: object) -> LogiflowConfig:
    config = corpus.config
    return config.model_copy(
        update={
            "dashboard": config.dashboard.model_copy(
                update={"time_zone": ZONE, "refresh_seconds": 2.0}
            ),
            "elasticsearch": config.elasticsearch.model_copy(update=elasticsearch),
        }
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


@pytest.fixture(scope="module")
def dashboard(dashboard_corpus: Corpus) -> Iterator[str]:
    with running_dashboard(dashboard_config(dashboard_corpus)) as url:
        yield url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="UTC")
    opened = context.new_page()
    yield opened
    context.close()


def wait_until_drawn(page: Page) -> None:
    page.wait_for_function(
        f"document.querySelectorAll('.panel .chart, .panel table, .panel .metrics').length"
        f" === {len(PANELS) - len(QUIET_PANELS)}",
        timeout=30_000,
    )


def metric(page: Page, label: str) -> float:
    return float(page.locator(f'.metric[data-label="{label}"]').get_attribute("data-value"))


def chart_data(page: Page, panel_id: str) -> list[dict]:
    return page.evaluate(
        "id => document.querySelector(`.panel[data-panel='${id}'] .chart`).data"
        ".map(t => ({name: t.name, x: t.x, y: t.y, z: t.z}))",
        panel_id,
    )


def test_every_panel_shows_the_ground_truth(
    page: Page, dashboard: str, dashboard_corpus: Corpus, tmp_path: Path
) -> None:
    console = Console(page)
    events = dashboard_corpus.events
    page.goto(dashboard)
    wait_until_drawn(page)
    # The corpus ended an hour ago: the default last hour is empty, so the page picks the data.
    message = page.locator("#message")
    assert "whole range the data covers" in message.inner_text()
    assert page.locator("#range").input_value() == "data"
    for panel_id in QUIET_PANELS:
        empty = page.locator(f".panel[data-panel='{panel_id}'] .empty")
        assert empty.inner_text() == "No data in this range"
    assert page.locator(".panel .empty").count() == len(QUIET_PANELS)

    assert metric(page, "Requests") == len(events)
    assert metric(page, "Unique visitors") == len({s.fact.client_ip for s in events})
    assert metric(page, "Bytes served") == sum(s.fact.body_bytes or 0 for s in events)

    endpoints = truth.endpoints(events, 10)
    cells = page.locator(".panel[data-panel='top_endpoints'] tbody tr")
    assert cells.count() == len(endpoints)
    for i, (endpoint, count, error_rate, _) in enumerate(endpoints):
        row = cells.nth(i).locator("td")
        assert row.nth(0).inner_text() == endpoint
        assert float(row.nth(1).get_attribute("data-value")) == count
        assert float(row.nth(2).get_attribute("data-value")) == pytest.approx(error_rate)

    heat = chart_data(page, "access_heatmap")[0]["z"]
    expected = truth.heatmap(events, ZONE)
    shown = {
        (day, hour): heat[d][hour]
        for d, day in enumerate(truth.WEEKDAYS)
        for hour in range(24)
        if heat[d][hour]
    }
    assert shown == expected

    devices = chart_data(page, "device_types")[0]
    assert dict(zip(devices["y"], devices["x"], strict=True)) == dict(
        truth.device_types(events, "(unknown)")
    )
    # Requests per minute, summed back over the buckets, give every request once.
    stacked = chart_data(page, "requests_per_minute")
    assert NO_SERVICE in {trace["name"] for trace in stacked}
    assert not console.errors, console.errors
    page.screenshot(path=str(tmp_path / "dashboard-overview.png"), full_page=True)
    if os.environ.get("LOGIFLOW_UPDATE_SCREENSHOT"):
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(README_SCREENSHOT), full_page=False)


def test_filters_and_time_range_change_the_numbers(
    page: Page, dashboard: str, dashboard_corpus: Corpus, tmp_path: Path
) -> None:
    console = Console(page)
    events = dashboard_corpus.events
    page.goto(f"{dashboard}/?range=data")
    wait_until_drawn(page)

    page.select_option("#service", NO_SERVICE)
    page.wait_for_function(
        f"document.querySelector('.metric[data-label=\"Requests\"]').dataset.value"
        f" == {sum(s.service is None for s in events)}"
    )
    page.select_option("#service", "")
    page.select_option("#status", "5xx")
    fives = sum(500 <= (s.fact.status or 0) < 600 for s in events)
    page.wait_for_function(
        f"document.querySelector('.metric[data-label=\"Requests\"]').dataset.value == {fives}"
    )
    page.screenshot(path=str(tmp_path / "dashboard-5xx.png"), full_page=True)
    page.select_option("#status", "")

    start = dashboard_corpus.start + dt.timedelta(hours=6)
    end = start + dt.timedelta(hours=5)
    inside = sum(start <= s.fact.timestamp < end for s in events)
    page.goto(
        f"{dashboard}/?range=custom&start={start.isoformat().replace('+00:00', 'Z')}"
        f"&end={end.isoformat().replace('+00:00', 'Z')}"
    )
    page.wait_for_function(
        f"document.querySelector('.metric[data-label=\"Requests\"]')?.dataset.value == {inside}"
    )
    assert not console.errors, console.errors


def test_failures_read_as_messages(browser: Browser, dashboard_corpus: Corpus) -> None:
    unreachable = dashboard_config(dashboard_corpus, hosts=[f"http://127.0.0.1:{free_port()}"])
    with running_dashboard(unreachable) as url:
        status, body = get(f"{url}/api/data")
        assert status == 503
        assert "unreachable" in json.loads(body)["error"]
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("#message.error")
        assert "Elasticsearch is unreachable" in page.inner_text("#message")
        page.close()

    empty = dashboard_config(dashboard_corpus, index_prefix="t-nothing-indexed")
    with running_dashboard(empty) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_function("!document.getElementById('message').hidden")
        assert "No data yet" in page.inner_text("#message")
        page.goto(f"{url}/?range=custom&start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z")
        page.wait_for_selector("#message.error")
        assert "after its start" in page.inner_text("#message")
        page.close()


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("/api/data?start=yesterday", 400, "ISO 8601"),
        ("/api/data?start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z", 400, "empty"),
        ("/api/data?tz=Mars/Olympus", 400, "time zone"),
        ("/api/data?status=6xx", 400, "status"),
        ("/api/panels/nope", 404, "no panel"),
        ("/static/passwd", 404, "no asset"),
    ],
)
def test_bad_parameters_are_http_errors_and_the_server_lives_on(
    dashboard: str, query: str, status: int, words: str
) -> None:
    got, body = get(f"{dashboard}{query}")
    assert got == status
    assert words in json.loads(body)["error"]
    assert get(f"{dashboard}/api/meta")[0] == 200


def api_range(corpus: Corpus) -> str:
    """``start`` and ``end`` parameters that cover every event of the corpus."""
    end = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    return f"start={corpus.start:%Y-%m-%dT%H:%M:%SZ}&end={end:%Y-%m-%dT%H:%M:%SZ}"


def test_sampled_panels_say_so_on_the_page_and_in_the_api(
    page: Page, dashboard_corpus: Corpus, tmp_path: Path
) -> None:
    config = dashboard_config(dashboard_corpus)
    few = len(dashboard_corpus.events) // 4
    config = config.model_copy(
        update={"dashboard": config.dashboard.model_copy(update={"sample_size": few})}
    )
    console = Console(page)
    with running_dashboard(config) as url:
        page.goto(url)
        wait_until_drawn(page)
        for panel in PANELS:
            note = page.locator(f".panel[data-panel='{panel.id}'] .sampled")
            if panel.samples:
                assert note.is_visible(), panel.id
                assert "Sampled" in note.inner_text()
                assert "events in range" in note.get_attribute("title")
            else:
                assert not note.is_visible(), panel.id
        status, body = get(f"{url}/api/panels/latency?{api_range(dashboard_corpus)}")
        assert status == 200
        [answer] = json.loads(body)["panels"].values()
        assert answer["sampled"] == pytest.approx(few / len(dashboard_corpus.events))
        assert not console.errors, console.errors
        page.screenshot(path=str(tmp_path / "dashboard-sampled.png"), full_page=True)


def test_below_the_sample_size_the_page_says_nothing_of_sampling(
    page: Page, dashboard: str, dashboard_corpus: Corpus
) -> None:
    page.goto(dashboard)
    wait_until_drawn(page)
    assert page.locator(".panel .sampled:visible").count() == 0
    status, body = get(f"{dashboard}/api/panels/browsers?{api_range(dashboard_corpus)}")
    assert status == 200
    [answer] = json.loads(body)["panels"].values()
    assert answer["sampled"] is None
