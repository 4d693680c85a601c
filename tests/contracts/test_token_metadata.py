import brownie
import pytest


def test_token_has_eight_decimals_like_qrc20(token):
    assert token.decimals() == 8


def test_token_has_its_name_and_symbol(token):
    assert token.name() == "Energy Token"
    assert token.symbol() == "NRG"


def test_deploy_rejects_the_zero_address_as_admin(EnergyToken, accounts):
    with brownie.reverts(f"ERC20InvalidReceiver: {brownie.ZERO_ADDRESS}"):
        EnergyToken.deploy("Energy Token", "NRG", brownie.ZERO_ADDRESS, {"from": accounts[0]})


def test_token_accepts_no_native_value(token, accounts):
    # no receive or fallback function: the call reverts with no data, which no error can name
    with pytest.raises(brownie.exceptions.VirtualMachineError) as refused:
        accounts[0].transfer(token, 1)
    assert refused.value.revert_msg in (None, "")
