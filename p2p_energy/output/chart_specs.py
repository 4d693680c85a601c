"""Charts defined once: a spec that report.html's script and the PNG writer both draw.

A `SlotChart` is a chart over the delivery slots: its series (which column, bar or step line,
above or below zero, colour, legend name), its levels (a horizontal line with a label, e.g. the
feeder limit), the slots to mark (where a level binds) and its data, in Wh per slot, for the
neighbourhood and, where the chart has one, for each household. `SlotChart.to_json()` goes into
the page's data (`charts`), where common.js's `slotChart` draws it with plotly.js; `spec_plots`
draws the same spec with matplotlib. Adding a chart: write a function here that returns its
SlotChart, add it to `slot_charts`, and give it a section with `chart_section` (see
ARCHITECTURE.md, "Adding a chart").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from p2p_energy.records.run_records import RunResult, nrg_value

#: Colours shared with common.js's palette where the meaning is the same.
GRID_IMPORT_COLOR = "#c62828"
GRID_EXPORT_COLOR = "#2e7d32"
LOCAL_COLOR = "#08519c"
LIMIT_COLOR = "#e67e22"
BATTERY_CHARGE_COLOR = "#8e44ad"
BATTERY_DISCHARGE_COLOR = "#16a085"
BATTERY_SOC_COLOR = "#222222"


@dataclass(frozen=True)
class Series:
    """One trace: `column` of the chart's data in Wh per slot, drawn in kWh (below zero when `below`)."""

    name: str
    column: str
    kind: Literal["bar", "line"]
    color: str
    below: bool = False


@dataclass(frozen=True)
class Level:
    """A horizontal line at `kwh` per slot with its label; `neighbourhood_only`: not drawn for one household."""

    kwh: float
    label: str
    color: str
    neighbourhood_only: bool = True


@dataclass(frozen=True)
class SlotChart:
    """A chart over the delivery slots; `columns` are the neighbourhood's, `household_columns` each household's
    (in the households' order, or empty when the chart has no household view); `marked` slots are where a level
    binds, labelled `marked_label`."""

    key: str
    title: str
    y_title: str
    series: tuple[Series, ...]
    columns: dict[str, list[int]]
    household_columns: dict[str, list[list[int]]] = field(default_factory=dict)
    levels: tuple[Level, ...] = ()
    marked: tuple[int, ...] = ()
    marked_label: str = ""
    notes: tuple[str, ...] = ()

    def household(self, row: int) -> dict[str, list[int]]:
        """The columns of the household in row `row`."""
        return {name: values[row] for name, values in self.household_columns.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "y_title": self.y_title,
            "series": [vars(s) for s in self.series],
            "columns": self.columns,
            "household_columns": self.household_columns or None,
            "levels": [vars(level) for level in self.levels],
            "marked": list(self.marked),
            "marked_label": self.marked_label,
            "notes": list(self.notes),
        }


def _per_household_slot(result: RunResult, role: str) -> list[list[int]]:
    """Wh each household bought (role "buyer") or sold per slot, from every trade, dense."""
    row = {h.name: i for i, h in enumerate(result.households)}
    position = {s.slot: i for i, s in enumerate(result.slots)}
    tally = [[0] * len(result.slots) for _ in result.households]
    for t in result.trades:
        i, slot = row.get(getattr(t, role)), position.get(t.slot)
        if i is not None and slot is not None:
            tally[i][slot] += t.wh
    return tally


def _column_sum(rows: list[list[int]], width: int) -> list[int]:
    return [sum(r[s] for r in rows) for s in range(width)]


def grid_chart(result: RunResult) -> SlotChart | None:
    """Grid import and export per slot beside the energy traded locally, with the feeder limit where it binds.

    None for a report written before grid flows per slot were recorded."""
    hs, n = result.households, len(result.slots)
    if not hs or not n or any(len(h.grid_import_wh_per_slot) != n or len(h.grid_export_wh_per_slot) != n for h in hs):
        return None
    imports = [list(h.grid_import_wh_per_slot) for h in hs]
    exports = [list(h.grid_export_wh_per_slot) for h in hs]
    bought = _per_household_slot(result, "buyer")
    facts = result.scenario_facts
    tariff_notes: tuple[str, ...] = ()
    import_name, export_name = "grid import", "grid export (below 0)"
    if facts is not None:
        tariff, feed_in = (f"{float(nrg_value(price)):g}" for price in (facts.grid_tariff, facts.feed_in_tariff))
        import_name = f"grid import (at the grid tariff, {tariff} NRG/kWh)"
        export_name = f"grid export, below 0 (at the feed-in tariff, {feed_in} NRG/kWh)"
        tariff_notes = (
            f"each kWh from the grid costs the grid tariff, {tariff} NRG; each kWh to the grid earns the feed-in "
            f"tariff, {feed_in} NRG",
        )
    levels: tuple[Level, ...] = ()
    marked: tuple[int, ...] = ()
    limit_kw = facts.feeder_limit_kw if facts is not None else None
    if limit_kw is not None and facts is not None:
        limit_wh = int(limit_kw * 1_000 * facts.slot_length_s / 3_600)
        levels = (
            Level(
                limit_wh / 1000, f"feeder limit: at most {limit_wh / 1000:g} kWh traded locally per slot", LIMIT_COLOR
            ),
        )
        marked = tuple(i for i, s in enumerate(result.slots) if s.traded_wh >= limit_wh)
    return SlotChart(
        key="grid-flows",
        title="Grid import and export per slot",
        y_title="kWh per slot",
        series=(
            Series(import_name, "grid_import_wh", "bar", GRID_IMPORT_COLOR),
            Series(export_name, "grid_export_wh", "bar", GRID_EXPORT_COLOR, below=True),
            Series("bought locally (traded)", "local_wh", "line", LOCAL_COLOR),
        ),
        columns={
            "grid_import_wh": _column_sum(imports, n),
            "grid_export_wh": _column_sum(exports, n),
            "local_wh": [s.traded_wh for s in result.slots],
        },
        household_columns={"grid_import_wh": imports, "grid_export_wh": exports, "local_wh": bought},
        levels=levels,
        marked=marked,
        marked_label="slot at the feeder limit",
        notes=tariff_notes,
    )


#: A battery's series in HouseholdRecord, as the battery chart's columns.
_BATTERY_COLUMNS = {
    "charge_wh": "battery_charge_wh_per_slot",
    "discharge_wh": "battery_discharge_wh_per_slot",
    "soc_wh": "battery_soc_wh_per_slot",
}


def battery_chart(result: RunResult) -> SlotChart | None:
    """The home batteries' charge and discharge per slot and their state of charge at each slot's end, summed over
    the households with one (a household without a battery: zeros). None when no household recorded a battery."""
    hs, n = result.households, len(result.slots)
    with_battery = [h for h in hs if len(h.battery_soc_wh_per_slot) == n]
    if not n or not with_battery:
        return None
    rows = {
        column: [list(getattr(h, name)) if len(getattr(h, name)) == n else [0] * n for h in hs]
        for column, name in _BATTERY_COLUMNS.items()
    }
    return SlotChart(
        key="battery",
        title="Home batteries per slot",
        y_title="kWh (stored; charged or discharged in the slot)",
        series=(
            Series("charged", "charge_wh", "bar", BATTERY_CHARGE_COLOR),
            Series("discharged (below 0)", "discharge_wh", "bar", BATTERY_DISCHARGE_COLOR, below=True),
            Series("state of charge (at the slot's end)", "soc_wh", "line", BATTERY_SOC_COLOR),
        ),
        columns={column: _column_sum(values, n) for column, values in rows.items()},
        household_columns=rows,
        notes=(f"{len(with_battery):,} of {len(hs):,} households have a battery",),
    )


def slot_charts(result: RunResult) -> list[SlotChart]:
    """Every spec-defined chart this run has data for, in the page's order."""
    return [chart for chart in (grid_chart(result), battery_chart(result)) if chart is not None]
