"""Will this bytecode run on a Qtum node of a given EVM target?

A Qtum node runs Ethereum's fork rules switched on at heights, so code built
for a newer target than the node's fails there (PUSH0 on a pre-Shanghai node).
Some opcodes run but mean something else on Qtum: PREVRANDAO (formerly
DIFFICULTY) is the block's nBits, not randomness; BASEFEE is always 0;
SELFDESTRUCT still deletes code after Cancun (no EIP-6780). And value sent
with a call or a contract creation needs Qtum's condensing transactions (a
creation with value fails), so no function may be payable.

Searching the hex for a byte gives false findings: PUSH immediates and the
CBOR metadata solc appends hold arbitrary bytes. So the runtime code is
stripped of its metadata (its length is the last two bytes) and
disassembled, and only real instructions count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from p2p_energy.errors import P2PEnergyError, UsageError
from p2p_energy.solidity.compiler import EVM_VERSIONS, CompilationResult, ContractArtifact

#: EIP-170: the largest runtime code Ethereum and Qtum accept.
CODE_SIZE_LIMIT = 24_576


def _opcode_names() -> dict[int, str]:
    names = {
        0x00: "STOP", 0x01: "ADD", 0x02: "MUL", 0x03: "SUB", 0x04: "DIV", 0x05: "SDIV", 0x06: "MOD",
        0x07: "SMOD", 0x08: "ADDMOD", 0x09: "MULMOD", 0x0A: "EXP", 0x0B: "SIGNEXTEND",
        0x10: "LT", 0x11: "GT", 0x12: "SLT", 0x13: "SGT", 0x14: "EQ", 0x15: "ISZERO", 0x16: "AND",
        0x17: "OR", 0x18: "XOR", 0x19: "NOT", 0x1A: "BYTE", 0x1B: "SHL", 0x1C: "SHR", 0x1D: "SAR",
        0x20: "KECCAK256",
        0x30: "ADDRESS", 0x31: "BALANCE", 0x32: "ORIGIN", 0x33: "CALLER", 0x34: "CALLVALUE",
        0x35: "CALLDATALOAD", 0x36: "CALLDATASIZE", 0x37: "CALLDATACOPY", 0x38: "CODESIZE",
        0x39: "CODECOPY", 0x3A: "GASPRICE", 0x3B: "EXTCODESIZE", 0x3C: "EXTCODECOPY",
        0x3D: "RETURNDATASIZE", 0x3E: "RETURNDATACOPY", 0x3F: "EXTCODEHASH",
        0x40: "BLOCKHASH", 0x41: "COINBASE", 0x42: "TIMESTAMP", 0x43: "NUMBER", 0x44: "PREVRANDAO",
        0x45: "GASLIMIT", 0x46: "CHAINID", 0x47: "SELFBALANCE", 0x48: "BASEFEE", 0x49: "BLOBHASH",
        0x4A: "BLOBBASEFEE",
        0x50: "POP", 0x51: "MLOAD", 0x52: "MSTORE", 0x53: "MSTORE8", 0x54: "SLOAD", 0x55: "SSTORE",
        0x56: "JUMP", 0x57: "JUMPI", 0x58: "PC", 0x59: "MSIZE", 0x5A: "GAS", 0x5B: "JUMPDEST",
        0x5C: "TLOAD", 0x5D: "TSTORE", 0x5E: "MCOPY", 0x5F: "PUSH0",
        0xF0: "CREATE", 0xF1: "CALL", 0xF2: "CALLCODE", 0xF3: "RETURN", 0xF4: "DELEGATECALL",
        0xF5: "CREATE2", 0xFA: "STATICCALL", 0xFD: "REVERT", 0xFE: "INVALID", 0xFF: "SELFDESTRUCT",
    }  # fmt: skip
    names.update({0x60 + n: f"PUSH{n + 1}" for n in range(32)})
    names.update({0x80 + n: f"DUP{n + 1}" for n in range(16)})
    names.update({0x90 + n: f"SWAP{n + 1}" for n in range(16)})
    names.update({0xA0 + n: f"LOG{n}" for n in range(5)})
    return names


OPCODE_NAMES = _opcode_names()

#: Opcodes a node of an older target rejects: the target that introduced each.
INTRODUCED_IN = {
    "PUSH0": "shanghai",
    "TLOAD": "cancun",
    "TSTORE": "cancun",
    "MCOPY": "cancun",
    "BLOBHASH": "cancun",
    "BLOBBASEFEE": "cancun",
}

#: Opcodes that run on Qtum but must not be used, and why.
BANNED_ON_QTUM = {
    "SELFDESTRUCT": "deletes code on Qtum even after Cancun (no EIP-6780); funds and state go with it",
    "PREVRANDAO": "is the block's nBits on Qtum (DIFFICULTY before Paris): not randomness",
    "BASEFEE": "is always 0 on Qtum (no EIP-1559)",
}

#: Opcodes worth listing for a reviewer, whether or not they are findings.
NOTABLE = frozenset(INTRODUCED_IN) | frozenset(BANNED_ON_QTUM) | {"CREATE", "CREATE2", "CALLCODE", "DELEGATECALL"}


@dataclass(frozen=True)
class Instruction:
    """One decoded instruction; `immediate` is the data of a PUSH1..PUSH32."""

    offset: int
    opcode: int
    immediate: bytes = b""

    @property
    def name(self) -> str:
        return OPCODE_NAMES.get(self.opcode, f"UNKNOWN_0x{self.opcode:02x}")


@dataclass(frozen=True)
class Finding:
    """Something that stops a contract from deploying or behaving on the target.

    `what` is an opcode name, "code size" or "payable"; `offset` is the byte
    offset of an opcode in the runtime code.
    """

    contract: str
    what: str
    reason: str
    offset: int | None = None

    def __str__(self) -> str:
        where = f" at byte {self.offset} (0x{self.offset:x})" if self.offset is not None else ""
        return f"{self.contract}: {self.what}{where}: {self.reason}"


@dataclass(frozen=True)
class ContractCheck:
    """The verdict on one contract for one EVM target."""

    contract: str
    evm_version: str
    runtime_size: int
    notable_opcodes: dict[str, int]
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings


def strip_metadata(code: bytes) -> bytes:
    """`code` without the CBOR metadata solc appends (unchanged if there is none).

    The last two bytes give the metadata length; the bytes before them must
    parse as one complete CBOR map, or nothing is stripped.
    """
    if len(code) < 2:
        return code
    length = int.from_bytes(code[-2:], "big")
    start = len(code) - 2 - length
    if length == 0 or start < 0 or not _is_cbor_map(code[start:-2]):
        return code
    return code[:start]


def _is_cbor_map(data: bytes) -> bool:
    """Whether `data` is exactly one definite-length CBOR map of simple values (solc's metadata)."""
    try:
        end = _skip_cbor(data, 0, want_map=True)
    except (IndexError, ValueError):
        return False
    return end == len(data)


def _cbor_argument(data: bytes, pos: int, info: int) -> tuple[int, int]:
    """The argument of a CBOR head whose low 5 bits are `info`, and the position after it."""
    if info < 24:
        return info, pos
    if info in (24, 25, 26, 27):
        size = 1 << (info - 24)
        if pos + size > len(data):
            raise IndexError("truncated")
        return int.from_bytes(data[pos : pos + size], "big"), pos + size
    raise ValueError("indefinite length")


def _skip_cbor(data: bytes, pos: int, *, want_map: bool = False) -> int:
    """Position after the CBOR item at `pos`; ValueError for anything solc does not write."""
    head = data[pos]
    major, info = head >> 5, head & 0x1F
    if want_map and major != 5:
        raise ValueError("not a map")
    pos += 1
    if major == 7:  # false, true, null
        if info in (20, 21, 22):
            return pos
        raise ValueError("unsupported simple value")
    argument, pos = _cbor_argument(data, pos, info)
    if major == 0:
        return pos
    if major in (2, 3):
        if pos + argument > len(data):
            raise IndexError("truncated")
        return pos + argument
    if major == 5:
        for _ in range(argument):
            if data[pos] >> 5 != 3:
                raise ValueError("metadata keys are text")
            pos = _skip_cbor(data, pos)
            pos = _skip_cbor(data, pos)
        return pos
    raise ValueError("unsupported type")


def disassemble(code: bytes) -> list[Instruction]:
    """Every instruction of `code`; PUSH data is an immediate, never an instruction."""
    instructions = []
    pos = 0
    while pos < len(code):
        opcode = code[pos]
        width = opcode - 0x5F if 0x60 <= opcode <= 0x7F else 0
        instructions.append(Instruction(pos, opcode, code[pos + 1 : pos + 1 + width]))
        pos += 1 + width
    return instructions


def _target_index(evm_version: str) -> int:
    if evm_version not in EVM_VERSIONS:
        raise UsageError(f"unknown EVM target {evm_version!r}: choose one of {', '.join(EVM_VERSIONS)}")
    return EVM_VERSIONS.index(evm_version)


def _code_bytes(artifact: ContractArtifact) -> bytes:
    text = artifact.runtime_bytecode.removeprefix("0x")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise P2PEnergyError(
            f"{artifact.name}: runtime bytecode is not plain hex (unlinked library placeholders?): link it first"
        ) from None


def _payable_entries(abi: Iterable[dict[str, Any]]) -> list[str]:
    found = []
    for entry in abi:
        kind = entry.get("type", "function")
        if entry.get("stateMutability") == "payable" or entry.get("payable") is True:
            if kind == "function":
                types = ",".join(str(i.get("type")) for i in entry.get("inputs", []))
                found.append(f"function {entry.get('name')}({types})")
            else:
                found.append(str(kind))  # constructor, fallback, receive
    return found


def check_contract(artifact: ContractArtifact, evm_version: str) -> ContractCheck:
    """Check one compiled contract against a Qtum node running `evm_version`."""
    target = _target_index(evm_version)
    code = strip_metadata(_code_bytes(artifact))
    instructions = disassemble(code)
    notable = Counter(i.name for i in instructions if i.name in NOTABLE)
    findings = []
    for instruction in instructions:
        introduced = INTRODUCED_IN.get(instruction.name)
        if introduced is not None and EVM_VERSIONS.index(introduced) > target:
            reason = f"needs {introduced}; a Qtum node with {evm_version} rules rejects the code"
            findings.append(Finding(artifact.name, instruction.name, reason, instruction.offset))
        banned = BANNED_ON_QTUM.get(instruction.name)
        if banned is not None:
            findings.append(Finding(artifact.name, instruction.name, banned, instruction.offset))
    if artifact.runtime_size > CODE_SIZE_LIMIT:
        reason = f"runtime code is {artifact.runtime_size:,} bytes, over the {CODE_SIZE_LIMIT:,}-byte limit"
        findings.append(Finding(artifact.name, "code size", reason))
    for entry in _payable_entries(artifact.abi):
        reason = f"{entry} is payable: hold value in a QRC20 token (creation with value fails on Qtum)"
        findings.append(Finding(artifact.name, "payable", reason))
    return ContractCheck(
        artifact.name, evm_version, artifact.runtime_size, dict(sorted(notable.items())), tuple(findings)
    )


def check_all(result: CompilationResult, evm_version: str) -> list[ContractCheck]:
    """Check every contract of a compile (built for any target) against `evm_version`, by name."""
    _target_index(evm_version)
    return [check_contract(result.contracts[name], evm_version) for name in sorted(result.contracts)]
