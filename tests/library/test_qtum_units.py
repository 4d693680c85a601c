"""Exact integer conversions between QTUM, satoshi, token units and wei per gas."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p_energy.errors import UsageError
from p2p_energy.units import (
    base_units_to_tokens,
    parse_units,
    qtum_to_satoshi,
    satoshi_per_gas_to_wei,
    satoshi_to_qtum,
    tokens_to_base_units,
    wei_per_gas_to_satoshi,
)


@pytest.mark.parametrize(
    ("amount", "satoshi"),
    [
        ("1", 100_000_000),
        ("0.00000001", 1),
        ("1e-8", 1),
        (" 0.1 ", 10_000_000),
        ("21000000.12345678", 2_100_000_012_345_678),
        ("0.10000000000", 10_000_000),
        (3, 300_000_000),
        (Decimal("0.5"), 50_000_000),
    ],
)
def test_qtum_amounts_become_exact_satoshi(amount, satoshi):
    assert qtum_to_satoshi(amount) == satoshi


def test_amounts_beyond_decimal_precision_stay_exact():
    assert qtum_to_satoshi("123456789012345678901234567890.12345678") == 12345678901234567890123456789012345678


def test_fraction_of_a_satoshi_is_rejected_naming_the_smallest_amount():
    with pytest.raises(UsageError, match=r"smallest amount is 0\.00000001"):
        qtum_to_satoshi("0.000000001")


def test_float_is_rejected():
    with pytest.raises(UsageError, match="not float"):
        qtum_to_satoshi(0.1)


def test_bool_is_rejected():
    with pytest.raises(UsageError, match="not bool"):
        tokens_to_base_units(True)


def test_negative_amount_is_rejected():
    with pytest.raises(UsageError, match="cannot be negative"):
        qtum_to_satoshi("-1")


@pytest.mark.parametrize("text", ["abc", "", "1,5", "0x10"])
def test_text_that_is_not_a_decimal_is_rejected(text):
    with pytest.raises(UsageError, match="not a decimal number"):
        qtum_to_satoshi(text)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-inf"])
def test_non_finite_amounts_are_rejected(text):
    with pytest.raises(UsageError, match="not a finite number"):
        qtum_to_satoshi(text)


def test_satoshi_print_with_all_eight_decimals():
    assert satoshi_to_qtum(1) == "0.00000001"
    assert satoshi_to_qtum(150_000_000) == "1.50000000"
    assert satoshi_to_qtum(-1) == "-0.00000001"


def test_token_amounts_have_eight_decimals_by_default():
    assert tokens_to_base_units("1.5") == 150_000_000
    assert base_units_to_tokens(150_000_000) == "1.50000000"


def test_token_of_zero_decimals_takes_whole_numbers_only():
    assert tokens_to_base_units("7", decimals=0) == 7
    with pytest.raises(UsageError, match="smallest amount is 1"):
        tokens_to_base_units("7.5", decimals=0)


def test_forty_satoshi_per_gas_is_janus_0x5d21dba000_wei():
    assert satoshi_per_gas_to_wei(40) == 0x5D21DBA000 == 400_000_000_000


def test_janus_wei_gas_price_converts_back_to_satoshi():
    assert wei_per_gas_to_satoshi(0x5D21DBA000) == 40


def test_wei_gas_price_below_a_whole_satoshi_is_rejected():
    with pytest.raises(UsageError, match="not a whole number of satoshi"):
        wei_per_gas_to_satoshi(400_000_000_001)


@pytest.mark.parametrize("bad", [-1, 40.0, True])
def test_gas_price_must_be_a_non_negative_integer(bad):
    with pytest.raises(UsageError, match="whole number >= 0"):
        satoshi_per_gas_to_wei(bad)


@settings(database=None, deadline=None)
@given(satoshi=st.integers(min_value=0, max_value=10**30))
def test_printed_qtum_parse_back_to_the_same_satoshi(satoshi):
    assert qtum_to_satoshi(satoshi_to_qtum(satoshi)) == satoshi


@settings(database=None, deadline=None)
@given(
    whole=st.integers(0, 10**20), fraction=st.text("0123456789", min_size=0, max_size=8), decimals=st.integers(8, 18)
)
def test_decimal_strings_scale_by_string_arithmetic(whole, fraction, decimals):
    text = f"{whole}.{fraction}" if fraction else str(whole)
    expected = int(str(whole) + fraction.ljust(decimals, "0"))
    assert parse_units(text, decimals) == expected


@settings(database=None, deadline=None)
@given(satoshi=st.integers(min_value=0, max_value=10**12))
def test_gas_price_round_trip_through_wei(satoshi):
    assert wei_per_gas_to_satoshi(satoshi_per_gas_to_wei(satoshi)) == satoshi
