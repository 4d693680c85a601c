"""The report folder is whole or absent; summary.json errors name the file and the field."""

import dataclasses
import json
from pathlib import Path

import pytest

from p2p_energy.errors import UsageError
from p2p_energy.output import plots, spec_plots
from p2p_energy.output.report import CARRIED_OVER, load_report, write_report
from p2p_energy.run.resume import RUN_RECORD_FILE
from tests.output.fake_runs import full_run
from tests.run_factory import make_run


@pytest.fixture(autouse=True)
def quick_plots(monkeypatch, request):
    """The folder's files, not the plots, are under test here: draw nothing (the interruptions stay)."""
    for name in ("energy_figure", "price_figure", "balance_figure", "gas_figure", "bills_figure"):
        monkeypatch.setattr(plots, name, lambda result: None)
    monkeypatch.setattr(plots, "png", lambda figure: b"\x89PNG not drawn")
    monkeypatch.setattr(spec_plots, "spec_figure", lambda result, chart: None)


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_the_report_is_built_beside_its_folder_and_leaves_nothing_behind(tmp_path):
    write_report(make_run(), tmp_path / "demo")
    assert listing(tmp_path) == ["demo"]
    assert not [p for p in (tmp_path / "demo").iterdir() if p.name.startswith(".")]


def test_an_interrupted_first_write_leaves_no_folder(tmp_path, monkeypatch):
    def interrupted(result):
        raise KeyboardInterrupt

    monkeypatch.setattr(plots, "bills_figure", interrupted)  # the last file to be written
    with pytest.raises(KeyboardInterrupt):
        write_report(make_run(), tmp_path / "demo", png=True)
    assert listing(tmp_path) == []


def test_an_interrupted_rewrite_leaves_the_previous_report_whole(tmp_path, monkeypatch):
    files = write_report(make_run(seed=1), tmp_path / "demo")
    before = {p.name: p.read_bytes() for p in files.out_dir.iterdir()}
    monkeypatch.setattr(plots, "bills_figure", lambda result: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        write_report(make_run(seed=2), tmp_path / "demo", png=True)
    assert {p.name: p.read_bytes() for p in files.out_dir.iterdir()} == before
    assert listing(tmp_path) == ["demo"]


def test_a_new_report_replaces_the_old_folder_whole_but_keeps_the_run_record(tmp_path):
    files = write_report(make_run(seed=1), tmp_path / "demo")
    (files.out_dir / "stale.png").write_bytes(b"old")
    (files.out_dir / RUN_RECORD_FILE).write_text('{"run": 1}')
    write_report(make_run(seed=2), tmp_path / "demo")
    names = listing(files.out_dir)
    assert "stale.png" not in names
    assert (files.out_dir / RUN_RECORD_FILE).read_text() == '{"run": 1}'
    assert load_report(files.out_dir).seed == 2


def test_a_report_without_plots_replaces_one_with_plots_whole(tmp_path):
    write_report(make_run(seed=1), tmp_path / "demo", png=True)
    files = write_report(make_run(seed=2), tmp_path / "demo")
    assert listing(files.out_dir) == sorted(p.name for p in files.paths)
    assert not [name for name in listing(files.out_dir) if name.endswith(".png")]


def test_the_carried_over_file_is_the_run_record_that_resume_reads():
    assert CARRIED_OVER == (RUN_RECORD_FILE,)


def test_the_report_folder_is_readable_by_others(tmp_path):
    files = write_report(make_run(), tmp_path / "demo")
    assert files.out_dir.stat().st_mode & 0o755 == 0o755


# -- summary.json -------------------------------------------------------------------------------------


def rewrite_summary(folder, change):
    path = folder / "summary.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_a_summary_without_a_list_names_the_file_and_the_field(tmp_path):
    write_report(make_run(), tmp_path)
    rewrite_summary(tmp_path, lambda data: data.pop("trades"))
    with pytest.raises(UsageError) as caught:
        load_report(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'summary.json'}: the field 'trades' is missing")
    assert "\n" not in message and "RunResult" not in message


def test_a_summary_without_a_field_of_a_record_names_its_place(tmp_path):
    write_report(make_run(), tmp_path)
    rewrite_summary(tmp_path, lambda data: data["trades"][3].pop("wh"))
    with pytest.raises(UsageError, match=r"summary\.json: the field 'trades\[3\]\.wh' is missing"):
        load_report(tmp_path)


def test_a_summary_written_before_the_page_existed_still_loads(tmp_path):
    """Reports of format 1 from before: no scenario_facts, no per-slot household figures."""
    run = full_run()
    write_report(run, tmp_path)

    def drop_new_fields(data):
        del data["scenario_facts"]
        for household in data["households"]:
            del household["generated_wh_per_slot"], household["load_wh_per_slot"]

    rewrite_summary(tmp_path, drop_new_fields)
    old = load_report(tmp_path)
    assert old.scenario_facts is None
    assert old.households == [
        dataclasses.replace(h, generated_wh_per_slot=(), load_wh_per_slot=()) for h in run.households
    ]


def test_a_summary_written_before_bills_were_kept_still_loads(tmp_path):
    """Reports of format 1 from before the bills: no "kpis", no bills or KPIs per household or grid prices."""
    run = full_run()
    write_report(run, tmp_path)
    added = ("local_in_wh", "grid_import_wh", "grid_export_wh", "battery_losses_wh", "self_sufficiency")
    added += ("self_consumption", "local_trade_share", "peak_grid_import_kw", "bill_grid_only", "bill_with_market")
    added += ("local_paid", "local_received", "grid_fees", "grid_import_wh_per_slot", "grid_export_wh_per_slot")

    def drop_bills(data):
        del data["kpis"]
        for name in ("feed_in_tariff", "grid_fee_per_kwh", "feeder_limit_kw"):
            del data["scenario_facts"][name]
        for household in data["households"]:
            for name in added:
                del household[name]

    rewrite_summary(tmp_path, drop_bills)
    old = load_report(tmp_path)
    assert old.kpis is None and old.scenario_facts.feed_in_tariff == 0
    assert old.households[0].bill_with_market == 0 and old.households[0].self_sufficiency is None
    assert [h.name for h in old.households] == [h.name for h in run.households]


def test_a_summary_written_before_grid_flows_per_slot_still_loads(tmp_path):
    write_report(full_run(), tmp_path)

    def drop_series(data):
        for household in data["households"]:
            del household["grid_import_wh_per_slot"], household["grid_export_wh_per_slot"]

    rewrite_summary(tmp_path, drop_series)
    old = load_report(tmp_path)
    assert old.households[0].grid_import_wh_per_slot == () and old.households[0].grid_import_wh > 0


def test_the_kpis_survive_the_round_trip(tmp_path):
    run = full_run()
    write_report(run, tmp_path)
    assert load_report(tmp_path).kpis == run.kpis is not None


def test_the_scenario_facts_survive_the_round_trip(tmp_path):
    run = full_run()
    write_report(run, tmp_path)
    assert load_report(tmp_path) == run
    facts = json.loads((tmp_path / "summary.json").read_text())["scenario_facts"]
    assert facts["grid_tariff_nrg"] == "0.30000000"
    assert facts["offline_meters"] == [{"household": "house-01", "first_slot": 6, "last_slot": 11}]


def test_loading_a_summary_file_instead_of_its_folder_says_so(tmp_path):
    files = write_report(make_run(), tmp_path / "demo")
    with pytest.raises(UsageError, match=r"summary\.json is a file: pass the report folder that holds it"):
        load_report(files.summary)


def test_households_csv_leaves_out_the_per_slot_figures(tmp_path):
    files = write_report(full_run(), tmp_path)
    header = files.households_csv.read_text().splitlines()[0]
    assert "per_slot" not in header and header.startswith("name,")


def test_a_folder_of_other_things_is_never_replaced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match=r"holds other files \(notes\.txt\) and no report"):
        write_report(make_run(), tmp_path)
    assert listing(tmp_path) == ["notes.txt"]


def test_the_report_can_be_written_into_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "demo").mkdir()
    monkeypatch.chdir(tmp_path / "demo")
    write_report(make_run(seed=2), Path("."))
    assert load_report(tmp_path / "demo").seed == 2
    assert listing(tmp_path) == ["demo"]
