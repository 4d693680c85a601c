"""EVM target checks for Qtum: real compiled contracts and hand-made bytecode."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p_energy.errors import UsageError
from p2p_energy.solidity.compiler import Compiler, CompilerSettings, ContractArtifact
from p2p_energy.solidity.evmcheck import CODE_SIZE_LIMIT, check_all, check_contract, disassemble, strip_metadata

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)

QTUM_TRAPS = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
contract Destructible { function destroy() external { selfdestruct(payable(msg.sender)); } }
contract PayableBox { uint256 public total; function deposit(uint256 tip) external payable { total += tip; } }
contract PayableCtor { uint256 public x; constructor() payable { x = 1; } }
contract RandomUser { function roll() external view returns (uint256) { return block.prevrandao; } }
contract FeeReader { function fee() external view returns (uint256) { return block.basefee; } }
contract Plain { uint256 public x; function set(uint256 v) external { x = v; } }
"""
# solc's metadata layout: {"ipfs": 34 bytes, "solc": 3 bytes}, then its length in 2 bytes.
CBOR_METADATA = bytes.fromhex("a264697066735822") + b"\xff" * 34 + bytes.fromhex("64736f6c634300081c")
METADATA_TAIL = CBOR_METADATA + len(CBOR_METADATA).to_bytes(2, "big")


def probe(code: bytes, abi: list | None = None) -> ContractArtifact:
    return ContractArtifact(name="Probe", source="probe.sol", abi=abi or [], bytecode="", runtime_bytecode=code.hex())


def findings(code: bytes, evm: str = "cancun") -> list[tuple[str, int | None]]:
    return [(f.what, f.offset) for f in check_contract(probe(code), evm).findings]


@pytest.fixture(scope="module")
def traps(toolchain, tmp_path_factory):
    root = tmp_path_factory.mktemp("traps")
    (root / "contracts").mkdir()
    (root / "contracts" / "Traps.sol").write_text(QTUM_TRAPS)
    return Compiler(toolchain, root / "contracts", root / "cache", CompilerSettings("cancun")).compile()


def only(check, what):
    return [f for f in check.findings if f.what == what]


@pytest.mark.parametrize("evm", ["cancun", "shanghai", "london"])
def test_our_contracts_pass_for_the_target_they_were_compiled_for(compile_for, evm):
    checks = check_all(compile_for(evm), evm)
    assert {c.contract for c in checks} >= {"EnergyToken", "MeterRegistry", "EnergyEscrow"}
    assert [f for c in checks for f in c.findings] == []


def test_shanghai_build_checked_for_london_fails_on_push0(compile_for):
    checks = check_all(compile_for("shanghai"), "london")
    assert all(c.findings and {f.what for f in c.findings} == {"PUSH0"} for c in checks)


def test_every_push0_finding_points_at_a_0x5f_byte(compile_for):
    result = compile_for("shanghai")
    for check in check_all(result, "london"):
        code = bytes.fromhex(result[check.contract].runtime_bytecode)
        assert {code[f.offset] for f in check.findings} == {0x5F}


def test_push0_count_is_the_number_of_push0_findings(compile_for):
    check = check_all(compile_for("shanghai"), "london")[0]
    assert check.notable_opcodes["PUSH0"] == len(check.findings)


def test_selfdestruct_is_reported_with_its_offset(traps):
    [finding] = only(check_contract(traps["Destructible"], "cancun"), "SELFDESTRUCT")
    assert bytes.fromhex(traps["Destructible"].runtime_bytecode)[finding.offset] == 0xFF
    assert str(finding).startswith(f"Destructible: SELFDESTRUCT at byte {finding.offset} ")


def test_payable_function_is_reported_by_signature(traps):
    [finding] = only(check_contract(traps["PayableBox"], "cancun"), "payable")
    assert "function deposit(uint256) is payable" in finding.reason


def test_payable_constructor_is_reported(traps):
    [finding] = only(check_contract(traps["PayableCtor"], "cancun"), "payable")
    assert finding.reason.startswith("constructor is payable")


def test_prevrandao_is_reported_as_not_random_on_qtum(traps):
    [finding] = only(check_contract(traps["RandomUser"], "cancun"), "PREVRANDAO")
    assert "nBits" in finding.reason


def test_basefee_is_reported_as_zero_on_qtum(traps):
    [finding] = only(check_contract(traps["FeeReader"], "cancun"), "BASEFEE")
    assert "always 0" in finding.reason


def test_plain_contract_has_no_findings(traps):
    assert check_contract(traps["Plain"], "cancun").findings == ()


def test_check_all_checks_every_contract_by_name(traps):
    assert [c.contract for c in check_all(traps, "cancun")] == sorted(traps.contracts)


@pytest.mark.parametrize(
    ("opcode", "name"), [(0x5C, "TLOAD"), (0x5D, "TSTORE"), (0x5E, "MCOPY"), (0x49, "BLOBHASH"), (0x4A, "BLOBBASEFEE")]
)
def test_cancun_opcodes_are_findings_before_cancun_only(opcode, name):
    code = bytes([0x5B, opcode, 0x00])
    assert findings(code, "shanghai") == [(name, 1)]
    assert findings(code, "cancun") == []


def test_push0_is_allowed_from_shanghai_on():
    assert findings(bytes([0x5F, 0x00]), "shanghai") == []
    assert findings(bytes([0x5F, 0x00]), "london") == [("PUSH0", 0)]


def test_opcode_bytes_inside_push_data_are_not_findings():
    # PUSH2 0xff5f, PUSH1 0x5c: SELFDESTRUCT, PUSH0 and TLOAD bytes, all data.
    assert findings(bytes([0x61, 0xFF, 0x5F, 0x60, 0x5C, 0x00]), "london") == []


def test_opcode_after_push_data_is_found_at_its_offset():
    assert findings(bytes([0x61, 0x00, 0x00, 0xFF])) == [("SELFDESTRUCT", 3)]


def test_metadata_bytes_are_not_findings():
    assert findings(bytes([0x00, 0xFE]) + METADATA_TAIL, "london") == []


def test_metadata_is_stripped_by_its_length_suffix():
    assert strip_metadata(bytes([0x00, 0xFE]) + METADATA_TAIL) == bytes([0x00, 0xFE])


def test_tail_that_is_not_cbor_is_kept_and_checked():
    # The last two bytes claim 1 byte of metadata, but 0xff is no CBOR map.
    assert findings(bytes([0x00, 0xFF, 0x00, 0x01])) == [("SELFDESTRUCT", 1)]


def test_compiled_runtime_code_ends_before_its_metadata_with_invalid(compile_for):
    code = bytes.fromhex(compile_for("cancun")["EnergyToken"].runtime_bytecode)
    stripped = strip_metadata(code)
    assert len(code) - len(stripped) == int.from_bytes(code[-2:], "big") + 2
    assert stripped[-1] == 0xFE


def test_code_over_24576_bytes_is_reported():
    assert findings(bytes([0x5B]) * (CODE_SIZE_LIMIT + 1)) == [("code size", None)]


def test_code_of_exactly_24576_bytes_passes():
    assert findings(bytes([0x5B]) * CODE_SIZE_LIMIT) == []


def test_unknown_target_is_rejected_naming_the_known_ones():
    with pytest.raises(UsageError, match="choose one of london, shanghai, cancun"):
        check_contract(probe(b"\x00"), "prague")


@settings(database=None, deadline=None)
@given(code=st.binary(max_size=400))
def test_disassembly_covers_the_code_instruction_after_instruction(code):
    position = 0
    for instruction in disassemble(code):
        assert instruction.offset == position
        width = instruction.opcode - 0x5F if 0x60 <= instruction.opcode <= 0x7F else 0
        assert instruction.immediate == code[position + 1 : position + 1 + width]
        position += 1 + width
    assert position >= len(code)


@settings(database=None, deadline=None)
@given(pushes=st.lists(st.binary(min_size=1, max_size=32), max_size=40))
def test_push_data_never_yields_findings(pushes):
    code = b"".join(bytes([0x5F + len(data)]) + data for data in pushes)
    assert findings(code, "london") == []
