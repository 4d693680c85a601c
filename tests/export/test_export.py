"""`export`: artifacts a verifier recompiles to the deployed code, a deployment plain web3.py loads, brownie's map."""

import json
from dataclasses import replace

import pytest

from p2p_energy.chain.market import MARKET_CONTRACTS
from p2p_energy.errors import UsageError
from p2p_energy.export.export import export
from p2p_energy.export.verify import load_metadata, match, recompile, sources_from
from p2p_energy.run.deployment_record import save_record
from p2p_energy.solidity.compiler import Compiler

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)


def test_each_contract_gets_an_artifact_with_abi_bytecode_and_metadata(exported_market):
    for name in MARKET_CONTRACTS:
        artifact = json.loads((exported_market.out / f"{name}.json").read_text())
        assert artifact["contractName"] == name
        assert artifact["abi"] and artifact["deployedBytecode"].startswith("0x")
        assert json.loads(artifact["metadata"])["settings"]["compilationTarget"] == {artifact["sourceName"]: name}


def test_the_registry_recompiled_from_its_exported_metadata_is_the_code_on_chain(exported_market, toolchain):
    # The registry, not the escrow: the same path (immutables the constructor wrote: genesis, slot length), in
    # half the compile time (17.6 s against 32.9 s, measured 2026-12-08 under load).
    metadata = load_metadata(exported_market.out / "MeterRegistry.json")
    built, immutables = recompile(metadata, sources_from(exported_market.out / "sources", metadata), toolchain.solc)
    deployed = bytes(exported_market.web3().eth.get_code(exported_market.record.addresses["MeterRegistry"]))
    assert immutables  # masked, not ignored
    assert match(built, immutables, deployed) == "full"


def test_code_differing_beyond_the_metadata_tail_does_not_match(exported_market):
    built = bytes.fromhex(json.loads((exported_market.out / "EnergyToken.json").read_text())["deployedBytecode"][2:])
    deployed = bytes(exported_market.web3().eth.get_code(exported_market.record.addresses["EnergyToken"]))
    assert match(built, [], deployed) == "full"
    assert match(built, [], deployed[:-3] + b"\x00" + deployed[-2:]) == "partial"
    assert match(built, [], b"\x00" + deployed[1:]) is None


def test_the_exported_deployment_loads_with_plain_web3(exported_market):
    deployment = json.loads((exported_market.out / "deployment-31337.json").read_text())
    w3 = exported_market.web3()
    escrow = deployment["contracts"]["EnergyEscrow"]
    contract = w3.eth.contract(address=escrow["address"], abi=escrow["abi"])
    assert contract.functions.currentSlot().call() == 0
    token = deployment["contracts"]["EnergyToken"]
    assert w3.eth.contract(address=token["address"], abi=token["abi"]).functions.symbol().call() == "NRG"
    assert w3.eth.get_transaction(escrow["tx_hash"])["blockNumber"] == deployment["block"]


def test_brownie_map_lists_the_market_for_its_chain(exported_market):
    folder = exported_market.brownie_build / "deployments"
    chains = json.loads((folder / "map.json").read_text())
    assert chains["31337"] == {name: [exported_market.record.addresses[name]] for name in MARKET_CONTRACTS}
    escrow = json.loads((folder / "31337" / f"{exported_market.record.addresses['EnergyEscrow']}.json").read_text())
    assert escrow["contractName"] == "EnergyEscrow" and "pcMap" not in escrow  # brownie loads it with from_abi


def test_a_newer_deployment_comes_first_in_brownie_map(exported_market, toolchain, compile_for, tmp_path):
    older = exported_market.record
    newer = replace(older, addresses={n: "0x" + f"{i + 1:040x}" for i, n in enumerate(MARKET_CONTRACTS)})
    newer = replace(newer, created_at="2099-01-01T00:00:00+00:00")
    save_record(older, tmp_path / "deployments" / "local-31337.json")
    save_record(newer, tmp_path / "deployments" / "other-31337.json")
    compiler = Compiler.for_project(toolchain, "cancun")
    export(compiler, compile_for("cancun"), tmp_path / "out", tmp_path / "deployments", tmp_path / "build")
    chains = json.loads((tmp_path / "build" / "deployments" / "map.json").read_text())
    assert chains["31337"]["EnergyEscrow"] == [newer.addresses["EnergyEscrow"], older.addresses["EnergyEscrow"]]
    written = json.loads((tmp_path / "out" / "deployment-31337.json").read_text())
    assert written["contracts"]["EnergyEscrow"]["address"] == newer.addresses["EnergyEscrow"]


def test_a_record_built_for_another_evm_is_skipped_with_the_reason(exported_market, toolchain, compile_for, tmp_path):
    record = exported_market.record
    path = save_record(replace(record, compiler=replace(record.compiler, evm_version="london")), tmp_path / "r.json")
    compiler = Compiler.for_project(toolchain, "cancun")
    done = export(compiler, compile_for("cancun"), tmp_path / "out", tmp_path, tmp_path / "build")
    assert done.deployments == ()
    assert done.skipped == (f"{path}: built for EVM london: export with --evm london",)


def test_a_damaged_brownie_map_is_named_with_what_to_do(exported_market, toolchain, compile_for, tmp_path):
    (tmp_path / "build" / "deployments").mkdir(parents=True)
    (tmp_path / "build" / "deployments" / "map.json").write_text("{")
    compiler = Compiler.for_project(toolchain, "cancun")
    with pytest.raises(UsageError, match=r"map.json is not valid JSON: remove it \(brownie rebuilds it\)"):
        export(compiler, compile_for("cancun"), tmp_path / "out", exported_market.records, tmp_path / "build")
