"""`p2p-energy export`: the artifacts, the deployments that fit them, and brownie's deployment map."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from p2p_energy.chain.market import MARKET_CONTRACTS
from p2p_energy.export.artifacts import write_artifacts
from p2p_energy.export.deployment_export import deployment_json, deployment_path, mismatch, write_brownie_map
from p2p_energy.run.deployment_record import DeploymentRecord, load_record
from p2p_energy.solidity.compiler import CompilationResult, Compiler

#: Where `p2p-energy export` writes, under the project's root.
DEFAULT_OUT = Path("build") / "export"


@dataclass(frozen=True)
class Exported:
    """What one export wrote, and the records it left out with the reason."""

    artifacts: tuple[Path, ...]
    deployments: tuple[Path, ...]
    brownie: tuple[Path, ...]
    skipped: tuple[str, ...]


def read_records(directory: Path) -> list[tuple[Path, DeploymentRecord]]:
    """Every deployment record in `directory` (none when it does not exist); a damaged one is a UsageError."""
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.glob("*.json")):
        record = load_record(path)
        if record is not None:
            found.append((path, record))
    return found


def export(
    compiler: Compiler, compiled: CompilationResult, out: Path, deployments: Path, brownie_build: Path | None
) -> Exported:
    """Write the market's artifacts to `out`, a `deployment-<chain id>.json` per chain whose recorded market
    was built from `compiled` (the newest, if several), and, unless `brownie_build` is None, brownie's map."""
    artifacts = write_artifacts(compiler, [compiled[name] for name in MARKET_CONTRACTS], out)
    fitting, skipped = [], []
    for path, record in read_records(deployments):
        reason = mismatch(record, compiled)
        if reason is None:
            fitting.append(record)
        else:
            skipped.append(f"{path}: {reason}")
    newest: dict[int, DeploymentRecord] = {}
    for record in sorted(fitting, key=lambda r: r.created_at):
        newest[record.chain_id] = record
    written = []
    for chain_id, record in sorted(newest.items()):
        path = deployment_path(out, chain_id)
        path.write_text(json.dumps(deployment_json(record, compiled), indent=2) + "\n")
        written.append(path)
    brownie = write_brownie_map(fitting, compiled, brownie_build) if brownie_build is not None and fitting else []
    return Exported(tuple(artifacts), tuple(written), tuple(brownie), tuple(skipped))
