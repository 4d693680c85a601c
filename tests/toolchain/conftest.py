import pytest

from p2p_energy.solidity.toolchain import find_toolchain, install_solc_wrapper


@pytest.fixture(scope="module")
def toolchain():
    return find_toolchain()


@pytest.fixture
def solcx_home(toolchain, tmp_path, monkeypatch):
    """A py-solc-x folder of the test's own, holding our installed wrapper."""
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(tmp_path))
    install_solc_wrapper(toolchain, tmp_path)
    return tmp_path
