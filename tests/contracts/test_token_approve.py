import brownie


def test_allowance_starts_at_zero(token, admin, accounts):
    assert token.allowance(admin, accounts[1]) == 0


def test_approve_sets_allowance(token, admin, accounts):
    token.approve(accounts[1], 500, {"from": admin})
    assert token.allowance(admin, accounts[1]) == 500


def test_approve_emits_approval_event(token, admin, accounts):
    tx = token.approve(accounts[1], 500, {"from": admin})
    event = tx.events["Approval"]
    assert (event["owner"], event["spender"], event["value"]) == (admin, accounts[1], 500)


def test_approve_replaces_the_previous_allowance(token, admin, accounts):
    token.approve(accounts[1], 500, {"from": admin})
    token.approve(accounts[1], 7, {"from": admin})
    assert token.allowance(admin, accounts[1]) == 7


def test_approve_is_per_spender(token, admin, accounts):
    token.approve(accounts[1], 500, {"from": admin})
    assert token.allowance(admin, accounts[2]) == 0


def test_approve_above_balance_is_allowed(token, accounts):
    token.approve(accounts[1], 10**30, {"from": accounts[2]})
    assert token.allowance(accounts[2], accounts[1]) == 10**30


def test_approve_of_the_zero_address_reverts(token, admin):
    with brownie.reverts(f"ERC20InvalidSpender: {brownie.ZERO_ADDRESS}"):
        token.approve(brownie.ZERO_ADDRESS, 1, {"from": admin})
