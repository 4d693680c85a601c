"""The report folder of a run: the last step of the one-way flow, and the only one people read.

A folder holds `summary.json` (totals plus every record, so `p2p-energy report`
can show the run again without a chain), `report.html` (one self-contained page:
summary, checks, interactive charts, the trades), CSV files for spreadsheets (trades,
households, slots, and every transaction with its hash and block) and, on request (`simulate --png`),
PNG plots for papers (drawing the five there were then took 6.1 s of a 43 s city-day run, so they are not
drawn by default).
Trade ids are written as strings in JSON and CSV: they exceed 2^53, which readers
with only doubles (JavaScript, jq, spreadsheets) would round. The whole folder is
written under a temporary name beside its place and renamed into place, so a report
folder is whole or absent: an interrupted write leaves the previous report (or none),
and a new report replaces an old one whole, except that the run record `run.json`
(written by the run, read by `simulate --resume`) is carried over into the new folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.files import write_whole
from p2p_energy.output import plots, spec_plots
from p2p_energy.output.timings import time_lines
from p2p_energy.records.bill_records import KpiRecord
from p2p_energy.records.clock_records import ClockRecord
from p2p_energy.records.fees import RunFees
from p2p_energy.records.grid_records import grid_lines
from p2p_energy.records.record_csv import csv_bytes
from p2p_energy.records.run_records import (
    READINGS_OPERATION,
    RECORD_LISTS,
    SETTLE_OPERATION,
    CallRecord,
    HouseholdRecord,
    RecordError,
    RunResult,
    RunTotals,
    SlotRecord,
    TradeRecord,
    nrg_value,
    per_count,
)

REPORT_FORMAT = "p2p-energy report"
REPORT_VERSION = 1
SUMMARY_FILE = "summary.json"
PAGE_FILE = "report.html"
_TOP_HOUSEHOLDS = 5
#: Failed transactions listed on screen; summary.json holds them all.
_SHOWN_FAILURES = 20
_HINT = "pass a folder that `p2p-energy simulate` wrote"
#: Files of an older report folder that a new report keeps: the run record that `simulate --resume`
#: reads (p2p_energy.run.resume.RUN_RECORD_FILE; written by the run, not by the report).
CARRIED_OVER = ("run.json",)
#: The fields of ReportFiles that name PNG plots (written only on request).
_PLOTS = ("energy_plot", "price_plot", "balance_plot", "gas_plot", "bills_plot")


class ReportError(P2PEnergyError):
    """The report folder could not be written (disk full, permissions changed mid-run)."""


@dataclass(frozen=True)
class ReportFiles:
    """Where `write_report` put each file."""

    out_dir: Path
    summary: Path
    page: Path
    trades_csv: Path
    households_csv: Path
    slots_csv: Path
    calls_csv: Path
    energy_plot: Path | None = None
    price_plot: Path | None = None
    balance_plot: Path | None = None
    gas_plot: Path | None = None
    bills_plot: Path | None = None
    grid_plot: Path | None = None
    battery_plot: Path | None = None

    @property
    def paths(self) -> tuple[Path, ...]:
        """The files written (the PNG plots only when asked for)."""
        return tuple(path for f in fields(self) if f.name != "out_dir" and (path := getattr(self, f.name)) is not None)

    @classmethod
    def of(cls, out_dir: Path, png: bool = False) -> ReportFiles:
        """The files of a report folder at `out_dir`, with its PNG plots if `png`."""

        def plot(name: str) -> Path | None:
            return out_dir / name if png else None

        return cls(
            out_dir=out_dir,
            summary=out_dir / SUMMARY_FILE,
            page=out_dir / PAGE_FILE,
            trades_csv=out_dir / "trades.csv",
            households_csv=out_dir / "households.csv",
            slots_csv=out_dir / "slots.csv",
            calls_csv=out_dir / "calls.csv",
            energy_plot=plot("energy_per_slot.png"),
            price_plot=plot("price_per_slot.png"),
            balance_plot=plot("household_balance.png"),
            gas_plot=plot("gas_per_trade.png"),
            bills_plot=plot("bills_per_household.png"),
            grid_plot=plot("grid_per_slot.png"),
            battery_plot=plot("battery_per_slot.png"),
        )


def write_report(result: RunResult, out_dir: Path, png: bool = False) -> ReportFiles:
    """Write the report folder of `result`: built beside it, then renamed into place (replacing an older one).

    The PNG plots are drawn only if `png`; a new report without them replaces an older one with them whole.
    """
    from p2p_energy.output.page import render_page

    out_dir = Path(out_dir)
    check_report_folder(out_dir)
    place = out_dir.resolve()  # the real folder (behind a link; never "."), beside which it is built
    try:
        place.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create report folder {out_dir}: {exc.strerror}; choose a writable place") from exc
    # Encoded first: a run that cannot be written (a NaN, say) fails before any file is touched.
    summary = {"format": REPORT_FORMAT, "format_version": REPORT_VERSION, **result.to_json()}
    try:
        summary_text = _summary_json(summary)
    except ValueError as exc:
        raise ReportError(f"the run's records cannot be written as JSON ({exc}); no file was written") from exc
    contents: list[tuple[str, Any]] = [
        ("summary", lambda: summary_text.encode()),
        ("page", lambda: render_page(result).encode()),
        ("trades_csv", lambda: csv_bytes(TradeRecord, result.trades)),
        ("households_csv", lambda: csv_bytes(HouseholdRecord, result.households)),
        ("slots_csv", lambda: csv_bytes(SlotRecord, result.slots)),
        ("calls_csv", lambda: csv_bytes(CallRecord, result.calls)),
    ]
    if png:
        contents += [(name, lambda draw=draw: plots.png(draw(result))) for name, draw in _plot_figures().items()]
        contents += [
            ("grid_plot", lambda: spec_plots.grid_png(result)),
            ("battery_plot", lambda: spec_plots.battery_png(result)),
        ]
    try:
        building = Path(tempfile.mkdtemp(dir=place.parent, prefix=f".{place.name}.writing-"))
        os.chmod(building, 0o755)  # mkdtemp makes it private; a report folder is for reading
    except OSError as exc:
        raise ReportError(f"cannot write the report beside {out_dir}: {exc.strerror or exc}") from exc
    try:
        staged = ReportFiles.of(building, png=True)
        for name, content in contents:
            _write_file(getattr(staged, name), content())
        _carry_over(place, building)
        _swap_into_place(building, place)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return ReportFiles.of(out_dir, png=png)


def _plot_figures() -> dict[str, Any]:
    """Each PNG plot's field of ReportFiles and the function that draws its figure (looked up when drawn)."""
    draws = (plots.energy_figure, plots.price_figure, plots.balance_figure, plots.gas_figure, plots.bills_figure)
    return dict(zip(_PLOTS, draws, strict=True))


def check_report_folder(out_dir: Path) -> None:
    """Refuse a report folder that a new report must not replace: a file, or a folder of other things.

    A report replaces its folder whole, so the folder must be missing, empty, or hold a report (its
    summary.json says so, or it holds nothing but report files and the run record).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"report folder {out_dir} is a file: name a folder (it is created if missing)")
    if not out_dir.is_dir():
        return
    ours = {p.name for p in ReportFiles.of(out_dir, png=True).paths} | set(CARRIED_OVER)
    others = sorted(p.name for p in out_dir.iterdir() if p.name not in ours and not p.name.startswith("."))
    if others and not _is_report(out_dir / SUMMARY_FILE):
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise UsageError(
            f"{out_dir} holds other files ({shown}) and no report, and a report replaces its folder whole: "
            "name a new or empty folder"
        )


def _is_report(summary: Path) -> bool:
    try:
        with summary.open(encoding="utf-8") as handle:
            return f'"format": "{REPORT_FORMAT}"' in handle.read(200)
    except (OSError, UnicodeDecodeError):
        return False


def write_page(result: RunResult, out_dir: Path) -> Path:
    """(Re)write only report.html of an existing report folder (for reports written before pages existed)."""
    from p2p_energy.output.page import render_page

    path = Path(out_dir) / PAGE_FILE
    write_file_atomic(path, render_page(result).encode())
    return path


def load_report(out_dir: Path) -> RunResult:
    """Read a run back from the summary.json of a report folder."""
    out_dir = Path(out_dir)
    path = out_dir / SUMMARY_FILE
    if out_dir.is_file():
        raise UsageError(f"{out_dir} is a file: pass the report folder that holds it ({out_dir.parent})")
    if not out_dir.is_dir():
        raise UsageError(f"report folder {out_dir} does not exist: {_HINT}")
    if not path.is_file():
        raise UsageError(f"{out_dir} holds no {SUMMARY_FILE}, so it is no report folder: {_HINT}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path} is not valid JSON ({exc}): run the simulation again to rewrite it") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
        raise UsageError(f'{path} is not a p2p-energy report (no "format": "{REPORT_FORMAT}"): {_HINT}')
    if data.get("format_version") != REPORT_VERSION:
        raise UsageError(
            f"{path} is report format version {data.get('format_version')!r}; this p2p-energy reads version "
            f"{REPORT_VERSION}: run the simulation again to rewrite it"
        )
    try:
        return RunResult.from_json(data)
    except RecordError as exc:
        if exc.missing:
            problem = f"the field {exc.place!r} is missing"
        else:
            problem = f"{exc.place}: {exc.problem}" if exc.place else exc.problem
        raise UsageError(f"{path}: {problem}; run the simulation again to rewrite it") from exc
    except ValueError as exc:
        raise UsageError(f"{path} is not a valid report: {exc}") from exc


# -- files ------------------------------------------------------------------------------------------


def _write_file(path: Path, data: bytes) -> None:
    try:
        with path.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(path, 0o644)
    except OSError as exc:
        raise ReportError(f"cannot write {path.name} of the report: {exc.strerror or exc}") from exc


def write_file_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path` (:func:`files.write_whole`)."""

    def write(out: BinaryIO) -> bool:
        out.write(data)
        os.fchmod(out.fileno(), 0o644)
        return True

    try:
        write_whole(path, write)
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _carry_over(old: Path, new: Path) -> None:
    """Link (or copy) into `new` the files of `old` that outlive a report (CARRIED_OVER)."""
    for name in CARRIED_OVER:
        path = old / name
        if not path.is_file():
            continue
        try:
            os.link(path, new / name)
        except OSError:
            try:
                shutil.copy2(path, new / name)
            except OSError as exc:
                raise ReportError(f"cannot keep {path} in the new report: {exc.strerror or exc}") from exc


def _swap_into_place(building: Path, out_dir: Path) -> None:
    """Rename the finished folder to `out_dir`; an older folder there is moved aside first, then deleted."""
    old = None
    try:
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.old-"))
            os.replace(out_dir, old)  # onto the empty folder just made: the name is ours alone
        os.replace(building, out_dir)
    except BaseException as exc:
        if old is not None and not out_dir.exists():
            os.replace(old, out_dir)  # the previous report comes back whole
            old = None
        if isinstance(exc, OSError):
            raise ReportError(f"cannot put the report in place at {out_dir}: {exc.strerror or exc}") from exc
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


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


# -- console ----------------------------------------------------------------------------------------


def _kwh(wh: int) -> str:
    return f"{wh / 1000:,.2f}"


def _tokens(base_units: int | None, places: int = 4) -> str:
    if base_units is None:
        return "-"
    return f"{nrg_value(base_units).quantize(Decimal(1).scaleb(-places)):,}"


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


#: Record lists `summary_figures` leaves out: per slot, per trade, per transaction (summary.json has them).
_PER_EVENT_LISTS = ("slots", "trades", "gas", "calls")


def summary_figures(result: RunResult, page: Path) -> dict[str, Any]:
    """`report --json`: what the summary tables show (the run, totals, fees, KPIs, households, checks,
    failures, attacks), as summary.json gives them, without its per-slot, per-trade and per-transaction lists."""
    data = {"format": REPORT_FORMAT, "format_version": REPORT_VERSION, **result.to_json()}
    return {**{k: v for k, v in data.items() if k not in _PER_EVENT_LISTS}, "page": str(page)}


def render_summary(result: RunResult, console: Console) -> None:
    """Print the run's summary tables: run, totals, gas, attacks, checks, top households."""
    totals = result.totals()
    console.print(_run_table(result))
    console.print(_totals_table(totals))
    lines = [*(kpi_lines(result.kpis) if result.kpis else []), *(grid_lines(result.grid) if result.grid else [])]
    for line in lines:
        console.print(escape(line), soft_wrap=True)
    console.print(_gas_table(totals, result.fees(totals)))
    console.print(escape(fee_line(result, totals)), soft_wrap=True)
    if result.clock is not None and result.clock.rounds:
        console.print(escape(clock_line(result.clock)), soft_wrap=True)
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
        # Every check passes on an empty market: the title says so, where a reader looks for the verdict.
        empty = "" if result.trades else "; no trade was made"
        checks = Table("check", "result", title=f"checks: {totals.checks_passed} of {len(result.checks)} passed{empty}")
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
        console.print(_households_table(result.households, with_bills=result.kpis is not None))


def _run_table(result: RunResult) -> Table:
    table = Table("run", "", title=f"scenario {escape(result.scenario)}, seed {result.seed}", show_header=False)
    table.add_row("chain", escape(f"id {result.chain_id}, EVM {result.evm_version}, {result.rpc_url}"))
    for contract, address in result.deployment.items():
        table.add_row(escape(contract), escape(address))
    table.add_row("started", escape(result.started_at))
    for line in time_lines(result.wall_time_s, result.timings):
        table.add_row("  " * line.depth + escape(line.label), f"{line.seconds:,.2f} s")
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


def share(value: float | None) -> str:
    """A KPI share as a percentage ("-" when there was nothing to share)."""
    return "-" if value is None else f"{value:.1%}"


def kpi_lines(kpis: KpiRecord) -> list[str]:
    """The neighbourhood's KPIs and what the market saved it against the grid alone, in two lines."""
    extra = ""
    if kpis.battery_losses_kwh:
        extra += f", battery losses {kpis.battery_losses_kwh:,.3f} kWh"
    if kpis.feeder_limit_bound_slots:
        extra += f", slots at the feeder limit: {kpis.feeder_limit_bound_slots:,}"
    return [
        f"KPIs: self-sufficiency {share(kpis.self_sufficiency)}, self-consumption {share(kpis.self_consumption)}, "
        f"local trade share {share(kpis.local_trade_share)}, peak grid import {kpis.peak_grid_import_kw:,.3f} kW"
        + extra,
        f"bills: grid-only {_tokens(kpis.bills_grid_only)} NRG, with the market {_tokens(kpis.bills_with_market)} NRG "
        f"(grid fees {_tokens(kpis.grid_fees)}): the market saved the neighbourhood "
        f"{_tokens(kpis.bill_savings_vs_grid)} NRG",
    ]


def _gas_table(totals: RunTotals, fees: RunFees) -> Table:
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
    if READINGS_OPERATION in totals.gas_per_operation:  # a run from before readings travelled inside settleLots
        table.add_row("settlement incl. readings", "", "", "", _count(totals.settlement_gas_per_settled_trade))
    table.add_row("trading (no set-up)", "", "", "", _count(totals.trading_gas_per_settled_trade))
    table.add_section()
    if fees.per_kwh_traded is not None:
        at = f"at {fees.gas_price} per gas" + (" (Qtum's minimum)" if fees.reference else "")
        table.add_row(f"chain fee per kWh traded, {at}", "", f"{fees.per_kwh_traded:.8f} {fees.currency}", "", "")
    if fees.share_of_value is not None:
        table.add_row("chain fee as a share of the value traded", "", f"{fees.share_of_value:.1%}", "", "")
    return table


def clock_line(clock: ClockRecord) -> str:
    """How the matching rounds met the chain's clock: blocks, the longest wait, late rounds, capacity taken."""
    f = clock.figures()
    beat = f"a block every {clock.block_time_s} s" if clock.block_time_s else "a block whenever a round needed one"
    line = (
        f"matching rounds ({beat}): {f['rounds_late']} of {f['rounds_sent']} mined after trading closed, "
        f"longest wait {f['longest_wait_s']:,} s, up to {f['max_blocks_per_round']} blocks a round, "
        f"{f['blocks_per_slot']:.2f} blocks per slot"
    )
    if f["block_capacity_share"] is not None:
        line += f"; the run's gas is {f['block_capacity_share']:.2%} of the chain's block capacity over the day"
    return line


def fee_line(result: RunResult, totals: RunTotals) -> str:
    """What the run's gas cost in the chain's coin per kWh traded and in all (at Qtum's 40 sat/gas where the run's
    gas was free, and said so), and as a share of the value traded where the scenario gives the coin's price."""
    fees = result.fees(totals)
    coin = fees.currency
    where = " (Qtum's minimum; this chain's gas was free)" if fees.reference else ""
    parts = [f"chain fee at {fees.gas_price:,} per gas{where}: {fees.total:.8f} {coin} in all"]
    if fees.per_kwh_traded is not None:
        parts.append(f"{fees.per_kwh_traded:.8f} {coin} per kWh traded")
    if fees.per_settled_trade is not None:
        parts.append(f"{fees.per_settled_trade:.8f} {coin} per settled trade")
    if fees.share_of_value is not None:
        parts.append(f"{fees.share_of_value:.1%} of the value traded")
    return ", ".join(parts)


def _households_table(households: Sequence[HouseholdRecord], with_bills: bool = False) -> Table:
    ranked = sorted(households, key=lambda h: (-h.net_tokens, h.name))
    if len(ranked) > 2 * _TOP_HOUSEHOLDS:
        shown = ranked[:_TOP_HOUSEHOLDS] + ranked[-_TOP_HOUSEHOLDS:]
        title = f"households: top {_TOP_HOUSEHOLDS} gains and top {_TOP_HOUSEHOLDS} payments of {len(ranked):,}"
    else:
        shown, title = ranked, "households"
    table = Table("household", "PV kWp", "sold kWh", "delivered kWh", "bought kWh", "net NRG", title=title)
    if with_bills:
        table.add_column("saving vs grid NRG")
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
            *([("+" if h.saving > 0 else "") + _tokens(h.saving)] if with_bills else []),
        )
    return table


def finished_report(out: Path) -> RunResult | None:
    """The report in `out` if it is of the run its run record describes and that run passed every check, else None.

    A report is written when its run ends and keeps the run record's file (linked, same time); a run started
    again into the folder writes a newer run record.
    """
    summary, record = out / SUMMARY_FILE, out / CARRIED_OVER[0]  # the run record
    if not (summary.is_file() and record.is_file()) or summary.stat().st_mtime < record.stat().st_mtime:
        return None
    try:
        result = load_report(out)
    except P2PEnergyError:
        return None
    return result if result.checks and all(result.checks.values()) else None
