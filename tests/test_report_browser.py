"""The report page in a real headless Chromium (Debian's ``chromium`` package).

Chromium is driven over its DevTools pipe (``territory.sync.report.browser``): every request
the page makes is recorded while it loads, then the rendered DOM and a screenshot are read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib.image
import numpy as np
import pytest

from territory.sync.report.browser import Browser, find_chromium
from tests.test_report_store import build_report

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="headless Chromium not found: install Debian's chromium package (apt-get install -y chromium; .ci/run does)",
)


def fetched(requests: list[str], page_url: str) -> list[str]:
    """Requests that would leave the page: all but the page itself and inline data: URLs."""
    return [url for url in requests if url != page_url and not url.startswith("data:")]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from build_report("hubspot", tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(width=1440, height=2200) as running:
        yield running


@pytest.fixture
def loaded(page: dict[str, Any], browser: Browser) -> tuple[Browser, Any]:
    url = (page["folder"] / "report.html").resolve().as_uri()
    return browser, browser.load(url)


def test_page_loads_without_any_network_request_when_opened_in_chromium(loaded: tuple[Browser, Any]) -> None:
    _, load = loaded
    assert load.requests and load.requests[0] == load.url
    assert fetched(load.requests, load.url) == []


def test_a_fetch_is_caught_when_a_page_asks_for_a_remote_file(browser: Browser, tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><img src="https://cdn.example.com/logo.png"><script '
                   'src="http://127.0.0.1:9/x.js"></script></body></html>', encoding="utf-8")
    load = browser.load(bad.as_uri())
    assert fetched(load.requests, load.url) == ["https://cdn.example.com/logo.png", "http://127.0.0.1:9/x.js"]


def test_rendered_dom_holds_the_key_figures_when_the_scripts_have_run(
    loaded: tuple[Browser, Any], page: dict[str, Any],
) -> None:
    browser, _ = loaded
    dom = browser.dom()
    figures = page["figures"]
    assert f"{figures['team']['accounts']:,}" in dom and "Territory health — " + figures["quarter"]["label"] in dom
    assert browser.evaluate("document.getElementById('summary').textContent") == figures["summary"]["text"]
    for rep in figures["reps"]:
        assert f'title="{rep["id"]}"' in dom and f"{rep['accounts']:,}" in dom
    for kind, count in figures["conflicts"]["by_type"].items():
        assert f"{kind.replace('_', ' ')}: <b>{count:,}</b>" in dom
    assert f'href="{figures["conflicts"]["shown"][0]["url"]}"' in dom
    assert f"{figures['scenario']['moves']:,}" in dom and "Before: accounts by owner" in dom
    assert browser.evaluate("document.querySelectorAll('svg').length") >= 5
    assert f"{figures['activity']['total']:,} in all" in dom


def test_screenshot_shows_the_page_when_rendered(loaded: tuple[Browser, Any], tmp_path: Path) -> None:
    browser, _ = loaded
    shot = browser.screenshot(tmp_path / "shot.png")
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2200, 1440)
    ink = (pixels < 0.9).any(axis=2).mean()
    colours = len(np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    assert ink > 0.03, f"only {ink:.1%} of the screenshot is not white"
    assert colours > 50


def test_tables_sort_by_their_numbers_when_a_header_is_clicked(loaded: tuple[Browser, Any]) -> None:
    browser, _ = loaded
    script = """(function () {
      var table = document.getElementById("reps-coverage"), header = table.querySelectorAll("thead th")[1];
      function column() { return Array.prototype.map.call(table.tBodies[0].rows,
        function (row) { return Number(row.cells[1].getAttribute("data-v")); }); }
      header.click(); var up = column(); header.click(); return [up, column()];
    })()"""
    up, down = browser.evaluate(script)
    assert len(up) > 2 and up == sorted(up) and down == sorted(up, reverse=True)


def test_page_prints_on_a4_landscape_when_printed(loaded: tuple[Browser, Any], tmp_path: Path) -> None:
    browser, _ = loaded
    printed = browser.pdf(tmp_path / "report.pdf").read_bytes()
    boxes = {tuple(round(float(v)) for v in box.split()) for box in
             re.findall(rb"/MediaBox\s*\[([^\]]*)\]", printed)}
    assert boxes == {(0, 0, 842, 595)}  # A4 is 297 x 210 mm = 842 x 595 pt
    assert len(re.findall(rb"/Type\s*/Page[^s]", printed)) >= 2


def test_nothing_is_cut_off_on_paper_when_printed_on_a4_landscape(loaded: tuple[Browser, Any]) -> None:
    browser, _ = loaded
    browser.send("Emulation.setEmulatedMedia", session=True, media="print")
    browser.send("Emulation.setDeviceMetricsOverride", session=True, width=1047, height=740,  # A4 at 96 dpi,
                 deviceScaleFactor=1, mobile=False)  # less the 10 mm margins
    try:
        overflow = browser.evaluate("""Array.from(document.querySelectorAll('body, .wide-table, .chart'))
            .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.className || e.tagName)""")
    finally:
        browser.send("Emulation.setEmulatedMedia", session=True, media="")
        browser.send("Emulation.setDeviceMetricsOverride", session=True, width=1440, height=2200,
                     deviceScaleFactor=1, mobile=False)
    assert overflow == []
