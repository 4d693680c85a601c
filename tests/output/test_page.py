"""report.html without a browser: self-contained, escaped, its data from the RunResult."""

import dataclasses
import json
import re
from html import unescape

import pytest

from p2p_energy.limits import trade_id
from p2p_energy.output import page
from p2p_energy.output.page import page_data, render_page
from p2p_energy.output.report import write_report
from tests.output.fake_runs import full_run
from tests.run_factory import make_run

RUN = full_run()
NETWORK = re.compile(r"^(https?:)?//", re.IGNORECASE)


def embedded_data(html):
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.DOTALL)
    return json.loads(found.group(1))


@pytest.fixture(scope="module")
def html():
    return render_page(RUN)


def test_every_report_folder_has_its_page(tmp_path):
    files = write_report(make_run(), tmp_path)
    assert files.page.name == "report.html"
    assert files.page.read_text().startswith("<!DOCTYPE html>")


def test_the_page_loads_no_script_style_or_font_from_anywhere(html):
    assert not re.search(r"<script[^>]*\ssrc\s*=", html, re.IGNORECASE)
    assert not re.search(r"<link[^>]*>", html, re.IGNORECASE)
    assert not re.search(r"@import", html, re.IGNORECASE)
    for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", html):
        assert not NETWORK.match(url), url


def test_the_page_inlines_plotlys_basic_bundle_from_npm(html):
    assert page.plotly_js() in html
    assert "plotly.js (basic - minified)" in page.plotly_js()[:300]
    assert re.fullmatch(r"\d+\.\d+\.\d+", page.plotly_js_version())


def test_a_page_of_demo_size_stays_within_one_and_a_half_megabytes():
    """demo.toml: 20 households, 24 slots, about 350 trades (its report.html was 4.9 MB with plotly.js whole)."""
    demo_sized = full_run(households=20, slots=24)
    assert len(demo_sized.trades) > 300
    assert len(render_page(demo_sized).encode()) <= 1_500_000


def test_the_pages_data_comes_from_the_run(html):
    data = embedded_data(html)
    assert data["slots"]["traded_wh"] == [s.traded_wh for s in RUN.slots]
    assert data["households"]["name"] == [h.name for h in RUN.households]
    assert data["trades"]["total"] == len(RUN.trades) == len(data["trades"]["wh"])
    assert data["facts"]["grid_tariff"] == RUN.scenario_facts.grid_tariff
    assert data["facts"]["offline"] == [["house-01", 6, 11]]
    sold = {h.name: h.sold_wh for h in RUN.households}
    per_slot = zip(data["households"]["name"], data["households"]["sold_by_slot"], strict=True)
    assert {name: sum(slots[1::2]) for name, slots in per_slot} == sold


def test_summary_figures_on_the_page_are_the_run_totals(html):
    totals = RUN.totals().to_json()
    shown = dict(re.findall(r'data-total="([a-z_]+)" data-value="([^"]*)"', html))
    assert len(shown) >= 15
    for key, value in shown.items():
        if value:
            assert json.loads(value) == totals[key], key


def test_kpi_figures_on_the_page_are_the_runs_kpis(html):
    kpis = RUN.to_json()["kpis"]
    shown = dict(re.findall(r'data-kpi="([a-z_]+)" data-value="([^"]*)"', html))
    assert {"self_sufficiency", "bill_savings_vs_grid", "bills_with_market", "feeder_limit_bound_slots"} <= set(shown)
    assert {key: json.loads(value) for key, value in shown.items()} == {key: kpis[key] for key in shown}


def test_the_pages_bills_are_each_households_in_base_units(html):
    bills = embedded_data(html)["bills"]
    assert bills["saving"] == [h.saving for h in RUN.households]
    assert bills["bill_grid_only"] == [h.bill_grid_only for h in RUN.households]
    assert bills["self_sufficiency"] == [h.self_sufficiency for h in RUN.households]


def test_a_report_written_before_bills_says_so_and_embeds_none():
    text = render_page(dataclasses.replace(RUN, kpis=None))
    assert embedded_data(text)["bills"] is None
    assert "written before bills and KPIs were kept" in text and "data-kpi" not in text


def test_a_hostile_household_name_cannot_break_out_of_the_page():
    name = '</script><script>alert("x")</script><b>'
    run = make_run(households=4, slots=4)
    households = [dataclasses.replace(run.households[0], name=name), *run.households[1:]]
    trades = [
        dataclasses.replace(t, seller=name if t.seller == run.households[0].name else t.seller) for t in run.trades
    ]
    text = render_page(dataclasses.replace(run, households=households, trades=trades))
    assert name not in text
    assert embedded_data(text)["households"]["name"][0] == name


def test_a_large_run_embeds_at_most_the_cap_of_trades_and_says_so(monkeypatch):
    monkeypatch.setattr(page, "MAX_PAGE_TRADES", 10)
    text = render_page(RUN)
    assert len(embedded_data(text)["trades"]["wh"]) == 10
    assert f"the first 10 of {len(RUN.trades):,} trades" in text
    households = embedded_data(text)["households"]  # the household view still counts every trade
    assert sum(sum(v[1::2]) for v in households["sold_by_slot"]) == sum(t.wh for t in RUN.trades)


def test_trade_ids_of_the_escrow_layout_are_sent_as_their_index():
    """Ids above 2**53 do not survive JavaScript numbers: the page rebuilds them from meter, slot and index."""
    meters = {h.name: h.meter_id for h in RUN.households}
    trades = [
        dataclasses.replace(t, trade_id=trade_id(meters[t.seller], t.chain_slot, i), meter_id=meters[t.seller])
        for i, t in enumerate(RUN.trades)
    ]
    data = page_data(dataclasses.replace(RUN, trades=trades))["trades"]
    assert data["id_by_layout"] is True
    assert data["id"] == list(range(len(trades)))
    assert page_data(RUN)["trades"]["id"][:2] == ["0", "1"]  # other ids: as strings


def test_a_run_without_scenario_facts_or_series_still_renders():
    old = dataclasses.replace(make_run(), scenario_facts=None)
    data = embedded_data(render_page(old))
    assert data["facts"] is None and data["households"]["generated_series"] is None


def test_without_chromium_a_browser_test_skips_but_fails_under_ci(monkeypatch):
    from tests.output import chromium

    monkeypatch.setattr(chromium.shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium not found on PATH"):
        chromium.find_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must install it"):
        chromium.find_chromium()


def test_the_pages_times_under_the_wall_time_add_up_to_it_and_the_sending_path_stands_apart():
    timings = {"planning": 0.1, "setup": 1.0, "trading": 20.0, "checking": 0.9}
    timings |= {"signing": 1.5, "sending": 7.0, "mining and waiting": 9.0, "receipts": 4.0}
    run = dataclasses.replace(make_run(), wall_time_s=22.5, timings=timings)
    rows = re.findall(r"<tr><td>((?:&nbsp;)*)([^<]+)</td><td>([\d,.]+) s</td></tr>", render_page(run))
    times = [(len(indent) // len("&nbsp;"), label, float(seconds)) for indent, label, seconds in rows]
    assert times == [
        (0, "wall time", 22.5),
        (2, "planning", 0.1),
        (2, "setup", 1.0),
        (2, "trading", 20.0),
        (2, "checking", 0.9),
        (2, "other", 0.5),
        (0, "sending path (inside phases)", 17.5),
        (2, "signing", 1.5),
        (2, "sending", 7.0),
        (2, "mining and waiting", 9.0),
        (4, "of which receipts", 4.0),
    ]


def test_fee_figures_on_the_page_are_the_runs_fees(html):
    fees = RUN.fees(RUN.totals()).to_json()
    shown = dict(re.findall(r'data-fee="([a-z_]+)" data-value="([^"]*)"', html))
    assert "per_kwh_traded" in shown
    for key, value in shown.items():
        assert json.loads(unescape(value)) == fees[key], key
