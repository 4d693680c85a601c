"""Every kind of bad scenario file is refused with the file, the field and what is allowed."""

import pytest

from p2p_energy.domain.scenario import MAX_WINDOW_SLOTS, ScenarioError, load_scenario
from p2p_energy.errors import UsageError

TOP = "seed = 1\nslots = 4\n"
HOUSEHOLDS = """
[[households]]
name = "solar"
count = 2
pv_kwp = 5.0
load_kwh_per_day = 8.0

[[households]]
name = "home"
load_kwh_per_day = 6.0
"""


@pytest.fixture
def load(tmp_path):
    """Write a scenario (top-level keys, households, then any tables) to bad.toml and load it."""

    def load(top: str = TOP, households: str = HOUSEHOLDS, tables: str = ""):
        path = tmp_path / "bad.toml"
        path.write_text(top + households + tables)
        return load_scenario(path)

    return load


def error_of(load, **parts) -> str:
    with pytest.raises(ScenarioError) as caught:
        load(**parts)
    return str(caught.value)


def test_the_base_file_of_these_tests_is_valid(load):
    assert load().household_names == ("solar-001", "solar-002", "home")


def test_a_scenario_error_is_a_usage_error_so_the_cli_exits_with_2(load):
    with pytest.raises(UsageError):
        load(top="seed = 1\n")


def test_negative_pv_kwp_is_rejected_with_the_field_named(load, tmp_path):
    message = error_of(load, households=HOUSEHOLDS.replace("pv_kwp = 5.0", "pv_kwp = -3"))
    assert message.startswith(f"{tmp_path / 'bad.toml'}: households[0].pv_kwp: -3 is negative; allowed: a number >= 0")


def test_the_index_names_the_group_that_is_wrong(load):
    households = HOUSEHOLDS + '\n[[households]]\nname = "late"\npv_kwp = -1\nload_kwh_per_day = 3\n'
    assert "households[2].pv_kwp: -1 is negative" in error_of(load, households=households)


def test_zero_daily_load_is_rejected_as_zero(load):
    message = error_of(load, households=HOUSEHOLDS.replace("load_kwh_per_day = 6.0", "load_kwh_per_day = 0"))
    assert "households[1].load_kwh_per_day: 0 is zero; allowed: a number > 0" in message


def test_a_missing_daily_load_is_reported_as_missing(load):
    message = error_of(load, households=HOUSEHOLDS.replace("load_kwh_per_day = 6.0", ""))
    assert "households[1].load_kwh_per_day: missing" in message


def test_a_reversed_range_is_rejected(load):
    message = error_of(load, households=HOUSEHOLDS.replace("pv_kwp = 5.0", "pv_kwp = [8.0, 3.0]"))
    assert "households[0].pv_kwp: [8.0, 3.0] is not a range (low > high)" in message


def test_a_range_of_three_numbers_is_rejected(load):
    message = error_of(load, households=HOUSEHOLDS.replace("pv_kwp = 5.0", "pv_kwp = [1, 2, 3]"))
    assert "households[0].pv_kwp: [1, 2, 3] has 3 items, not 2" in message


def test_an_unknown_top_level_key_is_named_with_the_allowed_keys(load):
    message = error_of(load, top=TOP + "colour = 'green'\n")
    assert "bad.toml: colour: unknown key; allowed: name, description, seed, slots," in message


def test_an_unknown_household_key_is_named_with_the_allowed_keys(load):
    message = error_of(load, households=HOUSEHOLDS.replace("count = 2", "count = 2\nbattery_kwh = 5"))
    assert "households[0].battery_kwh: unknown key; allowed: name, count, pv_kwp, load_kwh_per_day, ev" in message


@pytest.mark.parametrize("section", ["prices", "market", "chain", "weather", "forecast", "faults", "faults.attacker"])
def test_an_unknown_key_in_any_table_is_rejected(load, section):
    assert f"{section}.typo: unknown key; allowed: " in error_of(load, tables=f"\n[{section}]\ntypo = 1\n")


def test_an_unknown_key_in_an_ev_table_is_rejected(load):
    households = HOUSEHOLDS + "ev = { share = 0.5, kwh = 10 }\n"
    assert "households[1].ev.kwh: unknown key; allowed: share, kwh_per_session" in error_of(load, households=households)


def test_a_string_where_an_integer_belongs_is_rejected_with_its_type(load):
    message = error_of(load, top='seed = 1\nslots = "four"\n')
    assert 'slots: "four" is a string, not an integer; allowed: an integer >= 1 and <= 2880' in message


def test_a_boolean_is_not_taken_for_a_number(load):
    message = error_of(load, households=HOUSEHOLDS.replace("pv_kwp = 5.0", "pv_kwp = true"))
    assert "households[0].pv_kwp: true is a boolean, not a number" in message


def test_a_table_where_a_number_belongs_is_rejected(load):
    message = error_of(load, households=HOUSEHOLDS.replace("pv_kwp = 5.0", "pv_kwp = { kwp = 5 }"))
    assert 'households[0].pv_kwp: {"kwp": 5} is a table, not a number' in message


def test_a_missing_seed_is_reported(load):
    assert "bad.toml: seed: missing; allowed: an integer >= 0" in error_of(load, top="slots = 4\n")


def test_a_scenario_without_households_is_rejected(load):
    assert "households: missing; allowed: an array of tables ([[households]])" in error_of(load, households="")


def test_a_scenario_without_any_pv_has_no_sellers_and_is_rejected(load):
    message = error_of(load, households=HOUSEHOLDS.replace("pv_kwp = 5.0", "pv_kwp = 0"))
    assert "bad.toml: households: no household has PV (pv_kwp > 0), so nobody can sell" in message


def test_duplicate_household_names_are_rejected(load):
    households = HOUSEHOLDS + '\n[[households]]\nname = "solar-002"\nload_kwh_per_day = 3\n'
    assert "households[2].name: household 'solar-002' is also made by households[0]" in error_of(
        load, households=households
    )


def test_a_household_name_with_spaces_is_rejected(load):
    message = error_of(load, households=HOUSEHOLDS.replace('"home"', '"my home"'))
    assert 'households[1].name: "my home" is not a valid name; allowed: 1-40 letters, digits' in message


@pytest.mark.parametrize(("slots", "problem"), [(0, "0 is below 1"), (2881, "2881 is above 2880")])
def test_slot_counts_out_of_range_are_rejected(load, slots, problem):
    assert f"slots: {problem}; allowed: an integer >= 1 and <= 2880 (delivery slots)" in error_of(
        load, top=f"seed = 1\nslots = {slots}\n"
    )


@pytest.mark.parametrize(("length", "problem"), [(59, "59 is below 60"), (86_401, "86401 is above 86400")])
def test_slot_lengths_out_of_range_are_rejected(load, length, problem):
    assert f"slot_length_s: {problem}; allowed: an integer >= 60 and <= 86400 (seconds)" in error_of(
        load, top=TOP + f"slot_length_s = {length}\n"
    )


def test_a_start_hour_of_24_is_rejected(load):
    assert "start_hour: 24 is not below 24" in error_of(load, top=TOP + "start_hour = 24\n")


def test_too_many_household_slots_for_one_run_are_rejected(load):
    households = '[[households]]\nname = "s"\ncount = 20000\npv_kwp = 1\nload_kwh_per_day = 1\n'
    message = error_of(load, top="seed = 1\nslots = 96\n", households=households)
    assert "slots: 96 slots x 20000 households is 1,920,000 household-slots" in message


def test_an_unknown_market_mode_is_rejected_with_the_modes(load):
    message = error_of(load, tables='\n[market]\nmode = "auction"\n')
    assert 'market.mode: "auction" is unknown; allowed: "merit", "pay_as_bid", "pay_as_clear"' in message


def test_an_unknown_evm_target_is_rejected(load):
    message = error_of(load, tables='\n[chain]\nevm = "prague"\n')
    assert 'chain.evm: "prague" is unknown; allowed: "london", "shanghai", "cancun"' in message


def test_an_unknown_chain_profile_is_rejected(load):
    assert 'chain.profile: "mainnet" is unknown' in error_of(load, tables='\n[chain]\nprofile = "mainnet"\n')


def test_a_window_above_a_day_of_slots_is_rejected(load):
    message = error_of(load, tables=f"\n[chain]\nwindow_slots = {MAX_WINDOW_SLOTS + 1}\n")
    assert f"chain.window_slots: {MAX_WINDOW_SLOTS + 1} is above {MAX_WINDOW_SLOTS}" in message


def test_a_grace_period_shorter_than_a_round_is_rejected_naming_the_least_that_works(load):
    message = error_of(load, tables="\n[chain]\nwindow_slots = 4\ngrace_period_s = 3599\n")
    assert "chain.grace_period_s: is 3599 s, shorter than window_slots slots (3600 s)" in message
    assert "at least 3600 s" in message


def test_a_grace_period_of_exactly_a_round_is_accepted(load):
    scenario = load(tables="\n[chain]\nwindow_slots = 4\ngrace_period_s = 3600\n")
    assert (scenario.chain.window_slots, scenario.chain.grace_period_s) == (4, 3600)


def test_the_default_grace_period_covers_a_round_of_long_slots(load):
    scenario = load(top="seed = 1\nslots = 4\nslot_length_s = 3600\n", tables="\n[chain]\nwindow_slots = 2\n")
    assert scenario.chain.grace_period_s == 7200


def test_a_price_with_more_than_8_decimals_is_rejected_not_rounded(load):
    message = error_of(load, tables="\n[prices]\ngrid_tariff = 0.123456789\n")
    assert "prices.grid_tariff: 0.123456789 has more than 8 decimals" in message


def test_a_negative_price_is_rejected(load):
    assert "prices.grid_tariff: -0.3 is negative" in error_of(load, tables='\n[prices]\ngrid_tariff = "-0.3"\n')


def test_a_zero_ask_is_rejected(load):
    assert "prices.ask: 0 is zero; allowed: a price in NRG per kWh > 0" in error_of(
        load, tables="\n[prices]\nask = [0, 0.2]\n"
    )


def test_a_price_that_is_not_a_number_is_rejected(load):
    assert 'prices.funding: "lots" is not a number' in error_of(load, tables='\n[prices]\nfunding = "lots"\n')


def test_asks_all_above_the_grid_tariff_are_rejected(load):
    message = error_of(load, tables="\n[prices]\nask = [0.4, 0.5]\ngrid_tariff = 0.3\n")
    assert "prices.ask: every ask is above grid_tariff, so no buyer would ever take an offer" in message


def test_an_offline_meter_of_an_unknown_household_is_rejected(load):
    message = error_of(load, tables='\n[[faults.offline]]\nhousehold = "solar-009"\nslots = [1, 2]\n')
    assert 'faults.offline[0].household: no household is named "solar-009"; allowed: the name of a household' in message


def test_an_offline_range_beyond_the_last_slot_is_rejected(load):
    message = error_of(load, tables='\n[[faults.offline]]\nhousehold = "home"\nslots = [2, 4]\n')
    assert "faults.offline[0].slots: slot 4 does not exist (the scenario has 4 slots)" in message


def test_a_reversed_offline_range_is_rejected(load):
    message = error_of(load, tables='\n[[faults.offline]]\nhousehold = "home"\nslots = [3, 1]\n')
    assert "faults.offline[0].slots: [3, 1] is not a range (first > last)" in message


def test_a_cloudy_slot_that_does_not_exist_is_rejected(load):
    assert "faults.cloudy_slots: slot 7 does not exist" in error_of(load, tables="\n[faults]\ncloudy_slots = [1, 7]\n")


def test_a_cloudy_slot_listed_twice_is_rejected(load):
    assert "faults.cloudy_slots: slot 1 is listed twice" in error_of(load, tables="\n[faults]\ncloudy_slots = [1, 1]\n")


def test_an_under_delivering_household_without_pv_is_rejected(load):
    message = error_of(load, tables='\n[[faults.under_delivery]]\nhousehold = "home"\nfactor = 0.5\n')
    assert 'faults.under_delivery[0].household: "home" has no PV, so it never sells' in message


def test_an_under_delivery_factor_of_one_is_rejected(load):
    message = error_of(load, tables='\n[[faults.under_delivery]]\nhousehold = "solar-001"\nfactor = 1.0\n')
    assert "faults.under_delivery[0].factor: 1.0 is not below 1" in message


def test_a_negative_number_of_forged_readings_is_rejected(load):
    message = error_of(load, tables="\n[faults.attacker]\nforged_readings = -3\n")
    assert "faults.attacker.forged_readings: -3 is negative" in message


def test_a_file_that_is_not_toml_is_rejected_with_the_parser_message(load):
    assert "bad.toml: not valid TOML (" in error_of(load, top="seed = = 1\n")


def test_a_missing_file_is_reported_with_an_example(tmp_path):
    with pytest.raises(ScenarioError, match=r"nowhere\.toml: no such file; allowed: a TOML scenario file"):
        load_scenario(tmp_path / "nowhere.toml")


def test_a_price_beyond_a_million_nrg_per_kwh_is_rejected(load):
    message = error_of(load, tables="\n[prices]\ngrid_tariff = 2000000\n")
    assert "prices.grid_tariff: 2000000 is above 1000000" in message


def test_zero_funding_is_rejected_since_nobody_could_buy(load):
    assert "prices.funding: 0 is zero; allowed: NRG per household > 0" in error_of(
        load, tables="\n[prices]\nfunding = 0\n"
    )


@pytest.mark.parametrize(
    ("key", "instead"),
    [
        ("takes_per_tx", "window_slots"),
        ("readings_per_tx", "closeLots"),
        ("fills_per_tx", "window_slots"),
        ("lots_per_tx", "window_slots"),
    ],
)
def test_a_setting_a_redesign_removed_is_refused_naming_what_replaced_it(load, key, instead):
    message = error_of(load, tables=f"\n[chain]\n{key} = 10\n")
    assert f"chain.{key}: is no longer a setting" in message and instead in message


@pytest.mark.parametrize("name", ["../../../x/escaped", "/tmp/absolute", "", "a/b", ".hidden"])
def test_a_scenario_name_that_is_not_a_plain_folder_name_is_rejected(load, name):
    # The name is the default report folder (reports/<name>): a path in it would write elsewhere.
    assert f'name: "{name}" is not a valid name' in error_of(load, top=f'name = "{name}"\n' + TOP)


def test_a_scenario_name_of_letters_digits_dots_and_dashes_is_accepted(load):
    assert load(top='name = "town-day_2.v1"\n' + TOP).name == "town-day_2.v1"
