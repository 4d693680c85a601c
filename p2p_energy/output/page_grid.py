"""report.html's "The network" section: power flows per slot with and without the market, and the feeder drawn.

The figures carry their summary.json key and raw value (`data-grid`, `data-value`: the "grid"
object's own numbers) so a test can compare the page with the file. What the figures mean is
in docs/grid.md; the charts are drawn by assets/grid.js from `grid_data`.
"""

from __future__ import annotations

import html
import json
from typing import Any

from p2p_energy.records.grid_records import GridKpis, GridRecord
from p2p_energy.records.run_records import RunResult

_BUS_COLUMNS = ("name", "x", "y", "households", "min_voltage_pu", "max_voltage_pu")
#: Refusals listed on the page; summary.json's grid.stops holds them all.
_SHOWN_STOPS = 30


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


_ROWS: tuple[tuple[str, str, str], ...] = (
    ("voltage_violation_slots", "slots with a bus outside the band", "{:,}"),
    ("overload_slots", "slots with a line or transformer > 100 %", "{:,}"),
    ("line_overload_slots", "… of them with a line > 100 %", "{:,}"),
    ("trafo_overload_slots", "… of them with the transformer > 100 %", "{:,}"),
    ("peak_line_loading_pct", "peak line loading %", "{:,.1f}"),
    ("peak_trafo_loading_pct", "peak transformer loading %", "{:,.1f}"),
    ("min_voltage_pu", "lowest bus voltage p.u.", "{:.4f}"),
    ("max_voltage_pu", "highest bus voltage p.u.", "{:.4f}"),
    ("losses_kwh", "losses kWh", "{:,.2f}"),
)


def _cell(world: str, key: str, kpis: GridKpis, shape: str) -> str:
    value = getattr(kpis, key)
    raw = _esc(json.dumps(value))
    return f'<td data-grid="{_esc(world)}.{_esc(key)}" data-value="{raw}">{_esc(shape.format(value))}</td>'


def _kpi_table(grid: GridRecord) -> str:
    rows = "".join(
        f"<tr><th>{_esc(label)}</th>{_cell('with_market', key, grid.with_market, shape)}"
        f"{_cell('without_market', key, grid.without_market, shape)}</tr>"
        for key, label, shape in _ROWS
    )
    return (
        '<div class="scroll-x"><table class="grid-kpis"><thead><tr><th></th><th>with the market</th>'
        f"<th>without (grid only)</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _stops(grid: GridRecord) -> str:
    if grid.limits != "network":
        return (
            f'<p>The market ignored the network (<code>limits = "none"</code>): it caused a violation in '
            f'<span data-grid="caused_violation_slots">{grid.caused_violation_slots:,}</span> slots.</p>'
        )
    at = ", ".join(f"{element} {wh / 1000:,.2f} kWh" for element, wh in sorted(grid.stopped_at().items()))
    slots = ", ".join(str(s) for s in grid.stopped_slots)
    head = (
        f'<p>Network limits on (<code>limits = "network"</code>): they refused '
        f'<span data-grid="stopped_trades">{grid.stopped_trades:,}</span> storage trades '
        f'(<span data-grid="stopped_wh">{grid.stopped_wh / 1000:,.2f}</span> kWh)'
        f"{' in slots ' + _esc(slots) if slots else ''}{' at ' + _esc(at) if at else ''}; "
        f"violations the market caused: {grid.caused_violation_slots:,} slots.</p>"
    )
    if not grid.stops:
        return head
    rows = "".join(
        f"<tr><td>{s.slot}</td><td>{_esc(s.household)}</td><td>{_esc(s.element)}</td><td>{s.wh / 1000:,.3f}</td></tr>"
        for s in grid.stops[:_SHOWN_STOPS]
    )
    more = (
        f"<p>… and {len(grid.stops) - _SHOWN_STOPS:,} more in summary.json (grid.stops).</p>"
        if len(grid.stops) > _SHOWN_STOPS
        else ""
    )
    return (
        head + '<div class="scroll-x"><table class="grid-stops"><thead><tr><th>slot</th><th>household</th>'
        f"<th>element</th><th>storage kWh refused</th></tr></thead><tbody>{rows}</tbody></table></div>{more}"
    )


def grid_section(result: RunResult) -> str:
    """The section, or nothing for a run without a network."""
    grid = result.grid
    if grid is None:
        return ""
    same = (
        " The market moved no power in this run (no price-aware battery traded from or into storage), "
        "so both columns are the same: its trades move money, and the meters measure what they would without it."
        if not grid.market_moves_power
        else ""
    )
    drawn = (
        "Drawn on pandapower's geodata"
        if grid.has_geodata
        else "Drawn as a tree from the transformer outwards (the network has no geodata)"
    )
    return (
        f'<section id="grid"><h2>The network: {_esc(grid.network)}</h2>'
        f"<p>An AC power flow (pandapower) per slot with the meters' import and export on each household's bus, "
        f"with the market and without it (price-aware batteries in self-consumption). Voltage band "
        f"1 ± {grid.voltage_band:g} p.u.; loadings in % of each line's and transformer's rating.{_esc(same)}</p>"
        f"{_kpi_table(grid)}{_stops(grid)}"
        "<h3>Bus voltage band per slot</h3><p>The lowest and highest bus voltage of each slot; red marks under a "
        "slot: the market put an element beyond its limit there; orange marks on top: the limits refused trades.</p>"
        '<div class="chart" id="chart-grid-voltage" role="img" aria-label="bus voltage band per slot"></div>'
        "<h3>Worst loading per slot</h3>"
        '<div class="chart" id="chart-grid-loading" role="img" aria-label="worst loading per slot"></div>'
        f"<h3>The network</h3><p>{_esc(drawn)}, each line coloured by its highest loading with the "
        "market; dots are the buses with households (larger: more households).</p>"
        '<div class="chart" id="chart-grid-network" role="img" aria-label="the network, lines by worst loading">'
        "</div></section>"
    )


def grid_data(result: RunResult) -> dict[str, Any] | None:
    """Per-slot figures and the drawing for assets/grid.js; None without a network."""
    grid = result.grid
    if grid is None:
        return None
    slot_columns = (
        "vm_min_pu", "vm_max_pu", "line_loading_pct", "trafo_loading_pct", "losses_wh", "worst_line",
        "base_vm_min_pu", "base_vm_max_pu", "base_line_loading_pct", "base_trafo_loading_pct", "caused",
    )  # fmt: skip
    elements = grid.elements
    return {
        "network": grid.network,
        "band": grid.voltage_band,
        "geodata": grid.has_geodata,
        "slots": {name: [getattr(s, name) for s in grid.slots] for name in slot_columns},
        "stopped": grid.stopped_slots,
        "elements": {
            "name": [e.name for e in elements],
            "kind": [e.kind for e in elements],
            "x": [list(e.x) for e in elements],
            "y": [list(e.y) for e in elements],
            "worst": [e.worst_loading_pct for e in elements],
            "base": [e.base_worst_loading_pct for e in elements],
        },
        "buses": {name: [getattr(b, name) for b in grid.buses] for name in _BUS_COLUMNS},
    }
