import pytest

DECIMALS = 8
INITIAL = 1_000 * 10**DECIMALS


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    pass


@pytest.fixture(scope="module")
def admin(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def token(EnergyToken, admin):
    token = EnergyToken.deploy("Energy Token", "NRG", admin, {"from": admin})
    token.mint(admin, INITIAL, {"from": admin})
    return token
