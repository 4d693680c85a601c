"""anvil --prune-history N: ChainOptions.prune_history takes how many states to keep, `simulate`'s own chain
keeps SIMULATION_PRUNE_HISTORY of them, and a revert is still explained after its state is gone (from the
trace anvil stored when it mined the transaction), on a pruned chain and on one restarted from its state file."""

from pathlib import Path

import psutil
import pytest
from eth_utils.crypto import keccak

from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import SIMULATION_PRUNE_HISTORY, ChainOptions, LocalChain, simulation_options
from p2p_energy.chain.backend import Call
from p2p_energy.chain.evm import EvmBackend
from p2p_energy.chain.market import market_codec
from p2p_energy.errors import UsageError
from p2p_energy.run.target import TargetOptions, open_target
from tests.local_chain import deploy_local_market

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

#: Blocks mined after the revert: far more than the pruned chains below keep.
LATER_BLOCKS = 12


def anvil_arguments(chain: LocalChain) -> list[str]:
    assert chain.pid is not None
    return psutil.Process(chain.pid).cmdline()[1:]


@pytest.mark.parametrize("keep", [None, 0])
def test_no_number_or_0_keeps_every_state(keep):
    assert "--prune-history" not in LocalChain(Path("anvil"), ChainOptions(prune_history=keep)).command(1, Path("c"))


def test_a_number_is_the_states_anvil_keeps():
    command = LocalChain(Path("anvil"), ChainOptions(prune_history=8)).command(1, Path("c"))
    assert command[command.index("--prune-history") + 1] == "8"


@pytest.mark.parametrize("keep", [-1, True, False])
def test_a_negative_number_or_a_bool_is_refused(keep):
    with pytest.raises(UsageError, match="--prune-history takes a number of states to keep"):
        ChainOptions(prune_history=keep)


def test_a_chain_kept_in_a_state_file_keeps_its_history(tmp_path):
    with pytest.raises(UsageError, match="drop one of --state, --prune-history"):
        ChainOptions(prune_history=8, state_path=tmp_path / "chain.json")


def test_chain_simulation_keeps_every_state_for_runs_that_may_resume():
    assert simulation_options().prune_history is None


def test_simulates_own_chain_keeps_only_the_last_states(toolchain, compile_for):
    codec = market_codec(compile_for("cancun"))
    with open_target(toolchain.anvil, TargetOptions(simulation=True), codec, lambda _: None) as target:
        assert target.local_chain is not None
        assert target.local_chain.options.prune_history == SIMULATION_PRUNE_HISTORY
        arguments = anvil_arguments(target.local_chain)
    assert arguments[arguments.index("--prune-history") + 1] == str(SIMULATION_PRUNE_HISTORY)


def a_revert(chain: LocalChain, compiled) -> tuple[EvmBackend, Call, int, str]:
    """A withdraw beyond an empty balance, reverted on chain; then LATER_BLOCKS empty blocks."""
    market = deploy_local_market(chain, compiled, genesis=0, gas_price=0)
    nobody = Account.from_key(keccak(text="prune-history: nothing to withdraw"))
    withdraw = Call("withdraw", nobody, market.address("EnergyEscrow"), market.codec.encode("withdraw", 1), 150_000)
    (outcome,) = market.chain.send([withdraw])
    assert outcome.status == 0 and outcome.block is not None and outcome.tx_hash is not None
    assert outcome.error == f"InsufficientBalance(account={nobody.address.lower()}, balance=0, needed=1)"
    for _ in range(LATER_BLOCKS):
        chain.web3().provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return market.chain, withdraw, outcome.block, outcome.tx_hash


def test_a_revert_older_than_the_states_kept_is_still_explained(toolchain, compile_for):
    options = ChainOptions(accounts=1, base_fee_wei=0, prune_history=2)
    with LocalChain(toolchain.anvil, options) as chain:
        backend, call, block, tx_hash = a_revert(chain, compile_for("cancun"))
        w3 = chain.web3()
        replayed = w3.provider.make_request("debug_traceTransaction", [tx_hash, {"tracer": "callTracer"}])  # type: ignore[arg-type]
        assert "error" in replayed, "the state to replay it on should be gone"
        assert (
            backend.explain_revert(call, block, tx_hash)
            == f"InsufficientBalance(account={call.sender.address.lower()}, balance=0, needed=1)"
        )


def test_a_revert_before_a_restart_from_the_state_file_is_still_explained(toolchain, compile_for, tmp_path):
    options = ChainOptions(accounts=1, base_fee_wei=0, state_path=tmp_path / "chain.json")
    compiled = compile_for("cancun")
    with LocalChain(toolchain.anvil, options) as chain:
        _, call, block, tx_hash = a_revert(chain, compiled)
    with LocalChain(toolchain.anvil, options) as restarted:
        backend = EvmBackend(restarted.web3(), market_codec(compiled), gas_price=0, can_mine=True)
        try:
            assert backend.explain_revert(call, block, tx_hash) == (
                f"InsufficientBalance(account={call.sender.address.lower()}, balance=0, needed=1)"
            )
        finally:
            backend.close()
