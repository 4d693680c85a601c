"""Plain ERC20 transfers on anvil, the node's own yardstick (`p2p-energy bench`): one at a time through
web3.py (automine), and batched through our chain backend."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from eth_account import Account as EthAccount
from web3 import Web3

from p2p_energy.bench_machine import BenchError
from p2p_energy.chain.abi import AbiCodec
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.backend import Call
from p2p_energy.chain.market import Market, MarketAddresses, deploy_contract
from p2p_energy.solidity.compiler import CompilationResult
from p2p_energy.solidity.toolchain import Toolchain
from p2p_energy.units import TOKEN_NAME, TOKEN_SYMBOL

TRANSFERS = 500
QUICK_TRANSFERS = 100
_TRANSFER_GAS = 60_000
#: ERC20 transfer(address,uint256), for encoding the web3.py baseline's calldata.
_TRANSFER_ABI = [
    {
        "type": "function",
        "name": "transfer",
        "inputs": [{"name": "to", "type": "address"}, {"name": "value", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}],
    }
]


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


@dataclass(frozen=True)
class Transfers:
    """Plain ERC20 transfers: one at a time through web3.py (automine), and batched through TxSender."""

    transfers: int
    gas_per_transfer: int
    web3_s: list[float]
    batched_s: list[float]

    @property
    def web3_per_s(self) -> float:
        return self.transfers / statistics.median(self.web3_s)

    @property
    def batched_per_s(self) -> float:
        return self.transfers / statistics.median(self.batched_s)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "web3_per_s": self.web3_per_s, "batched_per_s": self.batched_per_s}


def measure_transfers(
    toolchain: Toolchain, compiled: CompilationResult, count: int, runs: int, progress: Callable[[str], None]
) -> Transfers:
    """`count` ERC20 transfers per run on a fresh anvil: one at a time through web3.py (automine),
    then batched through our chain backend (signing, JSON-RPC batches, local mining)."""
    web3_s, batched_s, gas = [], [], 0
    for run in range(runs):
        progress(f"ERC20 transfers through web3.py and the EVM backend: run {run + 1} of {runs}")
        with LocalChain(toolchain.anvil, ChainOptions(compiled.settings.evm_version, accounts=2)) as chain:
            admin = Account.from_hex(chain.accounts[0].private_key)
            token = _funded_token(chain, compiled, admin)
            to = chain.accounts[1].address
            seconds, gas = _web3_transfers(chain.web3(), chain.accounts[0].private_key, token, to, count)
            web3_s.append(seconds)
            batched_s.append(_batched_transfers(chain, compiled, admin, token, to, count))
    return Transfers(count, gas, web3_s, batched_s)


def _funded_token(chain: LocalChain, compiled: CompilationResult, admin: Account) -> str:
    """Deploy EnergyToken and mint to `admin`; the node is left automining, as it was found."""
    backend = chain.backend(AbiCodec(compiled["EnergyToken"].abi))
    try:
        deployed = deploy_contract(backend, compiled, "EnergyToken", admin, TOKEN_NAME, TOKEN_SYMBOL, admin.address)
        token = Market(backend, backend.codec, MarketAddresses(deployed.address, "", ""))
        token.transact(admin, "EnergyToken", "mint", admin.address, 10**18)
    finally:
        backend.close()
    return deployed.address


def _web3_transfers(w3: Web3, private_key: str, token: str, to: str, count: int) -> tuple[float, int]:
    """Pre-signed transfers sent one at a time through web3.py (send_raw_transaction,
    wait_for_transaction_receipt), the baseline: seconds, and the gas of one."""
    signer = EthAccount.from_key(private_key)
    first = w3.eth.get_transaction_count(signer.address)
    data = AbiCodec(_TRANSFER_ABI).encode("transfer", to, 1)
    tx = {"to": token, "data": data, "gas": _TRANSFER_GAS, "gasPrice": w3.eth.gas_price, "chainId": w3.eth.chain_id}
    signed = [signer.sign_transaction({**tx, "nonce": first + i}).raw_transaction for i in range(count)]
    started = time.perf_counter()
    for raw in signed:
        receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw), poll_latency=0.01)
    return time.perf_counter() - started, int(receipt["gasUsed"])


def _batched_transfers(
    chain: LocalChain, compiled: CompilationResult, admin: Account, token: str, to: str, count: int
) -> float:
    """The same transfers through the EVM backend (signing, JSON-RPC batches, local mining): seconds."""
    backend = chain.backend(AbiCodec(compiled["EnergyToken"].abi))
    call = Call("transfer", admin, token, backend.codec.encode("transfer", to, 1), _TRANSFER_GAS)
    outcomes, seconds = _timed(partial(backend.send, [call] * count))
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise BenchError(f"{len(failed)} of {count} batched transfers failed on a fresh chain: {failed[0].error}")
    return seconds
