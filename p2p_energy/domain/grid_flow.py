"""An AC power flow per slot on a `Feeder` (pandapower's Newton-Raphson), and what it says about the slot.

Per slot, each household's net import (meter import - export, Wh over the
slot, so the slot's mean power) is put on its bus, summed per bus; pandapower
solves the network and gives every bus voltage (p.u.), every line's and
transformer's loading (% of its rating: the line's `max_i_ka`, the
transformer's `sn_mva`) and the losses (line and transformer, kW). A slot is
out of the voltage band when a bus is below 1 - band or above 1 + band p.u.,
overloaded when a line or the transformer is above 100 %.

No solver of our own: pandapower runs every power flow (`pandapower.runpp`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from p2p_energy.domain.grid_network import Feeder
from p2p_energy.errors import UsageError

#: A loading this far above 100 % (in %) or a voltage this far outside the band (in p.u.) counts as a violation,
#: and one world's figure must be this much worse than the other's to count as worse: well above the noise of
#: pandapower's solution (it solves to 1e-8 MVA of mismatch, from the last slot's solution or its own start),
#: far below anything a meter or a relay would see.
LOADING_TOLERANCE = 1e-3
VOLTAGE_TOLERANCE = 1e-6


class PowerFlowError(UsageError):
    """pandapower's power flow did not converge: the network cannot carry the slot's injections."""


@dataclass(frozen=True, eq=False)
class Flows:
    """Power-flow results per slot (columns): bus voltages (p.u.), loadings (%), losses (Wh over the slot).

    A bus that no source supplies (cut off by an open switch) has no voltage (NaN): it is left out of
    the lowest and highest voltage, and is never outside the band.
    """

    bus_vm: NDArray[np.float64]  # (buses, slots)
    line_loading: NDArray[np.float64]  # (lines, slots)
    trafo_loading: NDArray[np.float64]  # (trafos, slots)
    losses_wh: NDArray[np.float64]  # (slots,)

    @property
    def vm_min(self) -> NDArray[np.float64]:
        return np.asarray(np.nanmin(self.bus_vm, axis=0))

    @property
    def vm_max(self) -> NDArray[np.float64]:
        return np.asarray(np.nanmax(self.bus_vm, axis=0))

    @property
    def worst_line(self) -> NDArray[np.float64]:
        """The highest line loading of each slot (0 for a network without lines)."""
        return np.asarray(self.line_loading.max(axis=0, initial=0.0))

    @property
    def worst_trafo(self) -> NDArray[np.float64]:
        return np.asarray(self.trafo_loading.max(axis=0, initial=0.0))

    def voltage_out(self, band: float) -> NDArray[np.bool_]:
        """(buses, slots): True where the bus voltage is outside 1 +/- band."""
        return np.asarray(np.abs(self.bus_vm - 1.0) > band + VOLTAGE_TOLERANCE)

    def overloaded(self) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """(lines, slots) and (trafos, slots): True where the element is loaded above 100 %."""
        limit = 100.0 + LOADING_TOLERANCE
        return np.asarray(self.line_loading > limit), np.asarray(self.trafo_loading > limit)


def bus_injections_mw(
    feeder: Feeder, import_wh: NDArray[np.int64], export_wh: NDArray[np.int64], slot_hours: float
) -> NDArray[np.float64]:
    """(loads, slots): each load's net import in MW (households summed per bus), the slot's mean power."""
    net_wh = (import_wh - export_wh).astype(np.float64)
    per_load = np.zeros((len(feeder.loaded_buses), net_wh.shape[1]))
    np.add.at(per_load, feeder.household_load, net_wh)
    return per_load / slot_hours / 1e6


def power_flows(feeder: Feeder, load_mw: NDArray[np.float64], slot_hours: float) -> Flows:
    """pandapower's power flow of every slot (`load_mw` as `bus_injections_mw` gives it)."""
    import pandapower

    net = feeder.net
    slots = load_mw.shape[1]
    bus_vm = np.empty((len(net.bus), slots))
    line_loading = np.empty((len(net.line), slots))
    trafo_loading = np.empty((len(net.trafo), slots))
    losses_wh = np.empty(slots)
    solved: dict[bytes, int] = {}  # identical injections (a quiet night) are solved once
    for slot in range(slots):
        key = load_mw[:, slot].tobytes()
        if key in solved:
            done = solved[key]
            bus_vm[:, slot], line_loading[:, slot] = bus_vm[:, done], line_loading[:, done]
            trafo_loading[:, slot], losses_wh[slot] = trafo_loading[:, done], losses_wh[done]
            continue
        net.load["p_mw"] = load_mw[:, slot]
        _solve(pandapower, feeder, slot, warm=bool(solved))
        bus_vm[:, slot] = net.res_bus.vm_pu.to_numpy()
        # a line cut off by an open switch has no current (pandapower gives NaN): it carries nothing
        line_loading[:, slot] = np.nan_to_num(net.res_line.loading_percent.to_numpy(), nan=0.0)
        trafo_loading[:, slot] = np.nan_to_num(net.res_trafo.loading_percent.to_numpy(), nan=0.0)
        losses_mw = float(net.res_line.pl_mw.sum()) + float(net.res_trafo.pl_mw.sum())
        losses_wh[slot] = losses_mw * 1e6 * slot_hours
        solved[key] = slot
    return Flows(bus_vm, line_loading, trafo_loading, losses_wh)


def _solve(pandapower: Any, feeder: Feeder, slot: int, warm: bool) -> None:
    """pandapower's Newton-Raphson, started from the last slot's solution when there is one (about twice as
    fast on a large network), and from pandapower's own start if that does not converge."""
    for init in ("results", "auto") if warm else ("auto",):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pandapower.runpp(feeder.net, numba=False, init=init)
            return
        except pandapower.LoadflowNotConverged:
            continue
    raise PowerFlowError(
        f"network {feeder.name}: the power flow of slot {slot} did not converge "
        f"(net import {feeder.net.load.p_mw.sum() * 1000:,.1f} kW): the network cannot carry this scenario; "
        "place fewer households on it or choose a larger network"
    )
