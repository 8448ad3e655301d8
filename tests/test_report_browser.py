"""The report as a reader sees it, in headless Chromium (through Selenium): every chart page of a small results tree
draws with no error in the browser console, and the Snakemake report opens a task's leaderboard and chart.

Chromium and its driver are installed with apt-get when missing and the tests run as root; elsewhere the tests skip
and say why. Screenshots go to the folder named by EEBENCH_SCREENSHOTS (default: the test's temporary folder)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from report_tree import TASK, make_results_tree  # noqa: E402

from eebench.report.aggregate import NO_LATENCY  # noqa: E402

CHART_PAGES = ["", "_sizes", "_exits", "_errors", "_reliability", "_categories", "_pcee", "_training"]


def chromium_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def install_chromium() -> tuple[str, str]:
    """Chromium and chromedriver, installed with apt-get where missing (needs root); skip with the reason."""
    found = chromium_paths()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("headless Chromium is missing and cannot be installed here (needs root and apt-get): "
                    "install chromium and chromium-driver to run the browser tests")
    result = subprocess.run(["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"],
                            capture_output=True, text=True, timeout=900,
                            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    found = chromium_paths()
    if not found:
        pytest.skip(f"apt-get could not install chromium and chromium-driver: {result.stderr.strip()[-300:]}")
    return found


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = install_chromium()
    options = Options()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1500,1000"):
        options.add_argument(argument)
    options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("EEBENCH_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def console_problems(driver) -> list[str]:
    """Browser console errors and Vega's warnings (a Vega-Lite spec it had to repair)."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" or "WARN" in entry["message"] or "Error" in entry["message"]]


def wait_for(driver, script: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.2)
    return driver.execute_script(script)


DRAWN = """const view = document.querySelector('#vis canvas, #vis svg.marks');
return view && view.getBoundingClientRect().width > 100 && view.getBoundingClientRect().height > 50;"""


def assert_chart_pages_draw(browser, results: Path, task: str, screenshots: Path, prefix: str,
                            error_text: bool = True) -> None:
    """Every chart page of `task` draws with no browser console problem (and, with `error_text`, no "Error" on
    the page); a screenshot of each goes to `screenshots` as {prefix}{suffix}.png."""
    for suffix in CHART_PAGES:
        page = results / "plots" / f"{task}{suffix}.html"
        browser.get(page.as_uri())
        drawn = wait_for(browser, DRAWN)
        browser.save_screenshot(str(screenshots / f"{prefix}{suffix or '_speedup'}.png"))
        assert drawn, f"{page.name}: no chart drawn"
        assert not console_problems(browser), f"{page.name}: {console_problems(browser)}"
        if error_text:
            assert "Error" not in browser.find_element("tag name", "body").text


def test_every_chart_page_draws_without_console_errors(browser, screenshots, tmp_path):
    results = make_results_tree(tmp_path / "results")
    assert_chart_pages_draw(browser, results, TASK, screenshots, "chart")
    assert_legend_click_highlights(browser, results / "plots" / f"{TASK}.html", "pcee", screenshots)
    browser.get((results / "tables" / f"{TASK}_leaderboard.html").as_uri())
    browser.save_screenshot(str(screenshots / "leaderboard.png"))
    text = browser.find_element("tag name", "body").text
    assert "is the fastest method within a drop of" in text and "paired bootstrap" in text
    assert not console_problems(browser)


def test_a_caption_task_draws_its_charts_and_leaderboard(browser, screenshots, tmp_path):
    """A caption task's cells (test_report_captioning's tree, written to the caption contract) give chart pages
    that draw offline and a leaderboard page whose oracle row is a reference, not a bound."""
    from test_report_captioning import aggregate, caption_tree

    results = tmp_path / "captions"
    aggregate(results, caption_tree(results))
    assert_chart_pages_draw(browser, results, "shapes-captions", screenshots, "captions", error_text=False)
    browser.get((results / "tables" / "shapes-captions_leaderboard.html").as_uri())
    text = browser.find_element("tag name", "body").text
    assert "CIDEr-D" in text and "reference (no bound)" in text and "test images resampled" in text
    assert not console_problems(browser)


FADED = "return document.querySelectorAll('#vis svg [opacity=\"0.12\"]').length"


def assert_legend_click_highlights(driver, page: Path, policy: str, screenshots: Path) -> None:
    """Clicking a policy in the speed-up chart's legend fades every other policy's marks."""
    driver.get(page.as_uri())
    wait_for(driver, DRAWN)
    assert driver.execute_script(FADED) == 0
    labels = [t for t in driver.find_elements("css selector", "#vis svg g.role-legend-label text") if t.text == policy]
    assert labels, f"no legend entry {policy!r}"
    labels[0].click()
    assert wait_for(driver, FADED), "clicking a legend entry faded nothing"
    driver.save_screenshot(str(screenshots / f"chart_speedup_{policy}_highlighted.png"))


@pytest.mark.slow
def test_snakemake_report_opens_a_task_page(browser, screenshots, tmp_path):
    """The tiny DAG of test_workflow, its `snakemake --report`, then the task's leaderboard and chart as a reader
    clicks to them."""
    import yaml
    from test_workflow import TINY, snakemake

    (tmp_path / "config.yaml").write_text(yaml.safe_dump(TINY, sort_keys=False))
    snakemake(tmp_path)
    report = tmp_path / TINY["results_dir"] / "report.html"
    snakemake(tmp_path, "--report", str(report))
    browser.get(report.as_uri())
    assert wait_for(browser, "return document.body.innerText.includes('Grid, with seeds')")
    browser.save_screenshot(str(screenshots / "report_landing.png"))
    # the grid description is a list, not one paragraph with the items run together
    assert browser.find_elements("xpath", "//li[contains(., 'task digits')]")
    assert not browser.find_elements("xpath", "//p[contains(., '- task')]")

    # a report with one task shows its section as "Results"; with several, under the task's name
    click_text(browser, "Results")
    click_text(browser, "1. Leaderboard")
    open_result(browser, f"{TINY['results_dir']}/tables/digits_leaderboard.html")
    browser.switch_to.frame(browser.find_element("tag name", "iframe"))
    assert wait_for(browser, "return document.body.innerText.includes('is the fastest method within a drop of')")
    browser.switch_to.default_content()
    browser.save_screenshot(str(screenshots / "report_leaderboard.png"))

    click_text(browser, "digits")  # the breadcrumb back to the task's section
    click_text(browser, "2. Speed-up vs metric")
    open_result(browser, f"{TINY['results_dir']}/plots/digits.html")
    browser.switch_to.frame(browser.find_element("tag name", "iframe"))
    assert wait_for(browser, DRAWN), "the speed-up chart draws inside the report"
    browser.switch_to.default_content()
    browser.save_screenshot(str(screenshots / "report_chart.png"))
    assert not console_problems(browser)

    # every entry of the task's section shows its content inside the report (a drawn chart, or a table with rows),
    # none is only a download
    for subcategory, template in report_entries():
        click_text(browser, "digits")
        click_text(browser, subcategory)
        path = f"{TINY['results_dir']}/{template.format(task='digits')}"
        open_result(browser, path)
        browser.switch_to.frame(browser.find_element("tag name", "iframe"))
        shown = wait_for(browser, SHOWN) or NO_LATENCY in browser.find_element("tag name", "body").text
        browser.switch_to.default_content()
        browser.save_screenshot(str(screenshots / f"report_entry_{Path(path).stem}.png"))
        assert shown, f"{path} ({subcategory}) shows no chart or table in the report"


SHOWN = DRAWN.replace("return view &&", "return document.querySelectorAll('table tr').length > 1 || view &&")
REPORT_ENTRY = re.compile(r'task_report\(results\(layout\.(TABLES|PLOTS)\["(\w+)"\]\), "\w+", "([^"]+)"\)')


def report_entries() -> list[tuple[str, str]]:
    """(subcategory, path template) of every output the aggregate rule puts in the report, read from the rule."""
    from eebench import layout

    rule = (Path(__file__).parents[1] / "workflow" / "rules" / "aggregate.smk").read_text()
    entries = [(subcategory, getattr(layout, kind)[name]) for kind, name, subcategory in REPORT_ENTRY.findall(rule)]
    assert len(entries) >= 10, entries  # the pattern still matches the rule
    return entries


@pytest.mark.slow
def test_the_main_report_shows_a_caption_tasks_leaderboard_chart_and_paper_section(browser, screenshots, tmp_path):
    """Captioning is one of the tasks of the one report: a tiny caption grid through the main Snakefile, its
    `snakemake --report`, then the caption task's leaderboard, Paper vs eebench and chart as a reader clicks to them
    (offline: every chart inlines its scripts)."""
    import yaml
    from test_captioning_workflow import TINY as CAPTION_GRID
    from test_workflow import snakemake

    config = {**CAPTION_GRID, "results_dir": "captions"}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(tmp_path)
    report = tmp_path / "captions" / "report.html"
    snakemake(tmp_path, "--report", str(report))
    browser.get(report.as_uri())
    click_text(browser, "Results")
    for entry, path, expected in (
            ("1. Leaderboard", "captions/tables/shapes-captions_leaderboard.html", "CIDEr-D"),
            ("1b. Paper vs eebench", "captions/tables/shapes-captions_paper.html", "not comparable")):
        click_text(browser, entry)
        open_result(browser, path)
        browser.switch_to.frame(browser.find_element("tag name", "iframe"))
        assert wait_for(browser, f"return document.body.innerText.includes({expected!r})"), f"{path}: {expected!r}"
        browser.switch_to.default_content()
        browser.save_screenshot(str(screenshots / f"report_captions_{Path(path).stem}.png"))
        click_text(browser, "shapes-captions") if browser.find_elements(
            "xpath", "//*[normalize-space(text())='shapes-captions']") else click_text(browser, "Results")
    click_text(browser, "2. Speed-up vs metric")
    open_result(browser, "captions/plots/shapes-captions.html")
    browser.switch_to.frame(browser.find_element("tag name", "iframe"))
    assert wait_for(browser, DRAWN), "the caption task's speed-up chart draws inside the report"
    browser.switch_to.default_content()
    browser.save_screenshot(str(screenshots / "report_captions_chart.png"))
    assert not console_problems(browser)


def open_result(driver, path: str) -> None:
    """Press the eye button of the report's result `path` and wait for it to show."""
    click_text(driver, path, then="/ancestor::tr//a[@iconname='eye']")
    assert wait_for(driver, "return document.querySelector('iframe')"), f"{path} did not open in the report"


def click_text(driver, text: str, then: str = "") -> None:
    """Click the visible element whose own text is `text` (the report's menu entries), or the element the XPath
    step `then` leads to from it."""
    xpath = f"//*[normalize-space(text())='{text}']{then}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for element in driver.find_elements("xpath", xpath):
            if element.is_displayed():
                element.click()
                time.sleep(0.5)
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing to click named {text!r} in the report")
