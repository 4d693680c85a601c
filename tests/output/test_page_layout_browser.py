"""report.html and compare.html fit a 390 px phone and a 1,400 px screen: nothing sticks out sideways, every
chart is drawn at the width it has."""

import pytest

from p2p_energy.output.compare import load_runs, write_comparison
from p2p_energy.output.report import write_report
from tests.output.fake_runs import full_run, write_summary
from tests.output.grid_runs import grid_run
from tests.output.test_page_browser import DRAWN

WIDTHS = (390, 1400)

#: Every element whose box leaves the viewport sideways, unless it sits inside a declared scroll container
#: (.scroll, .scroll-x: a box that scrolls its own content) or is plotly's hidden text-measuring svg (drawn at
#: x = -10,000 on purpose); each as "tag#id.class in #chart left..right".
OVERFLOWING = """(() => {
  const width = document.documentElement.clientWidth;
  const exempt = el => el.closest('#js-plotly-tester') !== null
    || el.parentElement.closest('.scroll, .scroll-x') !== null;
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (typeof el.className === 'string' && el.className ? '.' + el.className.split(' ').join('.') : '')
    + (el.closest('.chart') ? ' in #' + el.closest('.chart').id : '');
  return [...document.body.querySelectorAll('*')].filter(el => {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) return false;
    return (box.left < -0.5 || box.right > width + 0.5) && !exempt(el);
  }).map(el => name(el) + ' ' + Math.round(el.getBoundingClientRect().left) + '..'
    + Math.round(el.getBoundingClientRect().right));
})()"""

#: Charts that do not fill the width they have, or whose plot area (inside the axes) is under 120 px: at 390 px
#: the gas chart's was 46 px before the page fitted phones (2026-12-08).
CHARTS_TOO_SMALL = """(() => [...document.querySelectorAll('.chart.js-plotly-plot')]
  .filter(el => el.querySelector('svg.main-svg').getBoundingClientRect().width
    < el.getBoundingClientRect().width - 2 || el._fullLayout._size.w < 120)
  .map(el => el.id + ' ' + Math.round(el._fullLayout._size.w)))()"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """A report like demo.toml's (8 households, 24 slots, faults), one with a network, and a comparison."""
    folder = tmp_path_factory.mktemp("layout")
    report = write_report(full_run(households=8, slots=24), folder / "report").page
    grid = write_report(grid_run(), folder / "grid").page
    write_summary(full_run(seed=3), folder / "merit")
    write_summary(full_run(households=6, seed=4), folder / "small")
    compare = write_comparison(load_runs([folder / "merit", folder / "small"]), folder / "compare.html")
    return {"report": report, "grid": grid, "compare": compare}


@pytest.fixture(
    params=[(page, width) for page in ("report", "grid", "compare") for width in WIDTHS],
    ids=lambda p: f"{p[0]}-{p[1]}px",
)
def opened(browser, pages, request):
    page, width = request.param
    browser.page.set_viewport_size({"width": width, "height": 900})
    browser.open(pages[page])
    yield page
    browser.page.set_viewport_size({"width": 1280, "height": 900})


def test_no_element_sticks_out_of_the_viewport_sideways(browser, opened):
    assert browser.errors() == []
    assert browser.evaluate(OVERFLOWING) == []
    assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_every_chart_is_drawn_across_the_width_it_has(browser, opened):
    charts = browser.evaluate("[...document.querySelectorAll('.chart:not(.chart-empty)')].map(e => e.id)")
    assert charts and all(browser.evaluate(f"{DRAWN}('{chart}')") > 0 for chart in charts)
    assert browser.evaluate(CHARTS_TOO_SMALL) == []


def test_every_row_of_the_comparison_table_shows_without_scrolling_its_box(browser, pages):
    browser.open(pages["compare"])
    box = browser.evaluate(
        "(b => [b.clientHeight, b.scrollHeight])(document.getElementById('compare-table').parentElement)"
    )
    assert box[0] >= box[1]
    assert browser.evaluate("document.querySelectorAll('#compare-table tbody tr').length") > 30


@pytest.mark.parametrize("chart", ["chart-kpis", "chart-bills"])
def test_the_comparison_page_draws_a_bar_per_run_for_the_kpis_and_bills(browser, pages, chart):
    browser.open(pages["compare"])
    assert browser.evaluate(f"{DRAWN}('{chart}')") > 0
    assert browser.evaluate(f"document.getElementById('{chart}').data.map(t => t.name)") == ["merit", "small"]


#: The household facts whose value breaks onto more lines than its label needs (a value squeezed one word per
#: line, as at 1,400 px before, 2026-12-08), each as "label: value's lines".
SQUEEZED_FACTS = """(() => [...document.querySelectorAll('#household-facts dd')]
  .map(dd => [dd.previousElementSibling.textContent, dd.getClientRects()[0].height
    / parseFloat(getComputedStyle(dd).lineHeight), dd.textContent.split(/\\s+/).length])
  .filter(([label, lines, words]) => lines > 1.5 && lines >= words - 0.5)
  .map(([label, lines]) => label + ': ' + Math.round(lines)))()"""


def test_at_1400_px_no_household_fact_is_squeezed_one_word_per_line(browser, pages):
    browser.page.set_viewport_size({"width": 1400, "height": 900})
    browser.open(pages["report"])
    assert browser.evaluate(SQUEEZED_FACTS) == []
