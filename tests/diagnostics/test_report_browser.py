"""The report in a real browser: headless Chromium (driven by playwright) loads every figure,
logs no console errors, and lays the page out without horizontal scrolling.

Skipped, with the reason, when playwright or a Chromium binary is missing. CI does not install
Chromium (a system package, minutes to install); on a machine with ``apt-get install chromium``
and the dev extras this test runs.
"""

import shutil

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium binary on PATH (install it with the system package manager, e.g. apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}") if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    page.goto(url)
    page.wait_for_load_state("load")
    return page, problems


def test_report_renders_in_chromium(browser, written):
    page, problems = _open(browser, written.resolve().as_uri())
    images = page.evaluate("Array.from(document.images).map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0, "
                           "width: i.getBoundingClientRect().width}))")
    assert len(images) == 7
    assert all(image["ok"] for image in images), [image["alt"] for image in images if not image["ok"]]
    assert problems == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
    widths = {image["alt"]: image["width"] for image in images}
    assert widths["Predictive bands"] > 900 and widths["Coverage and interval width by input region"] > 900  # page-wide
    assert widths["Reliability diagram"] > 400 and widths["Coverage against nominal level"] > 400  # two per row
    page.close()


def test_inline_fragment_renders_in_chromium(browser, report_object, tmp_path):
    """What a notebook shows (``Report._repr_html_``) inside a foreign page: images load, styles stay scoped."""
    host = tmp_path / "notebook.html"
    host.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'><title>host</title></head><body>"
                    "<table id='host'><tr><td>host cell</td></tr></table>" + report_object._repr_html_() + "</body></html>")
    page, problems = _open(browser, host.as_uri())
    assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert problems == []
    host_border = page.evaluate("getComputedStyle(document.querySelector('#host td')).borderTopStyle")
    assert host_border == "none", "the report's table styles leaked into the host page"
    page.close()
