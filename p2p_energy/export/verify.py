"""Re-verify deployed code from solc's metadata, as Sourcify does: rebuild the compiler's standard-JSON
input from the metadata and the sources it names, compile, and compare with the code on chain.

A `full` match is the same code byte for byte once the immutables the
constructor wrote are masked (so the metadata hash in the CBOR tail matches
too: the very sources and settings); a `partial` match differs only in that
tail (same code, other comments or file names).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import solcx
from eth_utils.crypto import keccak

from p2p_energy.errors import P2PEnergyError

_OUTPUTS = ["evm.deployedBytecode.object", "evm.deployedBytecode.immutableReferences"]


def standard_input(metadata: Mapping[str, Any], sources: Mapping[str, bytes]) -> dict[str, Any]:
    """The standard-JSON input the metadata was compiled from; every source is checked against its keccak256."""
    settings = {key: value for key, value in metadata["settings"].items() if key != "compilationTarget"}
    ((source, name),) = metadata["settings"]["compilationTarget"].items()
    settings["outputSelection"] = {source: {name: list(_OUTPUTS)}}
    contents = {}
    for unit, facts in metadata["sources"].items():
        content = sources.get(unit)
        if content is None or "0x" + keccak(content).hex() != facts["keccak256"]:
            raise P2PEnergyError(f"source {unit} is missing or is not the one the metadata names")
        contents[unit] = {"content": content.decode()}
    return {"language": metadata["language"], "sources": contents, "settings": settings}


def recompile(metadata: Mapping[str, Any], sources: Mapping[str, bytes], solc: Path) -> tuple[bytes, list[range]]:
    """The runtime code `solc` builds from the metadata, and where its immutables are (byte ranges)."""
    ((source, name),) = metadata["settings"]["compilationTarget"].items()
    output = solcx.compile_standard(standard_input(metadata, sources), solc_binary=solc)
    built = output["contracts"][source][name]["evm"]["deployedBytecode"]
    refs = [place for places in built["immutableReferences"].values() for place in places]
    places = [range(place["start"], place["start"] + place["length"]) for place in refs]
    return bytes.fromhex(built["object"]), places


def match(built: bytes, immutables: list[range], deployed: bytes) -> str | None:
    """`full`, `partial` (all but the CBOR metadata tail) or None: how `deployed` matches `built`."""
    masked = bytearray(deployed)
    for place in immutables:
        masked[place.start : place.stop] = built[place.start : place.stop]
    if bytes(masked) == built:
        return "full"
    if len(built) < 2 or len(masked) < 2:
        return None
    tail_built, tail_deployed = int.from_bytes(built[-2:]) + 2, int.from_bytes(masked[-2:]) + 2
    return "partial" if masked[:-tail_deployed] == built[:-tail_built] else None


def sources_from(folder: Path, metadata: Mapping[str, Any]) -> dict[str, bytes]:
    """The metadata's sources as an export wrote them under `folder` (missing ones left out)."""
    return {unit: (folder / unit).read_bytes() for unit in metadata["sources"] if (folder / unit).is_file()}


def load_metadata(artifact: Path) -> dict[str, Any]:
    """The solc metadata of an exported `<Contract>.json`."""
    metadata: dict[str, Any] = json.loads(json.loads(artifact.read_text())["metadata"])
    return metadata
