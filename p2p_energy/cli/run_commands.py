"""The run commands: simulate a scenario, show a report again, compare reports."""

from __future__ import annotations

import argparse
import tempfile
import webbrowser
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, TextColumn

from p2p_energy.chain.backends import backend_kind
from p2p_energy.cli.common import print_json, say_to
from p2p_energy.cli.sweep_commands import SWEEP_META_FILE, cmd_report_sweep
from p2p_energy.domain.scenario import Scenario, load_scenario
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.files import folder_lock
from p2p_energy.output.compare import COMPARE_FILE, comparison_figures, load_runs, render_comparison, write_comparison
from p2p_energy.output.report import (
    PAGE_FILE,
    SUMMARY_FILE,
    check_report_folder,
    finished_report,
    load_report,
    render_summary,
    summary_figures,
    write_page,
    write_report,
)
from p2p_energy.run.context import Progress as RunProgress
from p2p_energy.run.context import RunFailed
from p2p_energy.run.deployment_record import DEFAULT_DIRECTORY
from p2p_energy.run.resume import RUN_RECORD_FILE
from p2p_energy.run.simulate import SimulateOptions, simulate_scenario
from p2p_energy.run.target import TargetOptions
from p2p_energy.solidity.toolchain import Toolchain


def cmd_simulate(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    scenario = load_scenario(args.scenario)  # a bad file stops here, before any chain is touched
    evm = args.evm or scenario.chain.evm
    # The scenario's [chain] profile shapes the local anvil; a Qtum node is not shaped, only an --profile given says so.
    shaped = args.rpc_url is None and backend_kind(args.backend).takes_profile
    profile = args.profile or (scenario.chain.profile if shaped else None)
    households = len(scenario.households)
    target = TargetOptions(
        rpc_url=args.rpc_url,
        network=args.network,
        profile=profile,
        evm_version=evm,
        private_key=args.private_key,
        accounts=households + 2 if args.node_accounts else 2,
        simulation=True,
        node_accounts=args.node_accounts,
        batched=not args.one_by_one,
        backend=args.backend,
        qtumd=args.qtumd,
        block_time=args.block_time,
        mine=not args.no_mine,
    )
    out = args.out or toolchain.root / "reports" / scenario.name
    _check_writable(out)  # refuse a folder where the report (or the run record, written first) cannot be written
    options = SimulateOptions(
        target=target,
        deployments=args.deployments or toolchain.root / DEFAULT_DIRECTORY,
        node_accounts=args.node_accounts,
        run_record=out / RUN_RECORD_FILE,
        resume=args.resume,
    )
    # One run per report folder: a second one would mix its files with the first's.
    with folder_lock(out, "its report"):
        check_report_folder(out)  # the report replaces this folder whole: refuse one of other things now
        finished = finished_report(out) if args.resume else None
        if finished is not None:
            # Nothing is left to send; a resume would only replace a good report with a worse one.
            render_summary(finished, console)
            say_to(console)(
                f"the run in {out} has finished (its report is newer than its run record, every check passed): "
                "nothing to resume"
            )
            return 0
        return _simulate(toolchain, scenario, options, out, console, png=args.png)


def _simulate(
    toolchain: Toolchain, scenario: Scenario, options: SimulateOptions, out: Path, console: Console, png: bool
) -> int:
    """`simulate` with its report folder held (see cmd_simulate); the report's PNG plots drawn if `png`."""
    households = len(scenario.households)
    say = say_to(console)
    say(f"scenario {scenario.name}: {households} households, {scenario.slots} slots of {scenario.slot_length_s} s")
    columns = (*Progress.get_default_columns(), TextColumn("{task.fields[trades]:,} trades"))
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("starting", total=None, trades=0)
        progress = RunProgress(
            phase=lambda text: bar.update(task, description=text),
            tick=lambda done, total, trades: bar.update(task, completed=done, total=total, trades=trades),
            note=say,
        )
        try:
            result = simulate_scenario(toolchain, scenario, options, progress, say)
        except RunFailed as failed:
            where = _failed_report_folder(out, options.resume)
            write_report(failed.result, where, png=png)
            render_summary(failed.result, console)
            raise P2PEnergyError(f"{failed}; the report is in {where}") from None
    files = write_report(result, out, png=png)
    render_summary(result, console)
    if not result.trades:
        # Every check passes on an empty market; a study built on it should not pass unnoticed.
        offered = sum(s.offered_wh for s in result.slots) / 1000
        say(
            f"warning: this run made no trade ({offered:,.1f} kWh offered): the households' funding, the prices or "
            "a feeder limit left nothing to match; see the scenario's [prices] and [grid]"
        )
    written = sum(1 for path in out.iterdir() if path.is_file())  # the report's files and the run record
    say(f"report: {out} ({written} files); `p2p-energy report {out}` shows this summary again")
    say(f"page: {files.page} (open it in a browser, or `p2p-energy report {out} --open`)")
    return 0


def _failed_report_folder(out: Path, resume: bool) -> Path:
    """Where a run that failed its checks writes its report: its own folder, unless it resumed a run whose report
    is there; that report is kept whole and this one goes beside it (`<folder>.failed-resume`)."""
    if resume and (out / SUMMARY_FILE).is_file():
        return out.with_name(f"{out.name}.failed-resume")
    return out


def _check_writable(out: Path) -> None:
    """Refuse, before anything is sent, an --out under a file or where no folder or file can be made."""
    place = Path(out).resolve()
    existing = next(folder for folder in (place, *place.parents) if folder.exists())
    if not existing.is_dir():
        raise UsageError(f"report folder {out}: {existing} is a file; name a folder (it is created if missing)")
    # The run record goes into the folder; the report is built beside it and renamed into place.
    for folder in dict.fromkeys((existing, place.parent if existing == place else existing)):
        try:
            tempfile.TemporaryDirectory(dir=folder, prefix=".p2p-energy-probe-").cleanup()
        except OSError as exc:
            raise UsageError(
                f"cannot write the report folder {out} in {folder}: {exc.strerror or exc}; choose another --out"
            ) from None


def cmd_report(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    if (Path(args.dir) / SWEEP_META_FILE).is_file():  # a sweep's folder: its table again
        return cmd_report_sweep(Path(args.dir), console)
    result = load_report(args.dir)
    page, note = Path(args.dir) / PAGE_FILE, ""
    if not page.is_file():  # a report written before report.html existed
        page, note = write_page(result, args.dir), " (written now from summary.json)"
    if args.json:
        print_json(summary_figures(result, page), console)
    else:
        render_summary(result, console)
        console.print(f"page: {page}{note}", markup=False, highlight=False, soft_wrap=True)
    if args.open:
        _open_page(page, console)
    return 0


def cmd_compare(args: argparse.Namespace, toolchain: Toolchain, console: Console) -> int:
    runs = load_runs(args.dirs)
    # The page first: a place it cannot go is an error (exit 2) before anything is printed.
    page = write_comparison(runs, args.out or toolchain.root / "reports" / COMPARE_FILE)
    if args.json:
        print_json(comparison_figures(runs, page), console)
    else:
        render_comparison(runs, console)
        console.print(f"page: {page}", markup=False, highlight=False, soft_wrap=True)
    if args.open:
        _open_page(page, console)
    return 0


def _open_page(page: Path, console: Console) -> None:
    if not webbrowser.open(page.resolve().as_uri()):
        console.print(f"no web browser found here: open {page} in one yourself", markup=False, soft_wrap=True)
