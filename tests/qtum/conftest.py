"""A real qtumd regtest node for the Qtum tests, shared by the session.

qtumd is found via $QTUMD, PATH, then the shared build beside the project
(../shared/tools/qtum/bin/qtumd); without any, these tests skip with one
line saying so (CI has the shared one, so it always runs them).
"""

import os
import shutil
from pathlib import Path

import pytest

from p2p_energy.chain.market import market_codec
from p2p_energy.chain.qtumd import QtumNode
from p2p_energy.solidity.compiler import Compiler
from p2p_energy.solidity.toolchain import find_toolchain

SHARED_QTUMD = Path(__file__).resolve().parents[3] / "shared" / "tools" / "qtum" / "bin" / "qtumd"


def qtumd_path() -> Path | None:
    for candidate in (os.environ.get("QTUMD"), shutil.which("qtumd"), str(SHARED_QTUMD)):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


QTUMD = qtumd_path()
requires_qtumd = pytest.mark.skipif(
    QTUMD is None, reason="no qtumd ($QTUMD, PATH or ../shared/tools/qtum/bin/qtumd): Qtum tests skipped"
)


@pytest.fixture(scope="session")
def qtumd() -> Path:
    if QTUMD is None:
        pytest.skip("no qtumd ($QTUMD, PATH or ../shared/tools/qtum/bin/qtumd)")
    return QTUMD


@pytest.fixture(scope="session")
def node(qtumd):
    with QtumNode(qtumd) as running:
        yield running


@pytest.fixture(scope="session")
def compiled():
    return Compiler.for_project(find_toolchain(), "cancun").compile()


@pytest.fixture
def backend(node, compiled):
    """A backend on the session's node that mines its blocks, sending one round per phase."""
    return node.backend(market_codec(compiled))


@pytest.fixture
def operator(backend, node):
    return backend.wallet_account(node.miner)
