"""The report folder of a run: the last step of the one-way flow, and the only one people read.

A folder holds `summary.json` (totals plus every record, so `p2p-energy report`
can show the run again without a chain), CSV files for spreadsheets, and PNG
plots. Each file is written to a temporary name and renamed into place, and
summary.json comes last, so a crash never leaves a half file and a folder with
a summary.json is a complete report.

Plots use matplotlib's object API with the Agg canvas (no pyplot, no global
state, no display needed); matplotlib is imported only when plots are drawn,
so the CLI starts fast.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.output.records import (
    RECORD_LISTS,
    SETTLE_OPERATION,
    HouseholdRecord,
    RunResult,
    RunTotals,
    SlotRecord,
    TradeRecord,
    encode_record,
    nrg_value,
    per_count,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

REPORT_FORMAT = "p2p-energy report"
REPORT_VERSION = 1
SUMMARY_FILE = "summary.json"
#: The design's target for amortized settleLots gas per settled trade in batch mode.
GAS_TARGET_PER_SETTLED_TRADE = 25_000
#: Households drawn as one labelled bar each; more are drawn as a ranked curve.
_LABELLED_HOUSEHOLDS = 40
_TOP_HOUSEHOLDS = 5
#: Failed transactions listed on screen; summary.json holds them all.
_SHOWN_FAILURES = 20
_DPI = 110


class ReportError(P2PEnergyError):
    """The report folder could not be written (disk full, permissions changed mid-run)."""


@dataclass(frozen=True)
class ReportFiles:
    """Where `write_report` put each file."""

    out_dir: Path
    summary: Path
    trades_csv: Path
    households_csv: Path
    slots_csv: Path
    energy_plot: Path
    price_plot: Path
    balance_plot: Path
    gas_plot: Path

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(getattr(self, f.name) for f in fields(self) if f.name != "out_dir")


def write_report(result: RunResult, out_dir: Path) -> ReportFiles:
    """Write the report folder of `result` (created if missing; files of an older report are replaced)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"report folder {out_dir} is a file: name a folder (it is created if missing)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create report folder {out_dir}: {exc.strerror}; choose a writable place") from exc
    files = ReportFiles(
        out_dir=out_dir,
        summary=out_dir / SUMMARY_FILE,
        trades_csv=out_dir / "trades.csv",
        households_csv=out_dir / "households.csv",
        slots_csv=out_dir / "slots.csv",
        energy_plot=out_dir / "energy_per_slot.png",
        price_plot=out_dir / "price_per_slot.png",
        balance_plot=out_dir / "household_balance.png",
        gas_plot=out_dir / "gas_per_trade.png",
    )
    # Encoded first: a run that cannot be written (a NaN, say) fails before any file is touched.
    summary = {"format": REPORT_FORMAT, "format_version": REPORT_VERSION, **result.to_json()}
    try:
        summary_text = _summary_json(summary)
    except ValueError as exc:
        raise ReportError(f"the run's records cannot be written as JSON ({exc}); no file was written") from exc
    _write_atomic(files.trades_csv, _csv(TradeRecord, result.trades))
    _write_atomic(files.households_csv, _csv(HouseholdRecord, result.households))
    _write_atomic(files.slots_csv, _csv(SlotRecord, result.slots))
    _write_atomic(files.energy_plot, _png(_energy_figure(result)))
    _write_atomic(files.price_plot, _png(_price_figure(result)))
    _write_atomic(files.balance_plot, _png(_balance_figure(result)))
    _write_atomic(files.gas_plot, _png(_gas_figure(result)))
    _write_atomic(files.summary, summary_text.encode())
    return files


def load_report(out_dir: Path) -> RunResult:
    """Read a run back from the summary.json of a report folder."""
    out_dir = Path(out_dir)
    path = out_dir / SUMMARY_FILE
    hint = "pass a folder that `p2p-energy simulate` wrote"
    if not out_dir.is_dir():
        raise UsageError(f"report folder {out_dir} does not exist: {hint}")
    if not path.is_file():
        raise UsageError(f"{out_dir} holds no {SUMMARY_FILE}, so it is no report folder: {hint}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path} is not valid JSON ({exc}): run the simulation again to rewrite it") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
        raise UsageError(f'{path} is not a p2p-energy report (no "format": "{REPORT_FORMAT}"): {hint}')
    if data.get("format_version") != REPORT_VERSION:
        raise UsageError(
            f"{path} is report format version {data.get('format_version')!r}; this p2p-energy reads version "
            f"{REPORT_VERSION}: run the simulation again to rewrite it"
        )
    try:
        return RunResult.from_json(data)
    except ValueError as exc:
        raise UsageError(f"{path} is not a valid report: {exc}") from exc


# -- files ------------------------------------------------------------------------------------------


def _write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise


def _columns(record_type: type[Any]) -> list[str]:
    """CSV columns in the order `encode_record` produces its keys."""
    names = [f.name for f in fields(record_type)]
    for name in record_type.NRG_FIELDS:
        if name not in names:
            names.append(name)
        names.append(f"{name}_nrg")
    return names


def _csv(record_type: type[Any], records: Sequence[Any]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_columns(record_type), lineterminator="\n")
    writer.writeheader()
    writer.writerows(encode_record(record) for record in records)
    return buffer.getvalue().encode()


def _summary_json(data: dict[str, Any]) -> str:
    """Indented JSON, except that each record of the long lists takes one line (smaller, greppable)."""
    parts = []
    for key, value in data.items():
        if key in RECORD_LISTS and value:
            body = ",\n".join(f"    {json.dumps(item, allow_nan=False)}" for item in value)
            text = f"[\n{body}\n  ]"
        else:
            text = json.dumps(value, indent=2, allow_nan=False).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


# -- plots ------------------------------------------------------------------------------------------


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def _nrg(base_units: int) -> float:
    return float(nrg_value(base_units))


def _title(figure: Figure, ax: Axes, title: str, result: RunResult, subtitle: str) -> None:
    figure.suptitle(f"{title} — scenario {result.scenario!r}, seed {result.seed}", fontweight="bold")
    ax.set_title(subtitle, fontsize="medium", color="#444444")


def _per_slot_axes(ax: Axes, slots: Sequence[SlotRecord], ylabel: str, legend: Literal["upper left", "best"]) -> None:
    """Delivery slots along x (at most 12 labels), a quantity from zero up along y."""
    step = max(1, math.ceil(len(slots) / 12))
    ticks = list(range(0, len(slots), step))
    ax.set_xticks(ticks, [slots[i].start_time for i in ticks])
    ax.set_xlim(-0.6, len(slots) - 0.4)
    ax.set_xlabel("delivery slot (start time)")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc=legend, fontsize="small")


def _no_data(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", color="#888888", fontsize="large")


def _energy_figure(result: RunResult) -> Figure:
    slots, totals = result.slots, result.totals()
    figure = _figure(11, 5.5)
    ax = figure.add_subplot()
    delivered_share = f"{totals.delivered_wh / totals.traded_wh:.1%}" if totals.traded_wh else "n/a"
    _title(
        figure,
        ax,
        "Energy per delivery slot",
        result,
        f"traded {totals.traded_wh / 1000:,.1f} kWh of {totals.offered_wh / 1000:,.1f} kWh offered; "
        f"meters proved {totals.delivered_wh / 1000:,.1f} kWh delivered ({delivered_share} of traded)",
    )
    if not slots:
        _no_data(ax, "no slots in this run")
        return figure
    x = list(range(len(slots)))
    ax.fill_between(
        x, [s.generated_wh / 1000 for s in slots], step="mid", color="#f2c94c", alpha=0.45, label="generated (PV)"
    )
    ax.step(x, [s.load_wh / 1000 for s in slots], where="mid", color="#555555", ls="--", lw=1.2, label="load")
    ax.step(x, [s.offered_wh / 1000 for s in slots], where="mid", color="#e67e22", lw=1.6, label="offered")
    ax.bar(x, [s.traded_wh / 1000 for s in slots], width=0.8, color="#9ecae1", label="traded (taken by buyers)")
    ax.bar(x, [s.delivered_wh / 1000 for s in slots], width=0.45, color="#08519c", label="delivered (meter-proven)")
    _per_slot_axes(ax, slots, "energy per slot (kWh)", legend="upper left")
    return figure


def _price_figure(result: RunResult) -> Figure:
    slots, totals = result.slots, result.totals()
    figure = _figure(11, 5)
    ax = figure.add_subplot()
    mean = "n/a" if totals.mean_price_per_kwh is None else f"{_nrg(totals.mean_price_per_kwh):.4f} NRG/kWh"
    _title(figure, ax, "Price per delivery slot", result, f"volume-weighted mean over the run: {mean}")
    if not result.trades or not slots:
        _no_data(ax, "no trades in this run")
        return figure
    position = {s.slot: i for i, s in enumerate(slots)}
    prices: dict[int, list[int]] = defaultdict(list)
    for trade in result.trades:
        if trade.slot in position:
            prices[position[trade.slot]].append(trade.price_per_kwh)
    ranged = sorted(prices)
    low = [_nrg(min(prices[i])) for i in ranged]
    ax.bar(
        ranged,
        [_nrg(max(prices[i])) - lo for i, lo in zip(ranged, low, strict=True)],
        bottom=low,
        width=0.6,
        color="#9ecae1",
        alpha=0.8,
        label="range of trade prices (lowest to highest)",
    )
    nan = float("nan")
    x = list(range(len(slots)))
    if any(s.clearing_price is not None for s in slots):  # uniform-price mode only
        clearing = [nan if s.clearing_price is None else _nrg(s.clearing_price) for s in slots]
        ax.step(x, clearing, where="mid", color="#e67e22", ls="--", lw=1.5, label="clearing price")
    mean_prices = [nan if s.mean_price is None else _nrg(s.mean_price) for s in slots]
    marker = "o" if len(slots) <= 48 else None
    ax.plot(x, mean_prices, color="#08519c", marker=marker, ms=4, lw=1.5, label="mean price (volume-weighted)")
    _per_slot_axes(ax, slots, "price (NRG per kWh)", legend="best")
    return figure


def _balance_figure(result: RunResult) -> Figure:
    ranked = sorted(result.households, key=lambda h: (-h.net_tokens, h.name))
    labelled = len(ranked) <= _LABELLED_HOUSEHOLDS
    figure = _figure(10, max(4.0, 1.8 + 0.26 * len(ranked)) if labelled else 5.5)
    ax = figure.add_subplot()
    gained = sum(1 for h in ranked if h.net_tokens > 0)
    spent = sum(1 for h in ranked if h.net_tokens < 0)
    _title(
        figure,
        ax,
        "Net token balance per household",
        result,
        f"tokens at the end minus at the start: {gained} households gained, {spent} paid, "
        f"{len(ranked) - gained - spent} unchanged",
    )
    if not ranked:
        _no_data(ax, "no households in this run")
        return figure
    values = [_nrg(h.net_tokens) for h in ranked]
    colors = ["#2e7d32" if v > 0 else "#c62828" for v in values]
    if labelled:
        y = list(range(len(ranked)))
        ax.barh(y, values, color=colors)
        ax.set_yticks(y, [h.name for h in ranked], fontsize="small")
        ax.invert_yaxis()
        ax.axvline(0, color="#333333", lw=0.8)
        ax.set_xlabel("net balance change over the run (NRG)")
        ax.grid(axis="x", alpha=0.3)
    else:
        x = list(range(1, len(ranked) + 1))
        ax.fill_between(x, values, where=[v > 0 for v in values], color="#2e7d32", alpha=0.8, label="gained (sellers)")
        ax.fill_between(x, values, where=[v < 0 for v in values], color="#c62828", alpha=0.8, label="paid (buyers)")
        ax.axhline(0, color="#333333", lw=0.8)
        for household, at, align in ((ranked[0], 1, "left"), (ranked[-1], len(ranked), "right")):
            ax.annotate(
                f"{household.name}: {_nrg(household.net_tokens):+,.2f}",
                (at, _nrg(household.net_tokens)),
                textcoords="offset points",
                xytext=(6 if align == "left" else -6, 0),
                ha=align,
                va="center",
                fontsize="small",
            )
        ax.set_xlim(1, len(ranked))
        ax.set_xlabel(f"households ranked by net balance (1 = largest gain, {len(ranked):,} households)")
        ax.set_ylabel("net balance change over the run (NRG)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(loc="upper right", fontsize="small")
    return figure


def _gas_figure(result: RunResult) -> Figure:
    totals = result.totals()
    operations = sorted(totals.gas_per_operation, key=lambda op: totals.gas_per_operation[op])
    figure = _figure(12, max(4.0, 2.2 + 0.4 * len(operations)))
    left, right = figure.subplots(1, 2, sharey=True)
    figure.suptitle(f"Gas — scenario {result.scenario!r}, seed {result.seed}", fontweight="bold")
    if not operations:
        _no_data(left, "no gas recorded")
        return figure
    settled = totals.settled_trades
    y = list(range(len(operations)))
    colors = ["#08519c" if op == SETTLE_OPERATION else "#9ecae1" for op in operations]
    if settled:
        per_trade = [totals.gas_per_operation[op] // settled for op in operations]
        left.barh(y, per_trade, color=colors)
        left.xaxis.set_major_formatter("{x:,.0f}")
        for i, value in enumerate(per_trade):
            left.annotate(
                f"{value:,}",
                (value, i),
                textcoords="offset points",
                xytext=(3, 0),
                va="center",
                fontsize="small",
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1, "alpha": 0.8},
            )
        left.axvline(GAS_TARGET_PER_SETTLED_TRADE, color="#c62828", ls="--", lw=1.2)
        left.annotate(
            f"target for {SETTLE_OPERATION}: {GAS_TARGET_PER_SETTLED_TRADE:,}",
            (GAS_TARGET_PER_SETTLED_TRADE, 1.0),
            xycoords=("data", "axes fraction"),
            textcoords="offset points",
            xytext=(3, -12),
            color="#c62828",
            fontsize="small",
        )
        left.set_xlim(right=max(*per_trade, GAS_TARGET_PER_SETTLED_TRADE) * 1.25)
        left.set_title(
            f"per settled trade ({settled:,} settled): {SETTLE_OPERATION} {totals.settle_gas_per_settled_trade:,}, "
            f"all gas {totals.all_gas_per_settled_trade:,}",
            fontsize="medium",
            color="#444444",
        )
    else:
        _no_data(left, "no settled trades")
    left.set_yticks(y, operations)
    left.set_xlabel("gas per settled trade (operation's total gas / settled trades)")
    left.grid(axis="x", alpha=0.3)
    per_transaction = [
        totals.gas_per_operation[op] // max(1, totals.transactions_per_operation[op]) for op in operations
    ]
    right.barh(y, per_transaction, color=colors)
    for i, op in enumerate(operations):
        count = totals.transactions_per_operation[op]
        right.annotate(
            f"{per_transaction[i]:,.0f} gas x {count:,} tx",
            (per_transaction[i], i),
            textcoords="offset points",
            xytext=(3, 0),
            va="center",
            fontsize="small",
        )
    right.set_xscale("log")
    right.set_xlim(right=max(per_transaction) * 8)
    right.set_xlabel("gas per transaction (log scale)")
    right.set_title(f"{totals.transactions:,} transactions, {totals.gas:,} gas in all", fontsize="medium")
    right.grid(axis="x", alpha=0.3)
    return figure


# -- console ----------------------------------------------------------------------------------------


def _kwh(wh: int) -> str:
    return f"{wh / 1000:,.2f}"


def _tokens(base_units: int | None, places: int = 4) -> str:
    if base_units is None:
        return "-"
    return f"{nrg_value(base_units).quantize(Decimal(1).scaleb(-places)):,}"


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def render_summary(result: RunResult, console: Console) -> None:
    """Print the run's summary tables: run, totals, gas, attacks, checks, top households."""
    totals = result.totals()
    console.print(_run_table(result))
    console.print(_totals_table(totals))
    console.print(_gas_table(totals))
    if result.attacks:
        attacks = Table("attack", "submitted", "rejected", "reasons", title="attacks (all must be rejected)")
        for attack in result.attacks:
            style = "green" if attack.rejected == attack.submitted else "bold red"
            attacks.add_row(
                escape(attack.kind),
                f"{attack.submitted:,}",
                f"[{style}]{attack.rejected:,}[/]",
                escape(", ".join(attack.reasons)),
            )
        console.print(attacks)
    else:
        console.print("no attacks were submitted in this run")
    if result.checks:
        checks = Table("check", "result", title=f"checks: {totals.checks_passed} of {len(result.checks)} passed")
        for name, passed in result.checks.items():
            checks.add_row(escape(name), "[green]passed[/]" if passed else "[bold red]FAILED[/]")
        console.print(checks)
    if result.failures:
        failures = Table("what failed, and why", title=f"failures: {len(result.failures):,}")
        for line in result.failures[:_SHOWN_FAILURES]:
            failures.add_row(escape(line))
        if len(result.failures) > _SHOWN_FAILURES:
            failures.add_row(f"... {len(result.failures) - _SHOWN_FAILURES:,} more in {SUMMARY_FILE}")
        console.print(failures)
    if result.households:
        console.print(_households_table(result.households))


def _run_table(result: RunResult) -> Table:
    table = Table("run", "", title=f"scenario {escape(result.scenario)}, seed {result.seed}", show_header=False)
    table.add_row("chain", escape(f"id {result.chain_id}, EVM {result.evm_version}, {result.rpc_url}"))
    for contract, address in result.deployment.items():
        table.add_row(escape(contract), escape(address))
    table.add_row("started", escape(result.started_at))
    table.add_row("wall time", f"{result.wall_time_s:,.2f} s")
    for phase, seconds in result.timings.items():
        table.add_row(f"  {escape(phase)}", f"{seconds:,.2f} s")
    return table


def _totals_table(totals: RunTotals) -> Table:
    delivered = f" ({totals.delivered_wh / totals.traded_wh:.1%} of traded)" if totals.traded_wh else ""
    table = Table("total", "value", title="totals")
    table.add_row("households / slots", f"{totals.households:,} / {totals.slots:,}")
    table.add_row(
        "trades", f"{totals.trades:,} ({totals.settled_trades:,} settled, {totals.refunded_trades:,} refunded)"
    )
    table.add_row("generated / load kWh", f"{_kwh(totals.generated_wh)} / {_kwh(totals.load_wh)}")
    table.add_row("offered kWh", _kwh(totals.offered_wh))
    table.add_row("traded kWh", _kwh(totals.traded_wh))
    table.add_row("delivered kWh", _kwh(totals.delivered_wh) + delivered)
    table.add_row("escrowed NRG", _tokens(totals.tokens_escrowed))
    table.add_row("paid to sellers NRG", _tokens(totals.tokens_paid))
    table.add_row("refunded to buyers NRG", _tokens(totals.tokens_refunded))
    table.add_row("mean price NRG/kWh", _tokens(totals.mean_price_per_kwh))
    table.add_row("attacks rejected", f"{totals.attacks_rejected:,} of {totals.attacks_submitted:,}")
    return table


def _gas_table(totals: RunTotals) -> Table:
    settled = totals.settled_trades
    table = Table(
        "operation", "transactions", "gas", "gas / tx", "gas / settled trade", title=f"gas ({settled:,} settled trades)"
    )
    for op, gas in sorted(totals.gas_per_operation.items(), key=lambda item: -item[1]):
        count = totals.transactions_per_operation[op]
        table.add_row(
            escape(op), f"{count:,}", f"{gas:,}", _count(per_count(gas, count)), _count(per_count(gas, settled))
        )
    table.add_section()
    table.add_row("all", f"{totals.transactions:,}", f"{totals.gas:,}", "", _count(totals.all_gas_per_settled_trade))
    table.add_row(f"{SETTLE_OPERATION} only", "", "", "", _count(totals.settle_gas_per_settled_trade))
    table.add_row("settlement incl. readings", "", "", "", _count(totals.settlement_gas_per_settled_trade))
    table.add_row("trading (no set-up)", "", "", "", _count(totals.trading_gas_per_settled_trade))
    return table


def _households_table(households: Sequence[HouseholdRecord]) -> Table:
    ranked = sorted(households, key=lambda h: (-h.net_tokens, h.name))
    if len(ranked) > 2 * _TOP_HOUSEHOLDS:
        shown = ranked[:_TOP_HOUSEHOLDS] + ranked[-_TOP_HOUSEHOLDS:]
        title = f"households: top {_TOP_HOUSEHOLDS} gains and top {_TOP_HOUSEHOLDS} payments of {len(ranked):,}"
    else:
        shown, title = ranked, "households"
    table = Table("household", "PV kWp", "sold kWh", "delivered kWh", "bought kWh", "net NRG", title=title)
    for i, h in enumerate(shown):
        if i == _TOP_HOUSEHOLDS and len(shown) < len(ranked):
            table.add_section()
        table.add_row(
            escape(h.name),
            f"{h.pv_kwp:.1f}",
            _kwh(h.sold_wh),
            _kwh(h.delivered_wh),
            _kwh(h.bought_wh),
            ("+" if h.net_tokens > 0 else "") + _tokens(h.net_tokens),
        )
    return table
