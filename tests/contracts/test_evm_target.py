from tests.conftest import EVM_TARGET

# The hardfork each target introduced opcodes in: PUSH0 (0x5f) with shanghai,
# MCOPY (0x5e) with cancun. A build for an older target must not contain them,
# and solc 0.8.28 (viaIR) uses both where the target has them (MCOPY in each of
# the three contracts), so a build for the wrong target shows.
PUSH0, MCOPY = 0x5F, 0x5E
OPCODES_OF_TARGET = {"london": set(), "shanghai": {PUSH0}, "cancun": {PUSH0, MCOPY}}
# What each hardfork adds to a block header: withdrawals with shanghai, the beacon root with cancun.
HEADER_FIELDS_OF_TARGET = {
    "london": set(),
    "shanghai": {"withdrawalsRoot"},
    "cancun": {"withdrawalsRoot", "parentBeaconBlockRoot"},
}


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
    fields = {"withdrawalsRoot", "parentBeaconBlockRoot"} & set(block)
    assert fields == HEADER_FIELDS_OF_TARGET[EVM_TARGET]


def test_deployed_contracts_use_exactly_the_new_opcodes_of_the_target(escrow, registry, token, web3):
    ops = set().union(*(opcodes(bytes(web3.eth.get_code(c.address))) for c in (escrow, registry, token)))
    assert ops & {PUSH0, MCOPY} == OPCODES_OF_TARGET[EVM_TARGET]
