import csv
import dataclasses
import io
import json
import re
import struct
from decimal import Decimal

import pytest
from rich.console import Console

from p2p_energy.errors import UsageError
from p2p_energy.output.plots import price_figure
from p2p_energy.output.report import ReportError, fee_line, load_report, render_summary, write_report
from p2p_energy.records.run_records import ScenarioFacts
from tests.output.fake_runs import with_bills
from tests.run_factory import make_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A report of a small fake run, written once for the module's read-only tests."""
    result = with_bills(make_run(households=8, slots=12))
    return result, write_report(result, tmp_path_factory.mktemp("report"), png=True)


def read_csv(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def png_size(path):
    """Width and height from the PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def summarise(result, width=160):
    console = Console(file=io.StringIO(), width=width, color_system=None)
    render_summary(result, console)
    return console.file.getvalue()


# -- files --------------------------------------------------------------------------------------------


def test_a_report_draws_no_png_plots_unless_asked(tmp_path):
    files = write_report(make_run(households=4, slots=4), tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["calls.csv", "households.csv", "report.html", "slots.csv", "summary.json", "trades.csv"]
    assert sorted(p.name for p in files.paths) == names
    assert files.energy_plot is None


def test_report_with_png_writes_every_file_into_the_folder(written):
    _, files = written
    names = sorted(p.name for p in files.out_dir.iterdir())
    assert names == sorted(
        [
            "summary.json",
            "report.html",
            "trades.csv",
            "households.csv",
            "slots.csv",
            "calls.csv",
            "energy_per_slot.png",
            "price_per_slot.png",
            "household_balance.png",
            "gas_per_trade.png",
            "bills_per_household.png",
            "grid_per_slot.png",
            "battery_per_slot.png",
        ]
    )


@pytest.mark.parametrize(
    ("csv_file", "records", "first_column"),
    [
        ("trades_csv", "trades", "trade_id"),
        ("households_csv", "households", "name"),
        ("slots_csv", "slots", "slot"),
        ("calls_csv", "calls", "operation"),
    ],
)
def test_each_csv_has_a_header_and_one_row_per_record(written, csv_file, records, first_column):
    result, files = written
    rows = read_csv(getattr(files, csv_file))
    assert len(rows) == len(getattr(result, records)) > 0
    assert next(iter(rows[0])) == first_column


def test_trades_csv_names_each_trade_by_meter_slot_and_lot_index_beside_its_id(written):
    result, files = written
    rows = read_csv(files.trades_csv)
    assert [(r["trade_id"], r["meter_id"], r["chain_slot"], r["lot_index"]) for r in rows] == [
        (str(t.trade_id), str(t.meter_id), str(t.chain_slot), str(t.lot_index)) for t in result.trades
    ]


def test_trades_csv_gives_every_token_amount_also_in_nrg(written):
    _, files = written
    for row in read_csv(files.trades_csv):
        for name in ("cost", "paid", "refunded", "price_per_kwh"):
            assert Decimal(row[f"{name}_nrg"]) * 10**8 == int(row[name])


def test_households_csv_gives_each_net_balance(written):
    result, files = written
    rows = {row["name"]: row for row in read_csv(files.households_csv)}
    for h in result.households:
        assert int(rows[h.name]["net_tokens"]) == h.tokens_end - h.tokens_start


def test_households_csv_gives_each_households_bills_saving_and_kpis(written):
    result, files = written
    rows = {row["name"]: row for row in read_csv(files.households_csv)}
    for h in result.households:
        row = rows[h.name]
        assert int(row["saving"]) == int(row["bill_grid_only"]) - int(row["bill_with_market"]) == h.saving
        assert Decimal(row["bill_with_market_nrg"]) * 10**8 == h.bill_with_market
        assert float(row["local_trade_share"]) == h.local_trade_share
        assert row["self_consumption"] == ("" if h.self_consumption is None else str(h.self_consumption))


def test_summary_json_holds_the_kpis_of_the_run(written):
    result, files = written
    kpis = json.loads(files.summary.read_text())["kpis"]
    keys = ("self_sufficiency", "self_consumption", "local_trade_share", "bill_savings_vs_grid", "peak_grid_import_kw")
    keys += ("bills_with_market", "bills_grid_only", "grid_fees", "battery_losses_kwh", "feeder_limit_bound_slots")
    assert set(keys) <= set(kpis)
    assert kpis["bills_grid_only"] == sum(h.bill_grid_only for h in result.households)
    assert kpis["grid_fees_nrg"] == f"{result.kpis.grid_fees / 10**8:.8f}"


def test_summary_json_holds_the_totals_of_the_run(written):
    result, files = written
    data = json.loads(files.summary.read_text())
    totals = data["totals"]
    assert totals["trades"] == len(result.trades)
    assert totals["settled_trades"] == sum(t.outcome == "settled" for t in result.trades)
    assert totals["tokens_paid"] == sum(t.paid for t in result.trades)
    assert totals["gas"] == sum(g.gas for g in result.gas)
    assert totals["attacks_rejected"] == sum(a.rejected for a in result.attacks)


def test_summary_json_names_its_format_and_holds_every_record(written):
    result, files = written
    data = json.loads(files.summary.read_text())
    assert (data["format"], data["format_version"]) == ("p2p-energy report", 1)
    assert [len(data[key]) for key in ("slots", "households", "trades")] == [
        len(result.slots),
        len(result.households),
        len(result.trades),
    ]


def test_summary_json_puts_each_trade_on_its_own_line(written):
    result, files = written
    lines = files.summary.read_text().splitlines()
    assert sum(1 for line in lines if line.lstrip().startswith('{"trade_id"')) == len(result.trades)


@pytest.mark.parametrize("plot", ["energy_plot", "price_plot", "balance_plot", "gas_plot", "bills_plot", "grid_plot"])
def test_each_plot_is_a_real_png_of_readable_size(written, plot):
    _, files = written
    path = getattr(files, plot)
    width, height = png_size(path)
    assert width >= 800 and height >= 400
    assert path.stat().st_size > 20_000


def test_no_temporary_file_is_left_in_the_folder(written):
    _, files = written
    assert not [p for p in files.out_dir.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]


def test_the_report_reloads_equal_to_the_run(written):
    result, files = written
    assert load_report(files.out_dir) == result


def test_writing_again_replaces_the_previous_report(tmp_path):
    write_report(make_run(seed=1), tmp_path)
    second = make_run(seed=2)
    write_report(second, tmp_path)
    assert load_report(tmp_path) == second


def test_a_run_with_no_records_still_writes_a_full_report(tmp_path):
    empty = dataclasses.replace(make_run(), slots=[], households=[], trades=[], gas=[], attacks=[], checks={})
    files = write_report(empty, tmp_path, png=True)
    assert all(png_size(p) for p in files.paths if p.suffix == ".png")
    assert load_report(tmp_path) == empty


def test_a_thousand_households_fit_one_balance_plot(tmp_path):
    files = write_report(make_run(households=1_000, slots=2), tmp_path, png=True)
    width, height = png_size(files.balance_plot)
    assert height < 1_000 and width < 1_400


def price_plot_labels(result):
    ax = price_figure(result).axes[0]
    return ax.get_legend_handles_labels()[1]


def test_the_price_plot_shows_the_clearing_price_of_a_uniform_price_run():
    assert "clearing price" in price_plot_labels(make_run())


def test_the_price_plot_has_no_clearing_price_in_merit_order_mode():
    result = make_run()
    merit_order = dataclasses.replace(result, slots=[dataclasses.replace(s, clearing_price=None) for s in result.slots])
    assert "clearing price" not in price_plot_labels(merit_order)


def test_a_run_that_cannot_be_encoded_leaves_the_previous_report_untouched(tmp_path):
    files = write_report(make_run(), tmp_path)
    before = {p: p.read_bytes() for p in files.paths}
    broken = make_run(seed=2)
    broken.wall_time_s = float("nan")
    with pytest.raises(ReportError, match="no file was written"):
        write_report(broken, tmp_path)
    assert {p: p.read_bytes() for p in files.paths} == before
    assert sorted(tmp_path.iterdir()) == sorted(files.paths)


def test_writing_into_a_file_instead_of_a_folder_is_a_usage_error(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        write_report(make_run(), tmp_path / "taken")


# -- loading ------------------------------------------------------------------------------------------


def test_loading_a_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_report(tmp_path / "nowhere")


def test_loading_a_folder_without_summary_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=r"holds no summary\.json"):
        load_report(tmp_path)


def test_loading_a_summary_that_is_not_json_is_a_usage_error(tmp_path):
    (tmp_path / "summary.json").write_text('{"format": ')
    with pytest.raises(UsageError, match="is not valid JSON"):
        load_report(tmp_path)


def test_loading_json_of_another_kind_is_a_usage_error(tmp_path):
    (tmp_path / "summary.json").write_text('{"evm_version": "cancun"}')
    with pytest.raises(UsageError, match="is not a p2p-energy report"):
        load_report(tmp_path)


def test_loading_a_report_with_a_broken_record_names_the_record(tmp_path):
    write_report(make_run(), tmp_path)
    data = json.loads((tmp_path / "summary.json").read_text())
    data["households"][2]["pv_kwp"] = -3
    (tmp_path / "summary.json").write_text(json.dumps(data))
    with pytest.raises(UsageError, match=r"summary\.json: households\[2\]: .*pv_kwp"):
        load_report(tmp_path)


# -- console summary ----------------------------------------------------------------------------------


def test_summary_shows_the_trade_totals(written):
    result, _ = written
    settled = sum(t.outcome == "settled" for t in result.trades)
    out = summarise(result)
    assert f"{len(result.trades):,} ({settled:,} settled, {len(result.trades) - settled:,} refunded)" in out


def test_summary_shows_the_neighbourhoods_kpis_and_saving(written):
    result, _ = written
    kpis = result.kpis
    out = " ".join(summarise(result, width=400).split())
    assert f"self-sufficiency {kpis.self_sufficiency:.1%}, self-consumption {kpis.self_consumption:.1%}" in out
    saved = Decimal(kpis.bill_savings_vs_grid).scaleb(-8).quantize(Decimal("0.0001"))
    assert f"the market saved the neighbourhood {saved:,} NRG" in out
    assert "saving vs grid NRG" in out  # and per household, in the households table


def test_a_summary_without_kpis_has_no_kpi_lines():
    assert "self-sufficiency" not in summarise(make_run(households=4, slots=4))


def test_summary_shows_settle_gas_per_settled_trade(written):
    result, _ = written
    settled = sum(t.outcome == "settled" for t in result.trades)
    settle_gas = sum(g.gas for g in result.gas if g.operation == "closeLots")
    line = next(line for line in summarise(result).splitlines() if "closeLots only" in line)
    assert f"{settle_gas // settled:,}" in line


def test_summary_marks_a_failed_check(written):
    result, _ = written
    failing = dataclasses.replace(result, checks={"escrow balance equals locked plus credited": False})
    line = next(line for line in summarise(failing).splitlines() if "escrow balance" in line)
    assert "FAILED" in line


def test_summary_lists_top_and_bottom_households_of_a_large_run():
    result = make_run(households=30, slots=6)
    ranked = sorted(result.households, key=lambda h: h.tokens_end - h.tokens_start)
    out = summarise(result)
    assert ranked[0].name in out and ranked[-1].name in out
    assert "top 5 gains and top 5 payments of 30" in out


def test_a_run_that_paid_gas_reports_its_fees_in_the_chains_coin():
    result = make_run(households=4, slots=4)
    result.gas_price, result.fee_currency, result.fee_decimals = 40, "QTUM", 8
    totals = result.totals()
    line = fee_line(result, totals)
    expected = Decimal(totals.gas * 40) / 10**8
    assert line.startswith(f"chain fee at 40 per gas: {expected:.8f} QTUM in all")
    assert f"{expected * 1000 / totals.traded_wh:.8f} QTUM per kWh traded" in line


def test_a_run_on_free_gas_reports_its_fees_at_qtums_minimum_gas_price_and_says_so():
    result = make_run(households=4, slots=4)
    totals = result.totals()
    expected = Decimal(totals.gas * 40) / 10**8
    line = fee_line(result, totals)
    assert line.startswith(f"chain fee at 40 per gas (Qtum's minimum; this chain's gas was free): {expected:.8f} QTUM")


def test_the_fee_is_told_as_a_share_of_the_value_traded_at_the_scenarios_coin_price():
    result = make_run(households=4, slots=4)
    assert result.scenario_facts is None or result.scenario_facts.coin_price is None
    result.scenario_facts = facts_with_coin_price(result, 2 * 10**8)  # 1 QTUM = 2 NRG
    totals = result.totals()
    fee_nrg = Decimal(totals.gas * 40) / 10**8 * 2
    share = fee_nrg / (Decimal(totals.tokens_escrowed) / 10**8)
    assert result.fees(totals).share_of_value == share
    assert f"{share:.1%} of the value traded" in fee_line(result, totals)


def test_without_a_coin_price_the_share_is_not_told():
    result = make_run(households=4, slots=4)
    assert result.fees(result.totals()).share_of_value is None
    assert "of the value traded" not in fee_line(result, result.totals())


def facts_with_coin_price(result, coin_price):
    base = result.scenario_facts or ScenarioFacts("", "merit", 900, 30_000_000, 10_000_000, 20_000_000, 10**10)
    return dataclasses.replace(base, coin_price=coin_price)


# A run's timings as loop.run_simulation records them (city-day's, rounded): phases that follow one
# another, then the sending path, spent inside set-up, trading and withdrawing (receipts inside mining).
CITY_TIMINGS = {
    "planning": 0.14,
    "setup": 1.20,
    "trading": 23.83,
    "withdrawing": 0.53,
    "checking": 0.95,
    "signing": 1.67,
    "sending": 7.20,
    "mining and waiting": 13.10,
    "receipts": 5.38,
}
TIMED_ROW = re.compile(r"│( *)(\S[^│]*?) *│ ([\d,.]+) s *│")


def run_table_times(result):
    """(indent, label, seconds) of each row of the summary's run table that gives a time."""
    rows = [TIMED_ROW.match(line) for line in summarise(result).splitlines()]
    return [(len(m.group(1)), m.group(2), float(m.group(3).replace(",", ""))) for m in rows if m]


def city_run():
    result = make_run(households=2, slots=2)
    result.wall_time_s, result.timings = 26.85, dict(CITY_TIMINGS)
    return result


def test_the_lines_under_the_wall_time_add_up_to_it():
    rows = run_table_times(city_run())
    start = next(i for i, (_, label, _) in enumerate(rows) if label == "wall time")
    indent = rows[start][0]
    under = []
    for row_indent, _, seconds in rows[start + 1 :]:
        if row_indent <= indent:
            break
        under.append(seconds)
    assert sum(under) == pytest.approx(26.85, abs=0.02)


def test_the_sending_path_is_shown_as_a_part_of_the_phases_with_receipts_inside_mining():
    rows = run_table_times(city_run())
    labels = [label for _, label, _ in rows]
    heading = labels.index("sending path (inside phases)")
    assert labels[heading + 1 :] == ["signing", "sending", "mining and waiting", "of which receipts"]
    assert rows[heading][2] == pytest.approx(1.67 + 7.20 + 13.10)


def test_the_checks_line_of_a_run_without_trades_says_no_trade_was_made():
    result = make_run()
    result = dataclasses.replace(result, trades=[])
    assert re.search(r"checks: \d+ of \d+ passed; no trade was made *\n", summarise(result))


def test_the_checks_line_of_a_run_with_trades_names_no_empty_market():
    assert "no trade was made" not in summarise(make_run())
