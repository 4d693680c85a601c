import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p_energy.limits import trade_id
from p2p_energy.records.bill_records import KpiRecord
from p2p_energy.records.run_records import (
    OUTCOMES,
    AttackRecord,
    GasRecord,
    HouseholdRecord,
    RunResult,
    SlotRecord,
    TradeRecord,
)
from tests.output.fake_runs import with_bills
from tests.run_factory import make_run

NRG = 10**8


def trade(trade_id=0, slot=0, wh=1_000, price=25 * NRG // 100, paid=None, outcome="settled", seller="0xs", buyer="0xb"):
    cost = -(-wh * price // 1000)
    paid = cost if paid is None else paid
    return TradeRecord(trade_id, slot, 100 + slot, 1, seller, buyer, wh, price, cost, paid, cost - paid, outcome)


def slot(number=0, generated=0, load=0, offered=0, traded=0, delivered=0, trades=0, settled=0, refunded=0):
    return SlotRecord(
        number,
        100 + number,
        "12:00",
        generated,
        load,
        offered,
        traded,
        delivered,
        trades,
        settled,
        refunded,
        None,
        None,
    )


def household(name="h", tokens_start=0, tokens_end=0, pv_kwp=0.0, sold=0, bought=0, address=None):
    return HouseholdRecord(
        name, address or f"0x{name}", None, pv_kwp, 0, 0, 0, 0, 0, sold, bought, 0, tokens_start, tokens_end
    )


def run(**records) -> RunResult:
    return RunResult("hand", 1, 31337, "cancun", "http://127.0.0.1:8545", {}, "2026-11-25T09:00:00", 1.0, **records)


# -- totals -------------------------------------------------------------------------------------------


def test_totals_count_settled_and_refunded_trades():
    totals = run(trades=[trade(0), trade(1, paid=0, outcome="refunded"), trade(2)]).totals()
    assert (totals.trades, totals.settled_trades, totals.refunded_trades) == (3, 2, 1)


def test_totals_add_up_money_from_the_trades():
    # 1 kWh at 0.25 NRG costs 25,000,000; the second pays 10,000,000 and refunds 15,000,000.
    totals = run(trades=[trade(0), trade(1, paid=10_000_000)]).totals()
    assert (totals.tokens_escrowed, totals.tokens_paid, totals.tokens_refunded) == (50_000_000, 35_000_000, 15_000_000)


def test_totals_take_energy_from_the_slot_records():
    totals = run(slots=[slot(0, 10, 20, 30, 40, 35), slot(1, 1, 2, 3, 4, 3)]).totals()
    assert (totals.generated_wh, totals.load_wh, totals.offered_wh, totals.delivered_wh) == (11, 22, 33, 38)


def test_traded_energy_is_the_sum_of_the_trades():
    assert run(trades=[trade(0, wh=700), trade(1, wh=300)]).totals().traded_wh == 1_000


def test_mean_price_is_weighted_by_volume():
    # (1,000 Wh x 20 + 3,000 Wh x 40) / 4,000 Wh = 35
    totals = run(trades=[trade(0, wh=1_000, price=20), trade(1, wh=3_000, price=40)]).totals()
    assert totals.mean_price_per_kwh == 35


def test_mean_price_is_none_without_trades():
    assert run().totals().mean_price_per_kwh is None


def test_gas_records_of_one_operation_are_summed():
    totals = run(gas=[GasRecord("settleLots", 1, 100), GasRecord("settleLots", 2, 50)]).totals()
    assert totals.gas_per_operation == {"settleLots": 150}
    assert totals.transactions_per_operation == {"settleLots": 3}


def test_gas_per_settled_trade_is_given_four_ways():
    gas = [
        GasRecord("deploy", 1, 1_000),
        GasRecord("mint", 2, 200),
        GasRecord("postOffer", 2, 400),
        GasRecord("submitReadings", 1, 300),
        GasRecord("settleLots", 1, 800),
    ]
    trades = [trade(i) for i in range(4)] + [trade(4, paid=0, outcome="refunded")]
    totals = run(trades=trades, gas=gas).totals()
    assert totals.settle_gas_per_settled_trade == 800 // 4
    assert totals.settlement_gas_per_settled_trade == (800 + 300) // 4
    assert totals.trading_gas_per_settled_trade == (400 + 300 + 800) // 4
    assert totals.all_gas_per_settled_trade == 2_700 // 4


def test_gas_per_settled_trade_is_none_when_nothing_settled():
    totals = run(trades=[trade(0, paid=0, outcome="refunded")], gas=[GasRecord("settleLots", 1, 800)]).totals()
    assert totals.settle_gas_per_settled_trade is None and totals.all_gas_per_settled_trade is None


def test_totals_count_rejected_attacks_and_failed_checks():
    attacks = [AttackRecord("forged", 3, 3, ("InvalidSignature",)), AttackRecord("replay", 2, 1)]
    totals = run(attacks=attacks, checks={"a": True, "b": False, "c": True}).totals()
    assert (totals.attacks_submitted, totals.attacks_rejected) == (5, 4)
    assert (totals.checks_passed, totals.checks_failed) == (2, ("b",))


def test_net_tokens_is_end_minus_start_balance():
    assert household(tokens_start=500, tokens_end=200).net_tokens == -300


# -- validation ---------------------------------------------------------------------------------------


def test_negative_pv_kwp_is_rejected_with_the_field_named():
    with pytest.raises(ValueError, match="pv_kwp"):
        household(pv_kwp=-1.0)


def test_a_trade_whose_paid_and_refunded_miss_its_cost_is_rejected():
    with pytest.raises(ValueError, match="must equal cost"):
        TradeRecord(1, 0, 0, 1, "s", "b", 1_000, 10, 10, 6, 5, "settled")


def test_an_unknown_trade_outcome_is_rejected():
    with pytest.raises(ValueError, match="outcome must be one of"):
        trade(outcome="pending")


def test_a_refunded_trade_that_paid_the_seller_is_rejected():
    with pytest.raises(ValueError, match="refunded in full"):
        trade(paid=1, outcome="refunded")


@pytest.mark.parametrize("start_time", ["24:00", "9:00", "12:60", "noon"])
def test_slot_start_time_must_be_hh_mm(start_time):
    with pytest.raises(ValueError, match="HH:MM"):
        dataclasses.replace(slot(), start_time=start_time)


def test_a_slot_closing_more_trades_than_it_has_is_rejected():
    with pytest.raises(ValueError, match="exceed its 1 trades"):
        slot(trades=1, settled=1, refunded=1)


def test_more_rejected_than_submitted_attacks_is_rejected():
    with pytest.raises(ValueError, match="2 rejected of only 1 submitted"):
        AttackRecord("forged", 1, 2)


def test_a_negative_wall_time_is_rejected():
    with pytest.raises(ValueError, match="wall_time_s"):
        dataclasses.replace(run(), wall_time_s=-1.0)


# -- consistency checks -------------------------------------------------------------------------------


def test_a_consistent_run_passes_every_consistency_check():
    assert all(make_run().consistency_checks().values())


def test_a_slot_record_that_miscounts_its_trades_fails_a_consistency_check():
    result = make_run()
    busy = next(i for i, s in enumerate(result.slots) if s.trades)
    result.slots[busy] = dataclasses.replace(result.slots[busy], trades=result.slots[busy].trades + 1)
    assert result.consistency_checks()["slot records count every trade"] is False


def test_a_household_that_misreports_its_sales_fails_a_consistency_check():
    result = run(trades=[trade(0, seller="0xa")], households=[household("a", sold=999)])
    assert result.consistency_checks()["households' sold energy matches their trades"] is False


def test_a_run_with_bills_passes_the_checks_that_they_add_up():
    checks = with_bills(make_run()).consistency_checks()
    assert "households' bills add up to the neighbourhood's" in checks and all(checks.values())


def test_a_run_without_bills_has_no_bill_checks():
    assert not [name for name in make_run().consistency_checks() if "bills" in name]


def test_a_household_that_misreports_its_bill_fails_a_consistency_check():
    result = with_bills(make_run())
    first = dataclasses.replace(result.households[0], bill_with_market=result.households[0].bill_with_market + 1)
    result = dataclasses.replace(result, households=[first, *result.households[1:]])
    assert result.consistency_checks()["households' bills add up to the neighbourhood's"] is False


def test_buyers_who_paid_more_than_sellers_received_fail_a_consistency_check():
    result = with_bills(make_run())
    first = dataclasses.replace(result.households[0], local_paid=result.households[0].local_paid + 1)
    result = dataclasses.replace(result, households=[first, *result.households[1:]])
    checks = result.consistency_checks()
    assert checks["buyers paid for local energy what the trades paid sellers"] is False
    assert checks["buyers' payments incl. grid fees equal sellers' receipts plus grid fees"] is False


def test_a_share_above_one_is_rejected_with_the_field_named():
    kpis = with_bills(make_run()).kpis
    with pytest.raises(ValueError, match=r"KpiRecord\.self_sufficiency must be a share in \[0, 1\]"):
        dataclasses.replace(kpis, self_sufficiency=1.01)


def test_a_households_saving_is_its_grid_only_bill_minus_its_bill_with_the_market():
    home = dataclasses.replace(household(), bill_grid_only=500, bill_with_market=-200)
    assert home.saving == 700


# -- JSON ---------------------------------------------------------------------------------------------


def test_json_round_trip_restores_the_run():
    result = make_run()
    assert RunResult.from_json(json.loads(json.dumps(result.to_json()))) == result


def test_json_gives_token_amounts_also_as_nrg_strings():
    data = run(trades=[trade(0, paid=10_000_000)]).to_json()
    assert data["trades"][0]["paid_nrg"] == "0.10000000"
    assert data["totals"]["tokens_refunded_nrg"] == "0.15000000"


def test_json_gives_each_households_net_balance():
    data = run(households=[household(tokens_start=300, tokens_end=100)]).to_json()
    assert (data["households"][0]["net_tokens"], data["households"][0]["net_tokens_nrg"]) == (-200, "-0.00000200")


def test_json_gives_the_kpis_with_money_also_in_nrg():
    result = with_bills(make_run())
    kpis = result.to_json()["kpis"]
    assert kpis["bill_savings_vs_grid"] == kpis["bills_grid_only"] - kpis["bills_with_market"]
    assert kpis["bill_savings_vs_grid_nrg"] == f"{kpis['bill_savings_vs_grid'] / NRG:.8f}"
    assert {"self_sufficiency", "self_consumption", "local_trade_share", "peak_grid_import_kw"} <= set(kpis)
    assert RunResult.from_json(json.loads(json.dumps(result.to_json()))) == result


def test_json_gives_each_trade_id_as_a_string_of_its_digits():
    big = 2**96 + 2**32 + 1  # meter 1, slot 1, trade 1: above 2**53
    assert run(trades=[trade(big)]).to_json()["trades"][0]["trade_id"] == str(big)


def test_a_trades_lot_index_is_its_number_in_its_lot():
    assert trade(trade_id(7, 1_000, 3)).lot_index == 3


def test_json_gives_each_trades_lot_index_beside_its_id():
    assert run(trades=[trade(trade_id(7, 1_000, 3))]).to_json()["trades"][0]["lot_index"] == 3


def test_a_trade_id_read_back_from_its_string_is_the_same_integer():
    big = 2**96 + 2**32 + 1
    assert RunResult.from_json(json.loads(json.dumps(run(trades=[trade(big)]).to_json()))).trades[0].trade_id == big


def test_a_report_written_when_trade_ids_were_numbers_still_loads():
    data = make_run().to_json()
    for record in data["trades"]:
        record["trade_id"] = int(record["trade_id"])
    assert RunResult.from_json(data) == make_run()


def test_from_json_rejects_a_trade_id_that_is_no_string_of_digits():
    data = make_run().to_json()
    data["trades"][2]["trade_id"] = "12e3"
    with pytest.raises(ValueError, match=r"RunResult\.trades\[2\]\.trade_id: expected an id \(a string of digits"):
        RunResult.from_json(data)


def test_a_run_written_before_transactions_were_kept_loads_without_them():
    data = make_run().to_json()
    del data["calls"]
    for record in data["trades"]:
        for name in ("tx_hash", "block", "close_tx_hash", "close_block"):
            del record[name]
    old = RunResult.from_json(data)
    assert (old.calls, old.trades[0].tx_hash, old.trades[0].block) == ([], "", 0)


def test_a_run_written_before_bills_loads_without_them():
    data = with_bills(make_run()).to_json()
    del data["kpis"]
    for home in data["households"]:
        for name in ("bill_grid_only", "bill_with_market", "self_sufficiency", "local_in_wh", "grid_fees"):
            del home[name]
    old = RunResult.from_json(data)
    assert old.kpis is None
    assert (old.households[0].bill_grid_only, old.households[0].self_sufficiency) == (0, None)


def test_from_json_names_a_missing_field():
    data = make_run().to_json()
    del data["trades"][3]["wh"]
    with pytest.raises(ValueError, match=r"RunResult.trades\[3\]: missing field 'wh'"):
        RunResult.from_json(data)


def test_from_json_rejects_a_string_where_an_integer_belongs():
    data = make_run().to_json()
    data["seed"] = "7"
    with pytest.raises(ValueError, match=r"RunResult\.seed: expected int, got string"):
        RunResult.from_json(data)


def test_from_json_rejects_a_boolean_where_an_integer_belongs():
    data = make_run().to_json()
    data["slots"][0]["trades"] = True
    with pytest.raises(ValueError, match="expected int, got boolean"):
        RunResult.from_json(data)


def test_from_json_reports_a_broken_invariant_with_its_place():
    data = run(trades=[trade(0)]).to_json()
    data["trades"][0]["paid"] += 1
    with pytest.raises(ValueError, match=r"RunResult.trades\[0\]: .*must equal cost"):
        RunResult.from_json(data)


amounts = st.integers(min_value=0, max_value=2**80)
texts = st.text(max_size=12)
seconds = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def trades(draw):
    cost, outcome = draw(amounts), draw(st.sampled_from(OUTCOMES))
    paid = 0 if outcome == "refunded" else draw(st.integers(min_value=0, max_value=cost))
    fields = [draw(amounts) for _ in range(4)] + [draw(texts), draw(texts), draw(amounts), draw(amounts)]
    return TradeRecord(*fields, cost=cost, paid=paid, refunded=cost - paid, outcome=outcome)


@st.composite
def slots(draw):
    counts = sorted(draw(st.lists(st.integers(min_value=0, max_value=10**6), min_size=3, max_size=3)))
    settled = draw(st.integers(min_value=0, max_value=counts[0]))
    return SlotRecord(
        *[draw(amounts) for _ in range(2)],
        start_time=f"{draw(st.integers(0, 23)):02d}:{draw(st.integers(0, 59)):02d}",
        generated_wh=draw(amounts),
        load_wh=draw(amounts),
        offered_wh=draw(amounts),
        traded_wh=draw(amounts),
        delivered_wh=draw(amounts),
        trades=counts[2],
        settled_trades=settled,
        refunded_trades=counts[0] - settled,
        clearing_price=draw(st.none() | amounts),
        mean_price=draw(st.none() | amounts),
    )


households = st.builds(
    HouseholdRecord,
    name=texts,
    address=texts,
    meter_id=st.none() | amounts,
    pv_kwp=st.floats(min_value=0, max_value=1e4, allow_nan=False, allow_infinity=False),
    **{name: amounts for name in ("generated_wh", "load_wh", "exported_wh", "imported_wh", "offered_wh")},
    **{name: amounts for name in ("sold_wh", "bought_wh", "delivered_wh", "tokens_start", "tokens_end")},
)


shares = st.none() | st.floats(min_value=0, max_value=1)
positive = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
kpi_records = st.builds(
    KpiRecord,
    **{name: shares for name in ("self_sufficiency", "self_consumption", "local_trade_share")},
    **{name: positive for name in ("peak_grid_import_kw", "battery_losses_kwh")},
    **{name: st.integers(-(2**80), 2**80) for name in ("bills_grid_only", "bills_with_market")},
    **{name: amounts for name in ("grid_fees", "local_paid", "local_received", "feeder_limit_bound_slots")},
    **{name: amounts for name in ("load_wh", "generated_wh", "grid_import_wh", "grid_export_wh", "local_wh")},
)


@st.composite
def attacks(draw):
    submitted = draw(amounts)
    return AttackRecord(draw(texts), submitted, draw(st.integers(0, submitted)), tuple(draw(st.lists(texts))))


runs = st.builds(
    RunResult,
    scenario=texts,
    seed=amounts,
    chain_id=amounts,
    evm_version=texts,
    rpc_url=texts,
    deployment=st.dictionaries(texts, texts, max_size=3),
    started_at=texts,
    wall_time_s=seconds,
    timings=st.dictionaries(texts, seconds, max_size=3),
    slots=st.lists(slots(), max_size=3),
    households=st.lists(households, max_size=3),
    trades=st.lists(trades(), max_size=4),
    gas=st.lists(st.builds(GasRecord, operation=texts, transactions=amounts, gas=amounts), max_size=3),
    attacks=st.lists(attacks(), max_size=2),
    checks=st.dictionaries(texts, st.booleans(), max_size=3),
    kpis=st.none() | kpi_records,
)


@settings(database=None, deadline=None, max_examples=60)
@given(result=runs)
def test_any_run_survives_a_json_round_trip(result):
    assert RunResult.from_json(json.loads(json.dumps(result.to_json(), allow_nan=False))) == result


@settings(database=None, deadline=None, max_examples=60)
@given(result=runs)
def test_paid_and_refunded_totals_add_up_to_the_escrowed_tokens(result):
    totals = result.totals()
    assert totals.tokens_paid + totals.tokens_refunded == totals.tokens_escrowed


@settings(database=None, deadline=None, max_examples=60)
@given(result=runs)
def test_the_refunded_trades_total_counts_the_trades_refunded_in_full(result):
    assert result.totals().refunded_trades == sum(1 for trade in result.trades if trade.outcome == "refunded")
