"""A deployment record in a documented JSON with the ABIs, and brownie's deployment map.

`deployment-<chain id>.json` (format `p2p-energy-deployment/1`, docs/artifacts.md)
names the chain, the deployer, the market's settings and, per contract, its
address, the transaction that created it, its ABI and its artifact file, so
a web3.py, ethers or viem user needs nothing else to talk to the market.

brownie keeps a project's deployments per chain in
`build/deployments/<chain id>/<address>.json` and `build/deployments/map.json`
(newest first); on a live network of that chain id it loads them at
`brownie console`, in file time order, so `EnergyEscrow[-1]` is the newest.
A file without brownie's `pcMap` is loaded with `Contract.from_abi`.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from p2p_energy.chain.market import MARKET_CONTRACTS
from p2p_energy.errors import UsageError
from p2p_energy.files import write_whole
from p2p_energy.run.deployment_record import DeploymentRecord, code_hash
from p2p_energy.solidity.compiler import CompilationResult

DEPLOYMENT_FORMAT = "p2p-energy-deployment/1"


def deployment_path(out: Path, chain_id: int) -> Path:
    return out / f"deployment-{chain_id}.json"


def mismatch(record: DeploymentRecord, compiled: CompilationResult) -> str | None:
    """Why `record`'s market was not built from `compiled` (so its ABIs and metadata would not fit), or None."""
    if record.compiler.evm_version != compiled.settings.evm_version:
        return f"built for EVM {record.compiler.evm_version}: export with --evm {record.compiler.evm_version}"
    for name in MARKET_CONTRACTS:
        if record.compiled_code_hashes[name] != code_hash(compiled[name].runtime_bytecode):
            return f"its {name} was built from other sources or settings than contracts/ now"
    return None


def deployment_json(record: DeploymentRecord, compiled: CompilationResult) -> dict[str, Any]:
    """The exported deployment of one market (check :func:`mismatch` first)."""
    return {
        "format": DEPLOYMENT_FORMAT,
        "chain_id": record.chain_id,
        "network": record.network,
        "block": record.block,
        "deployer": record.deployer,
        "created_at": record.created_at,
        "genesis": record.genesis,
        "slot_length_s": record.slot_length_s,
        "grace_period_s": record.grace_period_s,
        "compiler": {
            "solc_version": record.compiler.solc_version,
            "evm_version": record.compiler.evm_version,
            "optimizer_runs": record.compiler.optimizer_runs,
            "via_ir": True,
        },
        "contracts": {
            name: {
                "address": record.addresses[name],
                "tx_hash": record.tx_hashes[name],
                "artifact": f"{name}.json",
                "abi": compiled[name].abi,
            }
            for name in MARKET_CONTRACTS
        },
    }


def write_brownie_map(records: list[DeploymentRecord], compiled: CompilationResult, build: Path) -> list[Path]:
    """Add `records`' contracts to brownie's deployment map under `build` (brownie's `build/`); returns the files.

    Older deployments are written first and each file's time is its record's
    `created_at`, so brownie's `Contract[-1]` is the newest market of a chain.
    """
    folder = build / "deployments"
    map_path = folder / "map.json"
    try:
        chains: dict[str, dict[str, list[str]]] = json.loads(map_path.read_text()) if map_path.is_file() else {}
    except json.JSONDecodeError:
        raise UsageError(f"{map_path} is not valid JSON: remove it (brownie rebuilds it) and export again") from None
    written = []
    for record in sorted(records, key=lambda r: r.created_at):
        stamp = datetime.fromisoformat(record.created_at).timestamp()
        by_name = chains.setdefault(str(record.chain_id), {})
        for name in MARKET_CONTRACTS:
            address = record.addresses[name]
            path = folder / str(record.chain_id) / f"{address}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"contractName": name, "abi": compiled[name].abi}) + "\n")
            os.utime(path, (stamp, stamp))
            by_name[name] = [address, *(a for a in by_name.get(name, []) if a != address)]
            written.append(path)
    folder.mkdir(parents=True, exist_ok=True)
    # brownie reads the map it merged into whole or not at all: a map cut short would break `brownie console`.
    text = (json.dumps(chains, indent=2, sort_keys=True) + "\n").encode()
    write_whole(map_path, lambda handle: handle.write(text) == len(text))
    return [map_path, *written]
