from eth_utils.crypto import keccak

from p2p_energy.run.state import simulated_meter_key
from p2p_energy.wire.readings import MeterKey


def test_a_households_meter_key_is_keccak_of_seed_and_name():
    assert simulated_meter_key(7, "home-001") == MeterKey(keccak(text="7:home-001"))


def test_every_household_and_seed_gets_its_own_meter_key():
    keys = {simulated_meter_key(seed, name).private_key for seed in (1, 2) for name in ("home-001", "home-002")}
    assert len(keys) == 4
