"""Deployment records: which market lives at which addresses on which chain.

A market is deployed once per chain and then used by many runs, so the
addresses, transaction hashes and settings are written to
`deployments/<network>-<chain_id>.json` and the next run reuses them instead
of deploying (and paying for) a second market. Reuse must never pick up a
market that is not the one asked for, so a record is trusted only as far as
the chain confirms it (see :func:`p2p_energy.run.deployments.deploy_or_reuse`). Records of throwaway
local chains (`deployments/local-*`) are ignored by git; records of public
chains are meant to be kept, which is why no secret (private key, RPC
credentials) is ever written into one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlparse

from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak

from p2p_energy.chain.market import MARKET_CONTRACTS
from p2p_energy.defaults import DEFAULT_DIRECTORY as DEFAULT_DIRECTORY
from p2p_energy.defaults import DEFAULT_GRACE_PERIOD_S as DEFAULT_GRACE_PERIOD_S
from p2p_energy.defaults import DEFAULT_SLOT_LENGTH_S as DEFAULT_SLOT_LENGTH_S
from p2p_energy.errors import UsageError
from p2p_energy.files import write_whole
from p2p_energy.networks import NETWORKS
from p2p_energy.solidity.compiler import CompilationResult

#: Network name of chains that match no preset.
CUSTOM_NETWORK = "custom"
RECORD_FORMAT = 1
_UINT64_MAX = 2**64 - 1
_NETWORK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_TX_HASH = re.compile(r"^0x[0-9a-f]{64}$")
# -- the record -----------------------------------------------------------------


@dataclass(frozen=True)
class CompilerInfo:
    """The compiler settings the deployed code was built with."""

    solc_version: str
    evm_version: str
    optimizer_runs: int

    @classmethod
    def of(cls, compiled: CompilationResult) -> CompilerInfo:
        return cls(compiled.solc_version, compiled.settings.evm_version, compiled.settings.optimizer_runs)

    def __str__(self) -> str:
        return f"solc {self.solc_version}, EVM {self.evm_version}, optimizer runs {self.optimizer_runs}"


@dataclass(frozen=True)
class DeploymentRecord:
    """One market on one chain, as written to `deployments/<network>-<chain_id>.json`.

    `code_hashes` are keccak256 of the runtime code found on chain (immutables
    patched in); `compiled_code_hashes` are keccak256 of the compiler's
    runtime bytecode the code was deployed from (immutables as zero
    placeholders). `roles` lists, per contract and role, the holders checked
    with `hasRole` when the record was written.
    """

    chain_id: int
    network: str
    rpc_url: str
    addresses: dict[str, str]
    tx_hashes: dict[str, str]
    block: int
    deployer: str
    genesis: int
    slot_length_s: int
    grace_period_s: int
    compiler: CompilerInfo
    code_hashes: dict[str, str]
    compiled_code_hashes: dict[str, str]
    roles: dict[str, dict[str, list[str]]]
    created_at: str
    #: On Qtum: the deployer's base58 address (`deployer` is its hex form, what contracts see).
    deployer_base58: str = ""

    def to_json(self) -> dict[str, Any]:
        base58 = {"deployer_base58": self.deployer_base58} if self.deployer_base58 else {}
        return {
            "format": RECORD_FORMAT,
            "chain_id": self.chain_id,
            "network": self.network,
            "rpc_url": self.rpc_url,
            "addresses": dict(self.addresses),
            "tx_hashes": dict(self.tx_hashes),
            "block": self.block,
            "deployer": self.deployer,
            "genesis": self.genesis,
            "slot_length_s": self.slot_length_s,
            "grace_period_s": self.grace_period_s,
            "compiler": {
                "solc_version": self.compiler.solc_version,
                "evm_version": self.compiler.evm_version,
                "optimizer_runs": self.compiler.optimizer_runs,
            },
            "code_hashes": dict(self.code_hashes),
            "compiled_code_hashes": dict(self.compiled_code_hashes),
            "roles": {contract: {role: list(h) for role, h in roles.items()} for contract, roles in self.roles.items()},
            "created_at": self.created_at,
            **base58,
        }

    @classmethod
    def from_json(cls, data: Any, source: str | Path = "deployment record") -> DeploymentRecord:
        """Read a record; UsageError names `source` (the file) and the first bad field."""
        read = _Reader(str(source))
        top = read.mapping(data, "the record")
        if top.get("format") != RECORD_FORMAT:
            read.fail("format", f"is {top.get('format')!r}, this version reads format {RECORD_FORMAT}")
        network = read.text(top, "network")
        if not _NETWORK_NAME.match(network):
            read.fail("network", f"is {network!r}: lowercase letters, digits and dashes only")
        compiler = read.mapping(read.get(top, "compiler"), "compiler")
        created_at = read.text(top, "created_at")
        try:
            stamp = datetime.fromisoformat(created_at)
        except ValueError:
            stamp = None
        if stamp is None or stamp.tzinfo is None:
            read.fail("created_at", f"is {created_at!r}, not an ISO 8601 time with a time zone")
        return cls(
            chain_id=read.integer(top, "chain_id", low=1),
            network=network,
            rpc_url=read.text(top, "rpc_url"),
            addresses={
                name: read.address(value, f"addresses.{name}")
                for name, value in read.per_contract(top, "addresses").items()
            },
            tx_hashes={
                name: read.matching(value, f"tx_hashes.{name}", _TX_HASH, "a 0x-prefixed 32-byte hash")
                for name, value in read.per_contract(top, "tx_hashes").items()
            },
            block=read.integer(top, "block", low=0),
            deployer=read.address(read.get(top, "deployer"), "deployer"),
            genesis=read.integer(top, "genesis", low=0, high=_UINT64_MAX),
            slot_length_s=read.integer(top, "slot_length_s", low=1, high=_UINT64_MAX),
            grace_period_s=read.integer(top, "grace_period_s", low=1, high=_UINT64_MAX),
            compiler=CompilerInfo(
                solc_version=read.text(compiler, "solc_version", prefix="compiler."),
                evm_version=read.text(compiler, "evm_version", prefix="compiler."),
                optimizer_runs=read.integer(compiler, "optimizer_runs", low=1, prefix="compiler."),
            ),
            code_hashes={
                name: read.matching(value, f"code_hashes.{name}", _TX_HASH, "a 0x-prefixed keccak256 hash")
                for name, value in read.per_contract(top, "code_hashes").items()
            },
            compiled_code_hashes={
                name: read.matching(value, f"compiled_code_hashes.{name}", _TX_HASH, "a 0x-prefixed keccak256 hash")
                for name, value in read.per_contract(top, "compiled_code_hashes").items()
            },
            roles=read.roles(read.get(top, "roles")),
            created_at=created_at,
            deployer_base58=read.text(top, "deployer_base58") if "deployer_base58" in top else "",
        )


@dataclass(frozen=True)
class _Reader:
    """Field checks for :meth:`DeploymentRecord.from_json` that name the file and the field."""

    source: str

    def fail(self, field: str, problem: str) -> NoReturn:
        raise UsageError(f"{self.source}: field {field!r} {problem}; fix the file or remove it to deploy anew")

    def get(self, data: Mapping[str, Any], name: str, prefix: str = "") -> Any:
        if name not in data:
            self.fail(prefix + name, "is missing")
        return data[name]

    def mapping(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            if field == "the record":
                raise UsageError(f"{self.source}: a deployment record is a JSON object, got {type(value).__name__}")
            self.fail(field, f"is {type(value).__name__}, not an object")
        return value

    def text(self, data: Mapping[str, Any], name: str, prefix: str = "") -> str:
        value = self.get(data, name, prefix)
        if not isinstance(value, str) or not value:
            self.fail(prefix + name, f"is {value!r}, not a non-empty string")
        return str(value)

    def integer(
        self, data: Mapping[str, Any], name: str, *, low: int, high: int | None = None, prefix: str = ""
    ) -> int:
        value = self.get(data, name, prefix)
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"{low} or more"
            self.fail(prefix + name, f"is {value!r}, not a whole number {bounds}")
        return int(value)

    def matching(self, value: Any, field: str, pattern: re.Pattern[str], what: str) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            self.fail(field, f"is {value!r}, not {what} (lowercase hex)")
        return str(value)

    def address(self, value: Any, field: str) -> str:
        if not isinstance(value, str) or not is_address(value):
            self.fail(field, f"is {value!r}, not a 0x address")
        return str(to_checksum_address(value))

    def per_contract(self, data: Mapping[str, Any], name: str) -> dict[str, Any]:
        found = self.mapping(self.get(data, name), name)
        for contract in MARKET_CONTRACTS:
            if contract not in found:
                self.fail(f"{name}.{contract}", "is missing")
        extra = sorted(set(found) - set(MARKET_CONTRACTS))
        if extra:
            self.fail(f"{name}.{extra[0]}", f"is not a market contract (expected {', '.join(MARKET_CONTRACTS)})")
        return {contract: found[contract] for contract in MARKET_CONTRACTS}

    def roles(self, value: Any) -> dict[str, dict[str, list[str]]]:
        found: dict[str, dict[str, list[str]]] = {}
        for contract, roles in self.mapping(value, "roles").items():
            found[contract] = {}
            for role, holders in self.mapping(roles, f"roles.{contract}").items():
                field = f"roles.{contract}.{role}"
                if not isinstance(holders, list):
                    self.fail(field, f"is {type(holders).__name__}, not a list of addresses")
                found[contract][role] = [self.address(holder, field) for holder in holders]
        return found


def record_path(directory: Path, network: str, chain_id: int) -> Path:
    """Where the record of `network`'s chain `chain_id` lives: `<directory>/<network>-<chain_id>.json`."""
    if not _NETWORK_NAME.match(network):
        raise UsageError(f"network name {network!r} cannot name a record file: use lowercase letters, digits, dashes")
    return directory / f"{network}-{chain_id}.json"


def load_record(path: Path) -> DeploymentRecord | None:
    """The record in `path`, or None when there is none; a damaged file is a UsageError naming it."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read the deployment record {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "fix the file or remove it to deploy anew"
        ) from None
    return DeploymentRecord.from_json(data, path)


def save_record(record: DeploymentRecord, path: Path) -> Path:
    """Write `record` to `path` atomically: readers see the old file or the new one, never half of one."""
    data = (json.dumps(record.to_json(), indent=2) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_whole(path, lambda out: out.write(data) == len(data))
    return path


# -- small helpers ----------------------------------------------------------------


def network_for_chain_id(chain_id: int) -> str:
    """The preset whose chain id this is, or "custom" (names the record file when no network is given)."""
    for preset in NETWORKS:
        if preset.chain_id == chain_id:
            return preset.name
    return CUSTOM_NETWORK


def public_rpc_url(rpc_url: str) -> str:
    """`scheme://host:port` of an RPC URL: providers put API keys in the user, path or query part,
    and a record of a public chain is meant to be committed."""
    parsed = urlparse(rpc_url)
    host = parsed.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{host}{port}"


def code_hash(code: bytes | str) -> str:
    """keccak256 of EVM code given as bytes or hex (with or without 0x), as 0x hex."""
    raw = bytes.fromhex(code.removeprefix("0x")) if isinstance(code, str) else bytes(code)
    return "0x" + keccak(raw).hex()


def same_code_except_immutables(compiled_runtime: str, deployed: bytes) -> bool:
    """True when `deployed` is the compiled runtime code with only immutables filled in.

    solc leaves a 32-byte run of zeros in the runtime bytecode where each
    immutable goes and the constructor writes the value there, so deployed
    code has the compiled length and may differ only where the compiled byte
    is zero. (This check is weaker than masking the exact positions,
    `ContractArtifact.immutable_references`, as `p2p_energy.export.verify` does;
    reuse relies on the record's hashes instead, see :func:`deploy_or_reuse`.)
    """
    compiled = bytes.fromhex(compiled_runtime.removeprefix("0x"))
    return len(compiled) == len(deployed) and all(c in (0, d) for c, d in zip(compiled, deployed, strict=True))


def check_timing(slot_length_s: int, grace_period_s: int) -> None:
    """Refuse a slot length or grace period the contracts cannot use (UsageError)."""
    if not 0 < slot_length_s <= _UINT64_MAX:
        raise UsageError(f"slot length must be a positive number of seconds, got {slot_length_s}")
    if grace_period_s == 0:
        raise UsageError(
            "grace period must be at least 1 s: a lot can be settled only between its slot's end and "
            "slot end + grace period, so with 0 no lot could ever be settled (try 1800)"
        )
    if not 0 < grace_period_s <= _UINT64_MAX:
        raise UsageError(f"grace period must be a positive number of seconds, got {grace_period_s}")
