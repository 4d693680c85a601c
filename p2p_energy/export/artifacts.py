"""One JSON file per contract in the shape hardhat and foundry users know, and the sources it was built from.

`<Contract>.json` holds hardhat's artifact fields (`_format` hh-sol-artifact-1,
`contractName`, `sourceName`, `abi`, `bytecode`, `deployedBytecode`, link
references) plus solc's `metadata` string exactly as solc wrote it (its
IPFS hash ends the bytecode, so a verifier such as Sourcify can match it) and
`immutableReferences` (where the constructor writes immutables into the
runtime code). `sources/<source unit name>` holds every file the metadata
names, checked against its keccak256: with the metadata, all a verifier needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak

from p2p_energy.errors import P2PEnergyError
from p2p_energy.solidity.compiler import Compiler, ContractArtifact

HARDHAT_FORMAT = "hh-sol-artifact-1"
SOURCES_DIR = "sources"


def artifact_json(artifact: ContractArtifact) -> dict[str, Any]:
    """The exported artifact of one compiled contract."""
    return {
        "_format": HARDHAT_FORMAT,
        "contractName": artifact.name,
        "sourceName": artifact.source,
        "abi": artifact.abi,
        "bytecode": "0x" + artifact.bytecode,
        "deployedBytecode": "0x" + artifact.runtime_bytecode,
        "linkReferences": {},
        "deployedLinkReferences": {},
        "immutableReferences": artifact.immutable_references,
        "metadata": artifact.metadata,
    }


def metadata_sources(compiler: Compiler, artifact: ContractArtifact) -> dict[str, bytes]:
    """Every source file the contract's metadata names, read from disk, each checked against the metadata's
    keccak256 (P2PEnergyError when a file changed since the compile)."""
    if not artifact.metadata:
        raise P2PEnergyError(f"{artifact.name} was compiled without metadata: run `p2p-energy compile --force`")
    found: dict[str, bytes] = {}
    for name, facts in json.loads(artifact.metadata)["sources"].items():
        content = compiler.resolve_source(name).read_bytes()
        if "0x" + keccak(content).hex() != facts["keccak256"]:
            raise P2PEnergyError(f"{name} changed since {artifact.name} was compiled: compile again, then export")
        found[name] = content
    return found


def write_artifacts(compiler: Compiler, contracts: list[ContractArtifact], out: Path) -> list[Path]:
    """Write `<Contract>.json` for each contract and `sources/` under `out`; returns the artifacts' paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for artifact in contracts:
        for name, content in metadata_sources(compiler, artifact).items():
            path = out / SOURCES_DIR / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        path = out / f"{artifact.name}.json"
        path.write_text(json.dumps(artifact_json(artifact), indent=2) + "\n")
        written.append(path)
    return written
