from tests.conftest import EVM_TARGET

# The hardfork each target introduced opcodes in: PUSH0 (0x5f) with shanghai,
# MCOPY (0x5e) with cancun. A build for an older target must not contain them.
PUSH0, MCOPY = 0x5F, 0x5E


def opcodes(code: bytes) -> set[int]:
    # solc appends CBOR metadata whose length is in the last two bytes: not code.
    code = code[: -(int.from_bytes(code[-2:], "big") + 2)]
    seen, i = set(), 0
    while i < len(code):
        op = code[i]
        seen.add(op)
        i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
    return seen


def test_contracts_run_on_a_chain_of_the_target_hardfork(web3):
    block = web3.eth.get_block("latest")
    has_withdrawals = "withdrawalsRoot" in block
    assert has_withdrawals == (EVM_TARGET != "london")


def test_deployed_escrow_uses_only_opcodes_of_the_target(escrow, web3):
    ops = opcodes(bytes(web3.eth.get_code(escrow.address)))
    if EVM_TARGET == "london":
        assert PUSH0 not in ops
    if EVM_TARGET != "cancun":
        assert MCOPY not in ops
    assert EVM_TARGET != "shanghai" or PUSH0 in ops
