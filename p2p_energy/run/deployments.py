"""Deployment records: which market lives at which addresses on which chain.

A market is deployed once per chain and then used by many runs, so the
addresses, transaction hashes and settings are written to
`deployments/<network>-<chain_id>.json` and the next run reuses them instead
of deploying (and paying for) a second market. Reuse must never pick up a
market that is not the one asked for, so a record is trusted only as far as
the chain confirms it (see :func:`deploy_or_reuse`). Records of throwaway
local chains (`deployments/local-*`) are ignored by git; records of public
chains are meant to be kept, which is why no secret (private key, RPC
credentials) is ever written into one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlparse

from eth_typing import HexStr
from eth_utils.address import is_address, to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt

from p2p_energy.chain.contracts import ContractClient, MarketContracts, Signer, deploy_market
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.qtum import NETWORKS
from p2p_energy.solidity.compiler import CompilationResult

#: The contracts of one market, in deployment order.
MARKET_CONTRACTS = ("EnergyToken", "MeterRegistry", "EnergyEscrow")
DEFAULT_SLOT_LENGTH_S = 900
DEFAULT_GRACE_PERIOD_S = 1_800
DEFAULT_DIRECTORY = "deployments"
#: Network name of chains that match no preset.
CUSTOM_NETWORK = "custom"
ANVIL_CHAIN_ID = 31337
#: Where the CLI and `brownie run deploy` read the deployer's key when no option gives it.
PRIVATE_KEY_ENV = "P2P_ENERGY_PRIVATE_KEY"
#: Account 0 of anvil's (and hardhat's) public default mnemonic "test test ... junk".
#: Everybody knows it, so it may sign only on a chain with anvil's chain id.
ANVIL_FIRST_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
RECORD_FORMAT = 1
_UINT64_MAX = 2**64 - 1
_NETWORK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_TX_HASH = re.compile(r"^0x[0-9a-f]{64}$")
_ROLES = {
    "EnergyToken": ("DEFAULT_ADMIN_ROLE", "MINTER_ROLE"),
    "MeterRegistry": ("DEFAULT_ADMIN_ROLE", "OPERATOR_ROLE"),
}

Progress = Callable[[str], None]


def _silent(_: str) -> None:
    """The default progress callback: say nothing."""


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

    def to_json(self) -> dict[str, Any]:
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
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(json.dumps(record.to_json(), indent=2) + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
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
    is zero. (Our artifacts do not carry `immutableReferences`; this check is
    weaker than masking the exact positions, which is why reuse relies on the
    record's hashes instead, see :func:`deploy_or_reuse`.)
    """
    compiled = bytes.fromhex(compiled_runtime.removeprefix("0x"))
    return len(compiled) == len(deployed) and all(c in (0, d) for c, d in zip(compiled, deployed, strict=True))


def default_genesis(w3: Web3) -> int:
    """The latest block's timestamp rounded down to a whole minute.

    Not later than the chain's clock, so slot 0 has begun when the market
    opens (before genesis `currentSlot()` reads 0, which would stretch slot
    0 until then); on a whole minute, so slot boundaries are round clock
    times in logs and reports. Rounding to a whole slot instead could put
    genesis up to a slot length in the past and leave little of slot 0.
    """
    latest = int(w3.eth.get_block("latest")["timestamp"])
    return latest - latest % 60


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


# -- deploy or reuse ----------------------------------------------------------------


def deploy_or_reuse(
    client: ContractClient,
    compiled: CompilationResult,
    admin: Signer,
    *,
    network: str,
    rpc_url: str,
    slot_length_s: int,
    grace_period_s: int,
    directory: Path,
    genesis: int | None = None,
    operator: str | None = None,
    progress: Progress = _silent,
) -> tuple[DeploymentRecord, MarketContracts, bool]:
    """The market recorded for this chain if it is there and fits, else a new one (recorded).

    The record `<directory>/<network>-<chain_id>.json` is reused when all of:

    * the code at each recorded address hashes to the record's code hash
      (the chain holds what the record says, not a reset chain's leftovers);
    * the record's compiled-code hashes equal keccak256 of `compiled`'s
      runtime bytecode. Deployed code cannot be compared with the compiled
      code directly, since the constructors patch immutables into it
      (escrow: token, registry, gracePeriod; SlotClock: genesis, slotLength;
      EIP-712 domain caches), and our artifacts do not carry solc's
      `immutableReferences`. The link is the record instead: at deployment
      the code is checked to be the compiled code with only zero placeholder
      bytes filled in (:func:`same_code_except_immutables`) and both hashes
      are written; an exact hash match then proves the same sources,
      compiler and settings (the metadata hash inside the bytecode covers
      them) without trusting a masked comparison;
    * the on-chain `slotLength()`, `gracePeriod()` (and `genesis()` when
      `genesis` is given) equal the request.

    Code missing at any address (a fresh chain with an old record, e.g. a new
    anvil) or code other than the recorded one means the record describes
    another chain: the market is deployed anew and the record overwritten.
    Code that matches the record but not the request (timing or compiled
    code) raises UsageError naming the record file; nothing is sent.

    Roles: the constructors give `admin` DEFAULT_ADMIN_ROLE and MINTER_ROLE on
    the token, DEFAULT_ADMIN_ROLE and OPERATOR_ROLE on the registry; they are
    verified with `hasRole` and recorded. `operator`, if given, is granted
    OPERATOR_ROLE by `admin` (one transaction, also on reuse if it lacks it).
    Receipts of a reused market are fetched by the recorded hashes; one a
    node no longer serves is left out of `MarketContracts.receipts`.

    Returns (record, contracts, reused).
    """
    check_timing(slot_length_s, grace_period_s)
    operator_address = _checked_address(operator, "operator") if operator is not None else None
    w3 = client.w3
    chain_id = int(w3.eth.chain_id)
    path = record_path(directory, network, chain_id)
    compiled_hashes = {name: code_hash(compiled[name].runtime_bytecode) for name in MARKET_CONTRACTS}
    record = load_record(path)
    if record is not None:
        stale = _why_stale(
            client, compiled, record, path, chain_id, compiled_hashes, slot_length_s, grace_period_s, genesis
        )
        if stale is None:
            progress(
                f"reused the market in {path}: the code at all {len(MARKET_CONTRACTS)} addresses is the recorded code, "
                f"built from these contracts ({CompilerInfo.of(compiled)}), with slot length {slot_length_s} s "
                f"and grace period {grace_period_s} s"
            )
            market = _bind(client, compiled, record)
            if operator_address is not None:
                updated = _grant_operator(client, market, record, admin, operator_address, progress)
                if updated != record:
                    record = updated
                    save_record(record, path)
            return record, market, True
        progress(f"{path}: {stale}; deploying a new market and overwriting the record")
    start = genesis if genesis is not None else default_genesis(w3)
    progress(f"deploying {', '.join(MARKET_CONTRACTS)} from {admin.address} (genesis {start})")
    market = deploy_market(
        client, compiled, admin, genesis=start, slot_length=slot_length_s, grace_period=grace_period_s
    )
    contracts = _by_name(market)
    code_hashes = {}
    for name, contract in contracts.items():
        code = bytes(w3.eth.get_code(contract.address))
        if not same_code_except_immutables(compiled[name].runtime_bytecode, code):
            raise P2PEnergyError(
                f"the code the node stored for {name} at {contract.address} is not the compiled code "
                "with immutables filled in: the node changed it, or it is not an EVM this tool supports"
            )
        code_hashes[name] = code_hash(code)
    record = DeploymentRecord(
        chain_id=chain_id,
        network=network,
        rpc_url=public_rpc_url(rpc_url),
        addresses={name: str(contract.address) for name, contract in contracts.items()},
        tx_hashes={name: market.receipts[name]["transactionHash"].to_0x_hex() for name in MARKET_CONTRACTS},
        block=int(market.receipts["EnergyEscrow"]["blockNumber"]),
        deployer=admin.address,
        genesis=start,
        slot_length_s=slot_length_s,
        grace_period_s=grace_period_s,
        compiler=CompilerInfo.of(compiled),
        code_hashes=code_hashes,
        compiled_code_hashes=compiled_hashes,
        roles=_verified_roles(market, admin.address),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    if operator_address is not None:
        record = _grant_operator(client, market, record, admin, operator_address, progress)
    save_record(record, path)
    progress(f"deployed; record written to {path}")
    return record, market, False


def _checked_address(value: str, what: str) -> str:
    if not is_address(value):
        raise UsageError(f"{what} {value!r} is not a 0x address (40 hex digits)")
    return str(to_checksum_address(value))


def _by_name(market: MarketContracts) -> dict[str, Contract]:
    return {"EnergyToken": market.token, "MeterRegistry": market.registry, "EnergyEscrow": market.escrow}


def _why_stale(
    client: ContractClient,
    compiled: CompilationResult,
    record: DeploymentRecord,
    path: Path,
    chain_id: int,
    compiled_hashes: dict[str, str],
    slot_length_s: int,
    grace_period_s: int,
    genesis: int | None,
) -> str | None:
    """Why the record does not describe this chain (redeploy), None if it can be reused.

    Raises UsageError when it does describe this chain but not the request.
    """
    if record.chain_id != chain_id:
        raise UsageError(
            f"{path} records chain id {record.chain_id} but is the file of chain {chain_id}: "
            "it was renamed or edited; move it back or remove it"
        )
    codes = {
        name: bytes(client.w3.eth.get_code(Web3.to_checksum_address(record.addresses[name])))
        for name in MARKET_CONTRACTS
    }
    missing = [name for name, code in codes.items() if not code]
    if len(missing) == len(codes):
        return "the chain has no code at the recorded addresses (a fresh chain)"
    if missing:
        return "no code at " + ", ".join(f"{name}'s address {record.addresses[name]}" for name in missing)
    for name, code in codes.items():
        if code_hash(code) != record.code_hashes[name]:
            return f"the code at {name}'s address {record.addresses[name]} is not the recorded code (another chain)"
    registry = client.at(compiled["MeterRegistry"], record.addresses["MeterRegistry"])
    escrow = client.at(compiled["EnergyEscrow"], record.addresses["EnergyEscrow"])
    found = {
        "slot length": (int(registry.functions.slotLength().call()), slot_length_s, "s"),
        "grace period": (int(escrow.functions.gracePeriod().call()), grace_period_s, "s"),
    }
    if genesis is not None:
        found["genesis"] = (int(registry.functions.genesis().call()), genesis, "")
    differences = [
        f"{what} {deployed}{unit and ' ' + unit} (asked for {asked}{unit and ' ' + unit})"
        for what, (deployed, asked, unit) in found.items()
        if deployed != asked
    ]
    changed = [name for name in MARKET_CONTRACTS if record.compiled_code_hashes[name] != compiled_hashes[name]]
    if changed:
        differences.append(
            f"code of {', '.join(changed)} built with {record.compiler} from other sources or settings than this "
            f"compile ({CompilerInfo.of(compiled)})"
        )
    if differences:
        raise UsageError(
            f"the market recorded in {path} is on this chain but differs from the request: {'; '.join(differences)}. "
            f"Pass the recorded settings (slot length {record.slot_length_s} s, "
            f"grace period {record.grace_period_s} s, EVM {record.compiler.evm_version}) to reuse it, "
            f"or remove {path} to deploy a new market"
        )
    return None


def _bind(client: ContractClient, compiled: CompilationResult, record: DeploymentRecord) -> MarketContracts:
    contracts = {name: client.at(compiled[name], record.addresses[name]) for name in MARKET_CONTRACTS}
    receipts: dict[str, TxReceipt] = {}
    for name in MARKET_CONTRACTS:
        try:
            receipts[name] = client.w3.eth.get_transaction_receipt(HexStr(record.tx_hashes[name]))
        except TransactionNotFound:
            continue  # pruned by the node; the code check above is what reuse rests on
    return MarketContracts(contracts["EnergyToken"], contracts["MeterRegistry"], contracts["EnergyEscrow"], receipts)


def _verified_roles(market: MarketContracts, admin: str) -> dict[str, dict[str, list[str]]]:
    """Check with `hasRole` that the constructors gave `admin` every role; the holders to record."""
    roles: dict[str, dict[str, list[str]]] = {}
    for name, contract in _by_name(market).items():
        for role in _ROLES.get(name, ()):
            role_id = contract.functions[role]().call()
            if not contract.functions.hasRole(role_id, admin).call():
                raise P2PEnergyError(f"{name} at {contract.address} did not give the deployer {admin} its {role}")
            roles.setdefault(name, {})[role] = [admin]
    return roles


def _grant_operator(
    client: ContractClient,
    market: MarketContracts,
    record: DeploymentRecord,
    admin: Signer,
    operator: str,
    progress: Progress,
) -> DeploymentRecord:
    """Make `operator` an OPERATOR_ROLE holder of the registry (a transaction only when it is not one yet)."""
    registry = market.registry
    role = registry.functions.OPERATOR_ROLE().call()
    if not registry.functions.hasRole(role, operator).call():
        client.transact(registry.functions.grantRole(role, operator), admin)
        if not registry.functions.hasRole(role, operator).call():
            raise P2PEnergyError(f"granted OPERATOR_ROLE to {operator} but the registry does not report it")
        progress(f"granted OPERATOR_ROLE on the MeterRegistry to {operator}")
    holders = record.roles.get("MeterRegistry", {}).get("OPERATOR_ROLE", [])
    if operator in holders:
        return record
    roles = {contract: {r: list(h) for r, h in by_role.items()} for contract, by_role in record.roles.items()}
    roles.setdefault("MeterRegistry", {})["OPERATOR_ROLE"] = [*holders, operator]
    return replace(record, roles=roles)
