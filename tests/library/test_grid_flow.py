"""Power flows per slot: the same figures as pandapower called directly, and a two-bus case worked by hand."""

import math
import random
import warnings

import numpy as np
import pandapower
import pandapower.networks
import pytest

from p2p_energy.domain.grid_flow import bus_injections_mw, power_flows
from p2p_energy.domain.grid_network import Feeder, build_feeder, load_buses

HOURS = 0.25


@pytest.fixture(scope="module")
def kabel_1():
    """Kerber Landnetz Kabel 1 with 4 households on its first two load buses (two each)."""
    buses = load_buses("kerber_landnetz_kabel_1")
    return build_feeder("kerber_landnetz_kabel_1", [buses[0], buses[0], buses[1], buses[3]])


# per household (rows) and slot (columns): Wh over a 15-minute slot
IMPORT_WH = np.array([[900, 0, 2_000], [400, 0, 0], [0, 0, 2_500], [300, 0, 1_000]], dtype=np.int64)
EXPORT_WH = np.array([[0, 2_500, 0], [0, 1_800, 300], [600, 3_000, 0], [0, 0, 0]], dtype=np.int64)


def pandapower_directly(buses, slot):
    """The same slot solved by pandapower alone: the network as pandapower builds it, its loads replaced by ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        random.seed(0)  # the Kerber networks draw cable types with `random`: build the same one as the feeder
        net = pandapower.networks.create_kerber_landnetz_kabel_1()
        net.load.drop(net.load.index, inplace=True)
        for household, bus in enumerate(buses):
            kw = (IMPORT_WH[household, slot] - EXPORT_WH[household, slot]) / HOURS / 1000
            pandapower.create_load(net, bus=bus, p_mw=kw / 1000)
        pandapower.runpp(net, numba=False)
    return net


@pytest.mark.parametrize("slot", [0, 1, 2])
def test_slot_results_match_pandapower_called_directly(kabel_1, slot):
    flows = power_flows(kabel_1, bus_injections_mw(kabel_1, IMPORT_WH, EXPORT_WH, HOURS), HOURS)
    net = pandapower_directly(kabel_1.household_bus, slot)
    # both solve to pandapower's tolerance (1e-8 MVA of mismatch), from different starting points
    assert flows.vm_min[slot] == pytest.approx(net.res_bus.vm_pu.min(), abs=1e-8)
    assert flows.vm_max[slot] == pytest.approx(net.res_bus.vm_pu.max(), abs=1e-8)
    assert flows.worst_line[slot] == pytest.approx(net.res_line.loading_percent.max(), abs=1e-5)
    assert flows.worst_trafo[slot] == pytest.approx(net.res_trafo.loading_percent.max(), abs=1e-5)
    losses_kw = (net.res_line.pl_mw.sum() + net.res_trafo.pl_mw.sum()) * 1000
    assert flows.losses_wh[slot] == pytest.approx(losses_kw * 1000 * HOURS, rel=1e-6)


def test_households_on_one_bus_are_summed_into_one_load(kabel_1):
    load = bus_injections_mw(kabel_1, IMPORT_WH, EXPORT_WH, HOURS)
    assert load.shape == (3, 3)
    assert load[0, 0] == pytest.approx((900 + 400) / HOURS / 1e6)


def two_bus_feeder(r_ohm: float, max_i_ka: float) -> Feeder:
    """A source at 0.4 kV and one load bus behind a resistive line of `r_ohm` (and a micro-ohm of reactance,
    which pandapower's start needs and which moves the voltage by less than 1e-12 p.u.)."""
    net = pandapower.create_empty_network()
    source = pandapower.create_bus(net, vn_kv=0.4)
    house = pandapower.create_bus(net, vn_kv=0.4)
    pandapower.create_ext_grid(net, source, vm_pu=1.0)
    pandapower.create_line_from_parameters(
        net, source, house, length_km=1.0, r_ohm_per_km=r_ohm, x_ohm_per_km=1e-6, c_nf_per_km=0.0, max_i_ka=max_i_ka
    )
    pandapower.create_load(net, house, p_mw=0.0)
    return Feeder(
        name="two buses",
        net=net,
        household_bus=(house,),
        household_load=np.array([0]),
        loaded_buses=(house,),
        lines=("line",),
        trafos=(),
        buses=("source", "house"),
        line_ends=((0, 1),),
        trafo_ends=(),
        bus_xy=((0.0, 0.0), (1.0, 0.0)),
        has_geodata=False,
    )


def test_two_bus_case_matches_the_hand_worked_solution():
    # 10 kW drawn through 0.5 ohm at 400 V (three-phase, power factor 1): the house voltage U solves
    # U (400 - U) / 0.5 = 10,000, so U = (400 + sqrt(400^2 - 4 x 0.5 x 10,000)) / 2 = 387.083 V;
    # the current is 10,000 / (sqrt(3) x U) = 14.915 A and the line loses (400 - U)^2 / 0.5 = 333.6 W.
    feeder = two_bus_feeder(r_ohm=0.5, max_i_ka=0.02)
    u = (400 + math.sqrt(400**2 - 4 * 0.5 * 10_000)) / 2
    current_a = 10_000 / (math.sqrt(3) * u)
    flows = power_flows(feeder, np.array([[0.010]]), 1.0)
    assert flows.vm_min[0] == pytest.approx(u / 400, abs=1e-7)
    assert flows.worst_line[0] == pytest.approx(current_a / 20 * 100, rel=1e-6)
    assert flows.losses_wh[0] == pytest.approx((400 - u) ** 2 / 0.5, rel=1e-6)


def test_two_bus_export_raises_the_house_voltage_above_the_source():
    feeder = two_bus_feeder(r_ohm=0.5, max_i_ka=0.02)
    flows = power_flows(feeder, np.array([[-0.010]]), 1.0)
    u = (400 + math.sqrt(400**2 + 4 * 0.5 * 10_000)) / 2  # U (U - 400) / 0.5 = 10,000
    assert flows.vm_max[0] == pytest.approx(u / 400, abs=1e-7)
