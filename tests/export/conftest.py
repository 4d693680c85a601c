"""One market deployed on a fresh anvil and exported, shared by the module's tests."""

from dataclasses import dataclass
from pathlib import Path

import pytest
from web3 import Web3

from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.export.export import Exported, export
from p2p_energy.run.deployment_record import DeploymentRecord
from p2p_energy.run.deployments import DeploymentRequest, deploy_or_reuse
from p2p_energy.solidity.compiler import Compiler
from tests.local_chain import first_account, local_backend


@dataclass(frozen=True)
class ExportedMarket:
    chain: LocalChain
    record: DeploymentRecord
    records: Path
    out: Path
    brownie_build: Path
    exported: Exported

    def web3(self) -> Web3:
        return self.chain.web3()


@pytest.fixture(scope="module")
def exported_market(toolchain, compile_for, tmp_path_factory):
    """The market deployed by anvil's first account and exported to a folder of the module's own."""
    compiled = compile_for("cancun")
    root = tmp_path_factory.mktemp("export")
    with LocalChain(toolchain.anvil, ChainOptions(accounts=5)) as chain:
        backend = local_backend(chain, compiled)
        try:
            request = DeploymentRequest("local", 900, 1_800, root / "deployments")
            record, _, _ = deploy_or_reuse(backend, compiled, first_account(chain), request)
        finally:
            backend.close()
        compiler = Compiler.for_project(toolchain, "cancun")
        out, build = root / "build" / "export", root / "build"
        done = export(compiler, compiled, out, root / "deployments", build)
        yield ExportedMarket(chain, record, root / "deployments", out, build, done)
