"""The low-voltage networks a scenario may name (`[grid] network`), and the households placed on them.

Each name is one of pandapower's standard networks (`pandapower.networks`):
the Kerber networks (rural, village and suburban cable and overhead-line
feeders), the Dickert networks, the IEEE European LV test feeder and the
Schutterwald LV network (a real town's 14 substations and 1,506 loads). A
`Feeder` is such a network made ready for this simulator: its own loads and
generators are removed, and each bus that has households gets one load whose
power is the households' net import (negative when they export). The
substation transformer links the feeder to the grid (pandapower's external
grid, the slack). Reactive power is 0 (power factor 1).

Households sit on the network's load buses (those that had a load in
pandapower's network): either as `[grid] buses` says, or each on a bus drawn
from its own stream ("grid", household), so adding a household moves no other.

pandapower is imported only when a network is used: a scenario without one
never loads it.
"""

from __future__ import annotations

import json
import random
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Network name -> (pandapower.networks function, its keyword arguments).
NETWORKS: dict[str, tuple[str, dict[str, str]]] = {
    "kerber_landnetz_kabel_1": ("create_kerber_landnetz_kabel_1", {}),
    "kerber_landnetz_kabel_2": ("create_kerber_landnetz_kabel_2", {}),
    "kerber_landnetz_freileitung_1": ("create_kerber_landnetz_freileitung_1", {}),
    "kerber_landnetz_freileitung_2": ("create_kerber_landnetz_freileitung_2", {}),
    "kerber_dorfnetz": ("create_kerber_dorfnetz", {}),
    "kerber_vorstadtnetz_kabel_1": ("create_kerber_vorstadtnetz_kabel_1", {}),
    "kerber_vorstadtnetz_kabel_2": ("create_kerber_vorstadtnetz_kabel_2", {}),
    "dickert_long_cable": (
        "create_dickert_lv_network",
        {"feeders_range": "long", "linetype": "cable", "customer": "multiple", "case": "average"},
    ),
    "dickert_long_overhead": (
        "create_dickert_lv_network",
        {"feeders_range": "long", "linetype": "OHL", "customer": "multiple", "case": "average"},
    ),
    "ieee_european_lv": ("ieee_european_lv_asymmetric", {"scenario": "off_peak_1"}),
    "lv_schutterwald": ("lv_schutterwald", {}),
}
#: The seed of Python's `random` while pandapower builds a network (the Kerber networks draw cable types).
_NETWORK_SEED = 0
#: pandapower's tables of loads and generators: emptied, the households take their place.
_INJECTION_TABLES = ("load", "sgen", "asymmetric_load", "asymmetric_sgen", "storage", "gen", "motor")


def pandapower_network(name: str) -> Any:
    """pandapower's network `name` (a fresh copy), as pandapower builds it, the same every time.

    The Kerber networks draw some cable types with Python's `random`; they are
    built from a fixed seed, and the caller's `random` state is put back after.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandapower.networks

        function, kwargs = NETWORKS[name]
        make: Callable[..., Any] = getattr(pandapower.networks, function)
        state = random.getstate()
        try:
            random.seed(_NETWORK_SEED)
            return make(**kwargs)
        finally:
            random.setstate(state)


def load_buses(name: str) -> list[int]:
    """The buses of network `name` that carry a load in pandapower's network, in increasing order."""
    return _load_buses(pandapower_network(name))


def _load_buses(net: Any) -> list[int]:
    return sorted({int(b) for b in net.load.bus} | {int(b) for b in net.asymmetric_load.bus})


def place(
    net: Any, households: Sequence[str], buses: Sequence[int], rng: Callable[[str], np.random.Generator]
) -> list[int]:
    """Each household's bus on pandapower network `net`: `buses` if given, else a load bus from `rng(household)`."""
    if buses:
        return list(buses)
    choices = _load_buses(net)
    return [choices[int(rng(household).integers(len(choices)))] for household in households]


@dataclass(frozen=True, eq=False)
class Feeder:
    """A network ready for power flows: one load per bus with households (`loaded_buses`, net.load's rows).

    `household_load[h]` is the row of household h's load; `lines` and
    `trafos` are the elements' names (pandapower's, or "line <index>"), in
    the order of every per-element array; `bus_xy` is each bus's position
    (pandapower's geodata, or a tree drawn from the substation outwards).
    """

    name: str
    net: Any
    household_bus: tuple[int, ...]
    household_load: NDArray[np.int64]
    loaded_buses: tuple[int, ...]
    lines: tuple[str, ...]
    trafos: tuple[str, ...]
    buses: tuple[str, ...]
    line_ends: tuple[tuple[int, int], ...]
    trafo_ends: tuple[tuple[int, int], ...]
    bus_xy: tuple[tuple[float, float], ...]
    has_geodata: bool


def build_feeder(name: str, household_bus: Sequence[int], net: Any | None = None) -> Feeder:
    """Network `name` (or `net`, pandapower's network `name` as `pandapower_network` built it, which this
    changes) with its own loads and generators removed and the households' loads added."""
    import pandapower

    net = pandapower_network(name) if net is None else net
    for table in _INJECTION_TABLES:
        if table in net and len(net[table]):
            net[table] = net[table].iloc[0:0]
    loaded = sorted(set(household_bus))
    rows = pandapower.create_loads(net, buses=loaded, p_mw=0.0, q_mvar=0.0)
    row = {bus: int(index) for bus, index in zip(loaded, rows, strict=True)}
    bus_position = {int(b): i for i, b in enumerate(net.bus.index)}
    xy, geodata = _positions(net, bus_position)
    return Feeder(
        name=name,
        net=net,
        household_bus=tuple(household_bus),
        household_load=np.array([row[bus] for bus in household_bus], dtype=np.int64),
        loaded_buses=tuple(loaded),
        lines=_names(net.line, "line"),
        trafos=_names(net.trafo, "transformer"),
        buses=tuple(f"bus {int(b)}" if not _named(n) else f"bus {int(b)} ({n})" for b, n in net.bus.name.items()),
        line_ends=tuple(
            (bus_position[int(f)], bus_position[int(t)])
            for f, t in zip(net.line.from_bus, net.line.to_bus, strict=True)
        ),
        trafo_ends=tuple(
            (bus_position[int(h)], bus_position[int(low)])
            for h, low in zip(net.trafo.hv_bus, net.trafo.lv_bus, strict=True)
        ),
        bus_xy=xy,
        has_geodata=geodata,
    )


def _named(name: object) -> bool:
    return isinstance(name, str) and bool(name.strip())


def _names(table: Any, kind: str) -> tuple[str, ...]:
    return tuple(str(n) if _named(n) else f"{kind} {int(i)}" for i, n in table.name.items())


def _positions(net: Any, bus_position: dict[int, int]) -> tuple[tuple[tuple[float, float], ...], bool]:
    """Every bus's (x, y): pandapower's geodata where the network has it for all buses, else a drawn tree."""
    if "geo" in net.bus and net.bus.geo.notna().all():
        points = [json.loads(geo)["coordinates"] for geo in net.bus.geo]
        return tuple((float(x), float(y)) for x, y in points), True
    return _tree_layout(net, bus_position), False


def _tree_layout(net: Any, bus_position: dict[int, int]) -> tuple[tuple[float, float], ...]:
    """A radial network drawn as a tree: x = branches from the substation, y = leaves in depth-first order."""
    neighbours: dict[int, list[int]] = {i: [] for i in bus_position.values()}
    pairs = [
        *zip(net.line.from_bus, net.line.to_bus, strict=True),
        *zip(net.trafo.hv_bus, net.trafo.lv_bus, strict=True),
    ]
    for a, b in pairs:
        neighbours[bus_position[int(a)]].append(bus_position[int(b)])
        neighbours[bus_position[int(b)]].append(bus_position[int(a)])
    root = bus_position[int(net.ext_grid.bus.iloc[0])]
    depth: dict[int, int] = {root: 0}
    children: dict[int, list[int]] = {i: [] for i in neighbours}
    preorder: list[int] = []
    stack = [root]
    while stack:  # depth-first from the substation: a spanning tree of the network
        bus = stack.pop()
        preorder.append(bus)
        for other in reversed(neighbours[bus]):
            if other not in depth:
                depth[other] = depth[bus] + 1
                children[bus].append(other)
                stack.append(other)
    y: dict[int, float] = {}
    leaves = 0.0
    for bus in preorder:
        if not children[bus]:
            y[bus], leaves = leaves, leaves + 1.0
    for bus in reversed(preorder):
        if children[bus]:
            y[bus] = sum(y[c] for c in children[bus]) / len(children[bus])
    return tuple((float(depth.get(i, 0)), y.get(i, leaves + i)) for i in range(len(bus_position)))
