"""The argument parser: one small function per command, added in the order `--help` lists them.

It imports only the ground floor (defaults, limits, networks) and the toolchain's version, never web3 or
the chain: `p2p-energy --help` and a bad argument answer without loading them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from p2p_energy import __version__
from p2p_energy.defaults import (
    ANVIL_CHAIN_ID,
    BACKENDS,
    BENCH_OUT,
    BENCH_RUNS,
    DEFAULT_BACKEND,
    DEFAULT_DIRECTORY,
    DEFAULT_GRACE_PERIOD_S,
    DEFAULT_SLOT_LENGTH_S,
    PRIVATE_KEY_ENV,
    QTUMD_ENV,
    RUN_RECORD_FILE,
)
from p2p_energy.limits import MAX_TRADES_PER_LOT
from p2p_energy.networks import DEFAULT_EVM_VERSION, EVM_VERSIONS, network_names
from p2p_energy.solidity.toolchain import SOLC_VERSION


class _Parser(argparse.ArgumentParser):
    """Bad arguments give one line, like every other usage error, not the whole usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message}; see `{self.prog} --help`\n")


def _add_evm(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--evm",
        choices=EVM_VERSIONS,
        default=DEFAULT_EVM_VERSION,
        help=f"EVM target to compile for and run (default {DEFAULT_EVM_VERSION})",
    )


def _add_backend(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help=f"evm: any Ethereum JSON-RPC node (default); qtum: qtumd's own RPC ({what})",
    )
    parser.add_argument(
        "--qtumd",
        default=None,
        metavar="PATH",
        help=f"with --backend qtum: the qtumd to start (default ${QTUMD_ENV}, then PATH)",
    )


def _add_compile(commands: argparse._SubParsersAction[_Parser]) -> None:
    compile_cmd = commands.add_parser("compile", help="compile the contracts (cached by source hash)")
    _add_evm(compile_cmd)
    compile_cmd.add_argument("--force", action="store_true", help="ignore the cache and compile anew")


def _add_export(commands: argparse._SubParsersAction[_Parser]) -> None:
    export_cmd = commands.add_parser(
        "export",
        help="write artifacts for other tools: ABI, bytecode and solc metadata per contract, the recorded "
        "deployments with their ABIs, brownie's deployment map (docs/artifacts.md)",
    )
    _add_evm(export_cmd)
    export_cmd.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="where to write (default: build/export/ in the project)"
    )
    export_cmd.add_argument(
        "--deployments",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"folder of the deployment records to export (default: {DEFAULT_DIRECTORY}/ in the project)",
    )
    export_cmd.add_argument(
        "--brownie-build",
        type=Path,
        default=None,
        metavar="DIR",
        help="brownie's build folder whose deployments/ gets the market (default: build/ in the project)",
    )


def _add_chain(commands: argparse._SubParsersAction[_Parser]) -> None:
    chain_cmd = commands.add_parser(
        "chain", help="run a local anvil chain (or a qtumd regtest node) in the foreground (Ctrl-C stops it)"
    )
    _add_evm(chain_cmd)
    _add_backend(chain_cmd, "a regtest node with a funded wallet; prints its RPC URL with credentials")
    chain_cmd.add_argument(
        "--port",
        type=int,
        default=None,
        help="loopback RPC port (default 8545 for anvil, 13889 for qtumd: regtest's own; 0 = any free)",
    )
    chain_cmd.add_argument("--accounts", type=int, default=10, help="funded accounts (default 10)")
    chain_cmd.add_argument("--chain-id", type=int, default=None, help="chain id (default 31337, or the profile's)")
    chain_cmd.add_argument(
        "--state",
        type=Path,
        default=None,
        metavar="FILE",
        help="load the chain from FILE if it exists and save it there every second and on exit, always whole "
        "(so a stopped or killed chain can be restarted and a run continued with simulate --resume)",
    )
    chain_cmd.add_argument(
        "--prune-history",
        type=int,
        default=0,
        metavar="N",
        help="keep only the states of the last N blocks (anvil --prune-history N): about half the memory on a "
        "city-scale day; calls and replays against older blocks fail (runs on it, resumed ones too, explain old "
        "reverts from the traces anvil stores) (default 0: keep all; not with --state)",
    )
    chain_cmd.add_argument(
        "--profile",
        choices=network_names(),
        default=None,
        help="imitate a network preset: its chain id, block gas limit and gas price (see `p2p-energy networks`)",
    )
    chain_cmd.add_argument(
        "--simulation",
        action="store_true",
        help="the settings of the chain simulate starts for itself: block gas limit 1,000,000,000 and no base fee "
        "(gas costs nothing), for `simulate --rpc-url` runs like its own",
    )
    chain_cmd.add_argument(
        "--datadir",
        type=Path,
        default=None,
        metavar="DIR",
        help="with --backend qtum: keep the chain in DIR (default: a temporary folder, removed on exit)",
    )


def _add_networks(commands: argparse._SubParsersAction[_Parser]) -> None:
    commands.add_parser("networks", help="list the network presets (chain ids, gas price floors, RPC URLs)")


def _add_check_qtum(commands: argparse._SubParsersAction[_Parser]) -> None:
    check_cmd = commands.add_parser(
        "check-qtum", help="check the compiled contracts against a Qtum node's EVM rules (exit 1 on any finding)"
    )
    _add_evm(check_cmd)
    check_cmd.add_argument(
        "--compiled-for",
        choices=EVM_VERSIONS,
        default=None,
        help="check contracts compiled for this target instead (default: the --evm target)",
    )


def _add_demo(commands: argparse._SubParsersAction[_Parser]) -> None:
    demo_cmd = commands.add_parser(
        "demo", help="compile, start a local chain, deploy EnergyToken, mint to a few accounts, print balances"
    )
    _add_evm(demo_cmd)
    demo_cmd.add_argument("--holders", type=int, default=3, help="accounts to mint tokens to, 1 to 1,000 (default 3)")


def _add_gas(commands: argparse._SubParsersAction[_Parser]) -> None:
    gas_cmd = commands.add_parser("gas", help="measure gas per operation and per settled trade on a fresh local chain")
    _add_evm(gas_cmd)
    _add_backend(gas_cmd, "on a regtest node started for the measurement")
    gas_cmd.add_argument(
        "--trades-per-lot",
        type=int,
        default=4,
        help=f"trades in each (meter, slot) lot, 1-{MAX_TRADES_PER_LOT} (default 4); settlement cost is shared by them",
    )
    gas_cmd.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the figures as JSON")


def _add_bench(commands: argparse._SubParsersAction[_Parser]) -> None:
    bench_cmd = commands.add_parser(
        "bench", help="gas, throughput (batched vs one tx per action), city-day, compile times; one table and a JSON"
    )
    _add_evm(bench_cmd)
    bench_cmd.add_argument(
        "--quick", action="store_true", help="one run of each, fewer transfers, no city-day (a smoke test)"
    )
    bench_cmd.add_argument(
        "--out", type=Path, default=None, metavar="PATH", help=f"results file (default {BENCH_OUT} in the project)"
    )
    bench_cmd.add_argument(
        "--runs",
        type=int,
        default=BENCH_RUNS,
        metavar="N",
        help=f"runs per timed figure, medians (default {BENCH_RUNS})",
    )


def _add_deploy_target(deploy_cmd: argparse.ArgumentParser) -> None:
    """deploy's chain options: where to deploy and as whom."""
    deploy_cmd.add_argument(
        "--rpc-url",
        default=None,
        help="the chain to deploy to (default: a throwaway local anvil or qtumd regtest node, as a smoke test); "
        "for qtum: http://USER:PASS@HOST:PORT",
    )
    _add_backend(deploy_cmd, "without --rpc-url: a regtest node started for the command")
    _add_evm(deploy_cmd)
    deploy_cmd.add_argument(
        "--network",
        choices=network_names(),
        default=None,
        help="the preset of the chain behind --rpc-url; its chain id is checked before anything is sent "
        "(default: the preset with the node's chain id, else 'custom')",
    )
    deploy_cmd.add_argument(
        "--profile",
        choices=network_names(),
        default=None,
        help="without --rpc-url: the local chain imitates this preset",
    )
    deploy_cmd.add_argument(
        "--private-key",
        default=None,
        metavar="HEX",
        help=f"the deployer's key (default ${PRIVATE_KEY_ENV}; anvil's dev key 0 on chain id {ANVIL_CHAIN_ID} only)",
    )


def _add_deploy(commands: argparse._SubParsersAction[_Parser]) -> None:
    deploy_cmd = commands.add_parser(
        "deploy", help="deploy the market (token, registry, escrow) or reuse the recorded one; record it"
    )
    _add_deploy_target(deploy_cmd)
    deploy_cmd.add_argument(
        "--slot-length",
        type=int,
        default=DEFAULT_SLOT_LENGTH_S,
        metavar="S",
        help=f"delivery slot length in seconds (default {DEFAULT_SLOT_LENGTH_S})",
    )
    deploy_cmd.add_argument(
        "--grace-period",
        type=int,
        default=DEFAULT_GRACE_PERIOD_S,
        metavar="S",
        help=f"seconds after a slot's end to settle it (default {DEFAULT_GRACE_PERIOD_S})",
    )
    deploy_cmd.add_argument(
        "--deployments",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"folder of the deployment records (default: {DEFAULT_DIRECTORY}/ in the project)",
    )
    deploy_cmd.add_argument(
        "--node-accounts",
        action="store_true",
        help="without a key, deploy from the node's first account (eth_sendTransaction), as through Qtum's Janus",
    )


def _add_simulate_target(sim_cmd: argparse.ArgumentParser) -> None:
    """simulate's chain options: where to run and as whom."""
    sim_cmd.add_argument(
        "--rpc-url",
        default=None,
        help="the chain to run on (default: a local anvil, or a qtumd regtest node, started for the run); "
        "for qtum: http://USER:PASS@HOST:PORT",
    )
    _add_backend(sim_cmd, "without --rpc-url: a regtest node started for the run")
    sim_cmd.add_argument(
        "--evm", choices=EVM_VERSIONS, default=None, help="EVM target (default: the scenario's [chain] evm)"
    )
    sim_cmd.add_argument("--network", choices=network_names(), default=None, help="with --rpc-url: the chain's preset")
    sim_cmd.add_argument(
        "--profile",
        choices=network_names(),
        default=None,
        help="local chain preset (default: the scenario's)",
    )
    sim_cmd.add_argument(
        "--private-key", default=None, metavar="HEX", help=f"the operator's key (default ${PRIVATE_KEY_ENV})"
    )
    sim_cmd.add_argument(
        "--node-accounts",
        action="store_true",
        help="households send through accounts the node holds (eth_sendTransaction), as through Qtum's Janus",
    )
    sim_cmd.add_argument(
        "--block-time",
        type=int,
        default=None,
        metavar="SECONDS",
        help="with --backend qtum: a block only every SECONDS of chain time (32: Qtum mainnet's clock), to see "
        "how long each round's matches wait; on a node we do not mine, the spacing its blocks come at",
    )
    sim_cmd.add_argument(
        "--no-mine",
        action="store_true",
        help="with --rpc-url: never mine, wait for the node's own blocks (as on testnet), even on regtest",
    )


def _add_simulate(commands: argparse._SubParsersAction[_Parser]) -> None:
    sim_cmd = commands.add_parser(
        "simulate", help="run a scenario file: deploy or reuse, trade slot by slot, settle, write a report"
    )
    sim_cmd.add_argument("scenario", type=Path, metavar="SCENARIO", help="a scenario file, e.g. scenarios/demo.toml")
    _add_simulate_target(sim_cmd)
    sim_cmd.add_argument(
        "--one-by-one",
        action="store_true",
        help="one transaction per action, each waited for (no batching; for comparison)",
    )
    sim_cmd.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="report folder (default reports/<scenario name>)"
    )
    sim_cmd.add_argument(
        "--png",
        action="store_true",
        help="also draw the report's PNG plots (for papers; report.html has the same charts, interactive)",
    )
    sim_cmd.add_argument(
        "--resume",
        action="store_true",
        help=f"continue an interrupted run of SCENARIO from what the chain holds (its record: {RUN_RECORD_FILE} in "
        "the report folder); needs --rpc-url: a local chain that simulate starts ends with the run",
    )
    sim_cmd.add_argument(
        "--deployments",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"records (default {DEFAULT_DIRECTORY}/)",
    )


def _add_report(commands: argparse._SubParsersAction[_Parser]) -> None:
    report_cmd = commands.add_parser(
        "report", help="print the summary of a report folder again and where its page is (no chain needed)"
    )
    report_cmd.add_argument("dir", type=Path, metavar="DIR", help="the report folder a simulation (or a sweep) wrote")
    report_cmd.add_argument("--open", action="store_true", help="also open report.html in a web browser")
    report_cmd.add_argument(
        "--json",
        action="store_true",
        help="print the summary's figures as JSON instead of the tables (trade ids as strings)",
    )


def _add_sweep(commands: argparse._SubParsersAction[_Parser]) -> None:
    sweep_cmd = commands.add_parser(
        "sweep", help="run a sweep file's runs (a base scenario and axes) on Dask: one table, one page (docs/sweeps.md)"
    )
    sweep_cmd.add_argument(
        "sweep", type=Path, metavar="SWEEP", help="a sweep file, e.g. scenarios/sweeps/neighbourhood.toml"
    )
    sweep_cmd.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:8786",
        help="an existing Dask scheduler whose workers have this project installed (default: a local cluster)",
    )
    sweep_cmd.add_argument(
        "--workers", type=int, default=None, metavar="N", help="worker processes of the local cluster (default: cores)"
    )
    sweep_cmd.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help="every run's chain, unless the sweep has a backend axis",
    )
    sweep_cmd.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="sweep folder (default reports/sweeps/<SWEEP file name>)"
    )


def _add_compare(commands: argparse._SubParsersAction[_Parser]) -> None:
    compare_cmd = commands.add_parser(
        "compare", help="put two or more runs side by side: a table here and one page (no chain needed)"
    )
    compare_cmd.add_argument("dirs", type=Path, nargs="+", metavar="DIR", help="report folders that simulate wrote")
    compare_cmd.add_argument(
        "--out", type=Path, default=None, metavar="PATH", help="the page to write (default reports/compare.html)"
    )
    compare_cmd.add_argument("--open", action="store_true", help="also open the page in a web browser")
    compare_cmd.add_argument(
        "--json", action="store_true", help="print the table's figures as JSON instead of the table"
    )


def _add_toolchain(commands: argparse._SubParsersAction[_Parser]) -> None:
    tool_cmd = commands.add_parser("toolchain", help="show the compiler and chain tools; install the solc wrapper")
    tool_cmd.add_argument(
        "--install-solc",
        action="store_true",
        help=f"write solc-v{SOLC_VERSION} into py-solc-x's folder (for brownie and slither)",
    )


# In the order `p2p-energy --help` lists the commands.
_COMMANDS = (
    _add_compile,
    _add_export,
    _add_chain,
    _add_networks,
    _add_check_qtum,
    _add_demo,
    _add_gas,
    _add_bench,
    _add_deploy,
    _add_simulate,
    _add_report,
    _add_compare,
    _add_sweep,
    _add_toolchain,
)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="p2p-energy",
        description="Meter-backed peer-to-peer energy trading on Qtum and any EVM chain.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--project", type=Path, default=None, help="project folder (default: this checkout)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in _COMMANDS:
        add_command(commands)
    return parser
