import json

import pytest
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.market import MARKET_CONTRACTS, deploy_market
from p2p_energy.errors import UsageError
from p2p_energy.run.deployment_record import (
    CompilerInfo,
    DeploymentRecord,
    load_record,
    public_rpc_url,
    record_path,
    same_code_except_immutables,
)
from p2p_energy.run.deployments import DeploymentRequest, deploy_or_reuse
from tests.local_chain import first_account, local_backend

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

SLOT = 900
GRACE = 1_800


@pytest.fixture
def chain(toolchain):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=2)) as chain:
        yield chain


@pytest.fixture
def compiled(compile_for):
    return compile_for("cancun")


@pytest.fixture
def deploy(tmp_path, compiled):
    """deploy_or_reuse on `chain` into the test's own deployments folder; keyword arguments override."""

    def deploy(chain, **overrides):
        arguments = {
            "network": "local",
            "slot_length_s": SLOT,
            "grace_period_s": GRACE,
            "directory": tmp_path,
            **overrides,
        }
        chosen = arguments.pop("compiled", compiled)
        backend = local_backend(chain, chosen)
        try:
            return deploy_or_reuse(backend, chosen, first_account(chain), DeploymentRequest(**arguments))
        finally:
            backend.close()

    return deploy


def nonce(chain):
    return chain.web3().eth.get_transaction_count(chain.accounts[0].address)


def test_the_first_call_deploys_and_writes_the_record(chain, deploy, tmp_path):
    record, market, reused = deploy(chain)
    assert not reused
    assert load_record(tmp_path / "local-31337.json") == record
    assert record.addresses == market.addresses.as_dict()
    assert set(record.addresses) == set(MARKET_CONTRACTS)


def test_the_record_holds_the_deployments_transaction_hashes_and_the_escrow_block(chain, deploy):
    record, _, _ = deploy(chain)
    receipts = {name: chain.web3().eth.get_transaction_receipt(record.tx_hashes[name]) for name in MARKET_CONTRACTS}
    assert {name: receipt["contractAddress"] for name, receipt in receipts.items()} == record.addresses
    assert record.block == receipts["EnergyEscrow"]["blockNumber"]


def test_the_record_holds_the_nodes_url(chain, deploy):
    record, _, _ = deploy(chain)
    assert record.rpc_url == chain.url


def test_the_second_call_on_the_same_chain_reuses_and_sends_no_transaction(chain, deploy):
    first, _, _ = deploy(chain)
    before = nonce(chain)
    second, market, reused = deploy(chain)
    assert reused
    assert nonce(chain) == before
    assert second == first
    assert market.address("EnergyEscrow") == first.addresses["EnergyEscrow"]


def test_a_reused_market_answers_at_the_recorded_addresses(chain, deploy):
    first, _, _ = deploy(chain)
    _, market, _ = deploy(chain)
    assert market.addresses.as_dict() == first.addresses
    assert market.view("MeterRegistry", "slotLength") == SLOT
    assert market.view("EnergyEscrow", "gracePeriod") == GRACE


def test_a_fresh_chain_with_the_record_of_a_stopped_chain_deploys_anew(toolchain, deploy):
    with LocalChain(toolchain.anvil, ChainOptions(accounts=2)) as stopped:
        deploy(stopped)
    with LocalChain(toolchain.anvil, ChainOptions(accounts=2)) as fresh:
        record, _, reused = deploy(fresh)
        assert not reused
        assert nonce(fresh) == len(MARKET_CONTRACTS)
        assert all(fresh.web3().eth.get_code(address) for address in record.addresses.values())


def test_another_chain_of_the_same_id_never_overwrites_the_record_of_a_running_one(toolchain, chain, deploy, tmp_path):
    deploy(chain)
    kept = (tmp_path / "local-31337.json").read_bytes()
    with LocalChain(toolchain.anvil, ChainOptions(accounts=2)) as other:
        with pytest.raises(UsageError, match=rf"records the market of another chain that is running \(at {chain.url},"):
            deploy(other)
        assert nonce(other) == 0
    assert (tmp_path / "local-31337.json").read_bytes() == kept


def test_code_missing_at_one_address_redeploys_the_market(chain, deploy):
    old, _, _ = deploy(chain)
    chain.web3().provider.make_request("anvil_setCode", [old.addresses["EnergyEscrow"], "0x"])
    new, _, reused = deploy(chain)
    assert not reused
    assert new.addresses["EnergyEscrow"] != old.addresses["EnergyEscrow"]


def test_other_code_at_a_recorded_address_redeploys_the_market(chain, deploy):
    old, _, _ = deploy(chain)
    w3 = chain.web3()
    w3.provider.make_request("anvil_setCode", [old.addresses["EnergyToken"], "0x6000"])
    new, _, reused = deploy(chain)
    assert not reused
    assert new.addresses["EnergyToken"] != old.addresses["EnergyToken"]


def test_a_different_slot_length_than_the_deployed_one_is_refused_naming_the_record(chain, deploy, tmp_path):
    deploy(chain)
    before = nonce(chain)
    with pytest.raises(UsageError, match=r"slot length 900 s \(asked for 60 s\).*remove .*local-31337\.json"):
        deploy(chain, slot_length_s=60)
    assert nonce(chain) == before


def test_a_different_grace_period_than_the_deployed_one_is_refused(chain, deploy):
    deploy(chain)
    with pytest.raises(UsageError, match=r"grace period 1800 s \(asked for 3600 s\)"):
        deploy(chain, grace_period_s=3_600)


def test_a_different_genesis_than_the_deployed_one_is_refused(chain, deploy):
    record, _, _ = deploy(chain)
    with pytest.raises(UsageError, match=rf"genesis {record.genesis} \(asked for {record.genesis + 60}\)"):
        deploy(chain, genesis=record.genesis + 60)


def test_contracts_compiled_for_another_evm_target_do_not_reuse_the_market(chain, deploy, compile_for):
    deploy(chain)
    with pytest.raises(UsageError, match=r"code of EnergyToken, MeterRegistry, EnergyEscrow built with .*EVM cancun"):
        deploy(chain, compiled=compile_for("london"))


def test_a_zero_grace_period_is_refused_before_anything_is_sent(chain, deploy):
    with pytest.raises(UsageError, match="no lot could ever be settled"):
        deploy(chain, grace_period_s=0)
    assert nonce(chain) == 0


def test_a_zero_slot_length_is_refused(chain, deploy):
    with pytest.raises(UsageError, match="slot length must be a positive number"):
        deploy(chain, slot_length_s=0)


def test_deploy_market_refuses_a_zero_grace_period(chain, compiled):
    backend = local_backend(chain, compiled)
    try:
        with pytest.raises(UsageError, match="grace period must be at least 1 s"):
            deploy_market(backend, compiled, first_account(chain), genesis=0, slot_length=SLOT, grace_period=0)
    finally:
        backend.close()
    assert nonce(chain) == 0


def test_the_default_genesis_is_the_latest_block_time_rounded_down_to_a_minute(chain, deploy):
    latest = chain.web3().eth.get_block("latest")["timestamp"]
    record, market, _ = deploy(chain)
    assert record.genesis % 60 == 0
    assert latest - 60 < record.genesis <= latest
    assert market.view("MeterRegistry", "genesis") == record.genesis


def test_the_admin_holds_every_constructor_role_and_the_record_lists_it(chain, deploy):
    record, market, _ = deploy(chain)
    admin = chain.accounts[0].address
    for contract, role in [("EnergyToken", "MINTER_ROLE"), ("MeterRegistry", "OPERATOR_ROLE")]:
        assert market.view(contract, "hasRole", market.view(contract, role), admin)
    assert record.roles == {
        "EnergyToken": {"DEFAULT_ADMIN_ROLE": [admin], "MINTER_ROLE": [admin]},
        "MeterRegistry": {"DEFAULT_ADMIN_ROLE": [admin], "OPERATOR_ROLE": [admin]},
    }


def test_an_operator_is_granted_the_operator_role_by_the_admin(chain, deploy):
    operator = chain.accounts[1].address
    record, market, _ = deploy(chain, operator=operator)
    role = market.view("MeterRegistry", "OPERATOR_ROLE")
    assert market.view("MeterRegistry", "hasRole", role, operator)
    assert operator in record.roles["MeterRegistry"]["OPERATOR_ROLE"]


def test_an_operator_named_on_reuse_is_granted_and_recorded(chain, deploy, tmp_path):
    deploy(chain)
    operator = chain.accounts[1].address
    _, _, reused = deploy(chain, operator=operator)
    assert reused
    assert load_record(tmp_path / "local-31337.json").roles["MeterRegistry"]["OPERATOR_ROLE"][-1] == operator


def test_a_record_file_that_is_not_json_is_refused_naming_the_file(chain, deploy, tmp_path):
    path = tmp_path / "local-31337.json"
    path.write_text("{not json")
    with pytest.raises(UsageError, match=rf"{path} is not valid JSON \(line 1, column 2"):
        deploy(chain)


def test_a_record_with_a_bad_field_is_refused_naming_the_file_and_the_field(chain, deploy, tmp_path):
    record, _, _ = deploy(chain)
    path = tmp_path / "local-31337.json"
    data = record.to_json()
    data["addresses"]["MeterRegistry"] = "0x1234"
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match=rf"{path}: field 'addresses.MeterRegistry' is '0x1234', not a 0x address"):
        deploy(chain)


def test_a_record_with_a_missing_field_names_it():
    with pytest.raises(UsageError, match=r"deployments/x.json: field 'chain_id' is missing"):
        DeploymentRecord.from_json({"format": 1, "network": "local", "created_at": "2026-01-01T00:00:00+00:00",
                                    "compiler": {}}, "deployments/x.json")  # fmt: skip


def test_the_deployed_code_is_the_compiled_code_with_only_immutables_filled_in(chain, deploy, compiled):
    _, market, _ = deploy(chain)
    escrow_code = bytes(chain.web3().eth.get_code(market.address("EnergyEscrow")))
    assert escrow_code != bytes.fromhex(compiled["EnergyEscrow"].runtime_bytecode)  # immutables patched in
    assert same_code_except_immutables(compiled["EnergyEscrow"].runtime_bytecode, escrow_code)


def test_code_differing_where_the_compiled_byte_is_not_zero_is_not_the_same_code(compiled):
    runtime = compiled["EnergyToken"].runtime_bytecode
    code = bytearray.fromhex(runtime)
    position = next(i for i, byte in enumerate(code) if byte)
    code[position] ^= 0xFF
    assert not same_code_except_immutables(runtime, bytes(code))


def test_the_recorded_rpc_url_drops_credentials_path_and_query():
    assert public_rpc_url("https://user:secret@node.example:8545/v3/apikey?token=x") == "https://node.example:8545"


def test_a_network_name_that_cannot_name_a_file_is_refused(tmp_path):
    with pytest.raises(UsageError, match="cannot name a record file"):
        record_path(tmp_path, "../etc", 1)


HEX32 = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())
ADDRESS = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
PER_CONTRACT = st.fixed_dictionaries({name: HEX32 for name in MARKET_CONTRACTS})


@st.composite
def records(draw):
    addresses = {name: to_checksum_address(draw(ADDRESS)) for name in MARKET_CONTRACTS}
    holder = to_checksum_address(draw(ADDRESS))
    return DeploymentRecord(
        chain_id=draw(st.integers(1, 2**63)),
        network=draw(st.sampled_from(["local", "custom", "qtum-regtest"])),
        rpc_url=draw(st.sampled_from(["http://127.0.0.1:8545", "https://node.example"])),
        addresses=addresses,
        tx_hashes=draw(PER_CONTRACT),
        block=draw(st.integers(0, 2**40)),
        deployer=holder,
        genesis=draw(st.integers(0, 2**64 - 1)),
        slot_length_s=draw(st.integers(1, 2**64 - 1)),
        grace_period_s=draw(st.integers(1, 2**64 - 1)),
        compiler=CompilerInfo("0.8.28", draw(st.sampled_from(["london", "shanghai", "cancun"])), draw(st.integers(1))),
        code_hashes=draw(PER_CONTRACT),
        compiled_code_hashes=draw(PER_CONTRACT),
        roles={"MeterRegistry": {"OPERATOR_ROLE": [holder]}},
        created_at="2026-11-25T10:00:00+00:00",
    )


@settings(database=None, deadline=None)
@given(records())
def test_a_record_survives_a_round_trip_through_a_json_file(record):
    assert DeploymentRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


@settings(database=None, deadline=None, max_examples=30)
@given(records(), st.sampled_from(["chain_id", "block", "genesis", "slot_length_s", "grace_period_s"]))
def test_a_whole_number_field_holding_text_is_named(record, field):
    data = record.to_json()
    data[field] = "12"
    with pytest.raises(UsageError, match=rf"rec.json: field '{field}' is '12', not a whole number"):
        DeploymentRecord.from_json(data, "rec.json")
