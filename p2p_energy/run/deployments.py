"""Deploy the market, or reuse the one a deployment record names, on any chain backend.

The record format and its checks are in :mod:`p2p_energy.run.deployment_record`;
this module decides between reuse and a new deployment, and talks to the
chain only through :class:`~p2p_energy.chain.backend.ChainBackend`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from eth_utils.address import is_address, to_checksum_address

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.backend import ChainBackend
from p2p_energy.chain.market import MARKET_CONTRACTS, Market, MarketAddresses, deploy_market, market_codec
from p2p_energy.chain.rpc import connect
from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.run.deployment_record import (
    CompilerInfo,
    DeploymentRecord,
    check_timing,
    code_hash,
    load_record,
    public_rpc_url,
    record_path,
    same_code_except_immutables,
    save_record,
)
from p2p_energy.solidity.compiler import CompilationResult

#: The roles each constructor gives the deployer (checked with hasRole and recorded).
_ROLES = {
    "EnergyToken": ("DEFAULT_ADMIN_ROLE", "MINTER_ROLE"),
    "MeterRegistry": ("DEFAULT_ADMIN_ROLE", "OPERATOR_ROLE"),
}

Progress = Callable[[str], None]


def _silent(_: str) -> None:
    """The default progress callback: say nothing."""


@dataclass(frozen=True)
class DeploymentRequest:
    """What market is wanted, and where its record lives."""

    network: str
    slot_length_s: int
    grace_period_s: int
    directory: Path
    #: Slot 0's start; None: the latest block's time rounded down to a minute (:func:`default_genesis`).
    genesis: int | None = None
    #: An account to be granted OPERATOR_ROLE on the registry as well.
    operator: str | None = None


def default_genesis(chain: ChainBackend) -> int:
    """The latest block's timestamp rounded down to a whole minute.

    Not later than the chain's clock, so slot 0 has begun when the market
    opens (before genesis `currentSlot()` reads 0, which would stretch slot
    0 until then); on a whole minute, so slot boundaries are round clock
    times in logs and reports. Rounding to a whole slot instead could put
    genesis up to a slot length in the past and leave little of slot 0.
    """
    latest = chain.latest_block().timestamp
    return latest - latest % 60


def deploy_or_reuse(
    chain: ChainBackend,
    compiled: CompilationResult,
    admin: Account,
    request: DeploymentRequest,
    progress: Progress = _silent,
) -> tuple[DeploymentRecord, Market, bool]:
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

    Returns (record, market, reused).
    """
    check_timing(request.slot_length_s, request.grace_period_s)
    operator = _checked_address(request.operator, "operator") if request.operator is not None else None
    path = record_path(request.directory, request.network, chain.chain_id)
    record = load_record(path)
    if record is not None:
        stale = _why_stale(chain, compiled, record, path, request, admin.address)
        if stale is None:
            progress(
                f"reused the market in {path}: the code at all {len(MARKET_CONTRACTS)} addresses is the recorded code, "
                f"built from these contracts ({CompilerInfo.of(compiled)}), with slot length {request.slot_length_s} s "
                f"and grace period {request.grace_period_s} s"
            )
            market = Market(chain, market_codec(compiled), MarketAddresses.of(record.addresses))
            if operator is not None:
                updated = _grant_operator(market, record, admin, operator, progress)
                if updated != record:
                    record = updated
                    save_record(record, path)
            return record, market, True
        live = _live_elsewhere(chain, record)
        if live:
            raise UsageError(
                f"{path} records the market of another chain that is running ({live}), not of this one at "
                f"{public_rpc_url(chain.url)}, though both have chain id {chain.chain_id}: its record is not "
                "overwritten. Keep this chain's record elsewhere (--deployments DIR), or stop that chain first"
            )
        progress(f"{path}: {stale}; deploying a new market and overwriting the record")
    record, market = _deploy(chain, compiled, admin, request, progress)
    if operator is not None:
        record = _grant_operator(market, record, admin, operator, progress)
    save_record(record, path)
    progress(f"deployed; record written to {path}")
    return record, market, False


def _deploy(
    chain: ChainBackend, compiled: CompilationResult, admin: Account, request: DeploymentRequest, progress: Progress
) -> tuple[DeploymentRecord, Market]:
    """A new market, its code checked against the compiled code, and its record (not yet saved)."""
    start = request.genesis if request.genesis is not None else default_genesis(chain)
    progress(f"deploying {', '.join(MARKET_CONTRACTS)} from {admin.address} (genesis {start})")
    deployed = deploy_market(
        chain,
        compiled,
        admin,
        genesis=start,
        slot_length=request.slot_length_s,
        grace_period=request.grace_period_s,
    )
    code_hashes = {}
    for name, contract in deployed.items():
        code = chain.code_at(contract.address)
        if not same_code_except_immutables(compiled[name].runtime_bytecode, code):
            raise P2PEnergyError(
                f"the code the node stored for {name} at {contract.address} is not the compiled code "
                "with immutables filled in: the node changed it, or it is not an EVM this tool supports"
            )
        code_hashes[name] = code_hash(code)
    market = Market(chain, market_codec(compiled), MarketAddresses.of({n: d.address for n, d in deployed.items()}))
    record = DeploymentRecord(
        chain_id=chain.chain_id,
        network=request.network,
        rpc_url=public_rpc_url(chain.url),
        addresses=market.addresses.as_dict(),
        tx_hashes={name: deployed[name].tx_hash for name in MARKET_CONTRACTS},
        block=deployed["EnergyEscrow"].block,
        deployer=admin.address,
        genesis=start,
        slot_length_s=request.slot_length_s,
        grace_period_s=request.grace_period_s,
        compiler=CompilerInfo.of(compiled),
        code_hashes=code_hashes,
        compiled_code_hashes={name: code_hash(compiled[name].runtime_bytecode) for name in MARKET_CONTRACTS},
        roles=_verified_roles(market, admin.address),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        deployer_base58=_base58(chain, admin),
    )
    return record, market


def _base58(chain: ChainBackend, account: Account) -> str:
    """How the chain's own tools name `account`, where that is not its hex address (Qtum's base58)."""
    native = chain.native_address(account)
    return "" if native.lower() == account.address.lower() else native


def _checked_address(value: str, what: str) -> str:
    if not is_address(value):
        raise UsageError(f"{what} {value!r} is not a 0x address (40 hex digits)")
    return str(to_checksum_address(value))


def _live_elsewhere(chain: ChainBackend, record: DeploymentRecord) -> str:
    """Where the chain `record` describes still runs with the recorded escrow ("" if it does not, or if it is
    this chain): two local anvils share chain id 31337 and so the record file of their network."""
    if record.rpc_url == public_rpc_url(chain.url) or not record.rpc_url.startswith(("http://", "https://")):
        return ""
    try:
        other = connect(record.rpc_url, timeout_s=2.0)
        if int(other.eth.chain_id) != record.chain_id:
            return ""
        code = bytes(other.eth.get_code(to_checksum_address(record.addresses["EnergyEscrow"])))
    except Exception:  # a probe: whatever fails there, no live chain holds the recorded market
        return ""
    if code_hash(code) != record.code_hashes["EnergyEscrow"]:
        return ""
    return f"at {record.rpc_url}, with the recorded escrow at {record.addresses['EnergyEscrow']}"


def _why_stale(
    chain: ChainBackend,
    compiled: CompilationResult,
    record: DeploymentRecord,
    path: Path,
    request: DeploymentRequest,
    matcher: str,
) -> str | None:
    """Why the record does not describe this chain (redeploy), None if it can be reused by `matcher` (the account
    that will submit orders: the escrow's matcher must be it).

    Raises UsageError when it does describe this chain but not the request.
    """
    if record.chain_id != chain.chain_id:
        raise UsageError(
            f"{path} records chain id {record.chain_id} but is the file of chain {chain.chain_id}: "
            "it was renamed or edited; move it back or remove it"
        )
    codes = {name: chain.code_at(record.addresses[name]) for name in MARKET_CONTRACTS}
    missing = [name for name, code in codes.items() if not code]
    if len(missing) == len(codes):
        return "the chain has no code at the recorded addresses (a fresh chain)"
    if missing:
        return "no code at " + ", ".join(f"{name}'s address {record.addresses[name]}" for name in missing)
    for name, code in codes.items():
        if code_hash(code) != record.code_hashes[name]:
            return f"the code at {name}'s address {record.addresses[name]} is not the recorded code (another chain)"
    market = Market(chain, market_codec(compiled), MarketAddresses.of(record.addresses))
    differences = _differences(market, request)
    # An older escrow has no matcher: its call reverts, which is the code-hash difference reported below.
    try:
        deployed_matcher = str(market.view("EnergyEscrow", "matcher"))
    except P2PEnergyError:
        deployed_matcher = matcher
    if deployed_matcher.lower() != matcher.lower():
        differences.append(f"its escrow's matcher is {deployed_matcher}, not this run's operator {matcher}")
    compiled_hashes = {name: code_hash(compiled[name].runtime_bytecode) for name in MARKET_CONTRACTS}
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


def _differences(market: Market, request: DeploymentRequest) -> list[str]:
    """The deployed market's timing where it differs from the request."""
    found = {
        "slot length": (int(market.view("MeterRegistry", "slotLength")), request.slot_length_s, "s"),
        "grace period": (int(market.view("EnergyEscrow", "gracePeriod")), request.grace_period_s, "s"),
    }
    if request.genesis is not None:
        found["genesis"] = (int(market.view("MeterRegistry", "genesis")), request.genesis, "")
    return [
        f"{what} {deployed}{unit and ' ' + unit} (asked for {asked}{unit and ' ' + unit})"
        for what, (deployed, asked, unit) in found.items()
        if deployed != asked
    ]


def _verified_roles(market: Market, admin: str) -> dict[str, dict[str, list[str]]]:
    """Check with `hasRole` that the constructors gave `admin` every role; the holders to record."""
    roles: dict[str, dict[str, list[str]]] = {}
    for name, role_names in _ROLES.items():
        for role in role_names:
            role_id = market.view(name, role)
            if not market.view(name, "hasRole", role_id, admin):
                raise P2PEnergyError(f"{name} at {market.address(name)} did not give the deployer {admin} its {role}")
            roles.setdefault(name, {})[role] = [admin]
    return roles


def _grant_operator(
    market: Market, record: DeploymentRecord, admin: Account, operator: str, progress: Progress
) -> DeploymentRecord:
    """Make `operator` an OPERATOR_ROLE holder of the registry (a transaction only when it is not one yet)."""
    role = market.view("MeterRegistry", "OPERATOR_ROLE")
    if not market.view("MeterRegistry", "hasRole", role, operator):
        market.transact(admin, "MeterRegistry", "grantRole", role, operator)
        if not market.view("MeterRegistry", "hasRole", role, operator):
            raise P2PEnergyError(f"granted OPERATOR_ROLE to {operator} but the registry does not report it")
        progress(f"granted OPERATOR_ROLE on the MeterRegistry to {operator}")
    holders = record.roles.get("MeterRegistry", {}).get("OPERATOR_ROLE", [])
    if operator in holders:
        return record
    roles = {contract: {r: list(h) for r, h in by_role.items()} for contract, by_role in record.roles.items()}
    roles.setdefault("MeterRegistry", {})["OPERATOR_ROLE"] = [*holders, operator]
    return replace(record, roles=roles)
