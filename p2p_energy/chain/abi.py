"""Calldata encoding, log decoding and revert decoding for the market's ABIs.

Prepared once per set of ABIs (:class:`AbiCodec`): a city-scale day encodes
tens of thousands of calls and decodes over 100,000 logs, so the common
cases (static elementary types) are read straight from their 32-byte words
and eth_abi decides only the rest. Reverts are decoded to
`Name(arg=value, ...)` from the contracts' custom errors, `Error(string)` or
`Panic(code)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

_ERROR_STRING = "0x08c379a0"  # Error(string)
_PANIC = "0x4e487b71"  # Panic(uint256)


def _error_signature(item: dict[str, Any]) -> str:
    types = ",".join(i["type"] for i in item.get("inputs", []))
    return f"{item['name']}({types})"


def decode_revert(abi: list[dict[str, Any]], data: str) -> str:
    """Readable form of revert data: `Name(arg=value, ...)`, Error(string) or Panic."""
    data = data if data.startswith("0x") else "0x" + data
    payload = bytes.fromhex(data[10:])
    if data.startswith(_ERROR_STRING):
        return str(abi_decode(["string"], payload)[0])
    if data.startswith(_PANIC):
        return f"Panic(0x{abi_decode(['uint256'], payload)[0]:02x})"
    for item in abi:
        if item.get("type") != "error":
            continue
        if "0x" + function_signature_to_4byte_selector(_error_signature(item)).hex() == data[:10]:
            values = abi_decode([i["type"] for i in item["inputs"]], payload)
            args = ", ".join(f"{i['name']}={_show(v)}" for i, v in zip(item["inputs"], values, strict=True))
            return f"{item['name']}({args})"
    return f"unknown error {data[:10]} (data {data})"


def _show(value: Any) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


def _abi_type(item: dict[str, Any]) -> str:
    kind = str(item["type"])
    if not kind.startswith("tuple"):
        return kind
    return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + kind[len("tuple") :]


@dataclass(frozen=True)
class EventData:
    name: str
    address: str
    args: dict[str, Any]


class AbiCodec:
    """Calldata encoding and log decoding for a set of ABIs, prepared once."""

    def __init__(self, *abis: list[dict[str, Any]]):
        self.abi = [item for abi in abis for item in abi]
        self._functions: dict[str, tuple[bytes, list[str]]] = {}
        self._outputs: dict[str, list[str]] = {}
        self._selectors: dict[bytes, str] = {}
        self._events: dict[bytes, tuple[str, list[dict[str, Any]]]] = {}
        self._layouts: dict[bytes, _EventLayout] = {}
        self._checksummed: dict[str, str] = {}
        for item in self.abi:
            types = [_abi_type(i) for i in item.get("inputs", [])]
            signature = f"{item.get('name')}({','.join(types)})"
            if item["type"] == "function":
                self._functions[item["name"]] = (keccak(text=signature)[:4], types)
                self._outputs[item["name"]] = [_abi_type(o) for o in item.get("outputs", [])]
                self._selectors[keccak(text=signature)[:4]] = item["name"]
            elif item["type"] == "event":
                self._events[keccak(text=signature)] = (item["name"], item["inputs"])
                self._layouts[keccak(text=signature)] = _EventLayout.of(item["inputs"])

    def encode(self, function: str, *args: Any) -> bytes:
        selector, types = self._functions[function]
        return selector + abi_encode(types, list(args))

    def decode_result(self, function: str, data: bytes) -> tuple[Any, ...]:
        """The values a call of `function` returned (addresses checksummed)."""
        types = self._outputs[function]
        values = abi_decode(types, bytes(data))
        return tuple(self._checksum(v) if t == "address" else v for t, v in zip(types, values, strict=True))

    def function_of(self, data: bytes) -> str | None:
        """The name of the function `data` calls, None if no ABI here has its selector."""
        return self._selectors.get(bytes(data[:4]))

    def decode_arguments(self, function: str, data: bytes) -> tuple[Any, ...]:
        """The arguments of calldata `data` that calls `function`."""
        return tuple(abi_decode(self._functions[function][1], bytes(data[4:])))

    def decode_log(self, log: dict[str, Any]) -> EventData | None:
        topics = [bytes.fromhex(hex_data(t)[2:]) for t in log["topics"]]
        if not topics or topics[0] not in self._events:
            return None
        name = self._events[topics[0]][0]
        layout = self._layouts[topics[0]]
        data = bytes.fromhex(hex_data(log["data"])[2:])
        indexed = _static_values(layout.indexed_types, b"".join(topics[1:]), exact=True)
        plain = _static_values(layout.plain_types, data)
        if indexed is None or plain is None:  # beyond the fast path: eth_abi decides (and raises)
            indexed = [abi_decode([t], topic)[0] for t, topic in zip(layout.indexed_types, topics[1:], strict=True)]
            plain = list(abi_decode(list(layout.plain_types), data))
        args = dict(zip(layout.indexed_names, indexed, strict=True))
        args.update(zip(layout.plain_names, plain, strict=True))
        for key in layout.address_names:  # checksummed, as web3 gives them and as our accounts spell them
            args[key] = self._checksum(args[key])
        return EventData(name, self._checksum(str(log["address"])), args)

    def _checksum(self, address: str) -> str:
        """Web3.to_checksum_address, remembered: a run sees a few thousand addresses in 100,000s of logs."""
        known = self._checksummed.get(address)
        if known is None:
            known = self._checksummed[address] = str(to_checksum_address(address))
        return known

    def decode_error(self, data: str) -> str:
        return decode_revert(self.abi, data)


@dataclass(frozen=True)
class _EventLayout:
    """An event's inputs split into topics and data, with their canonical types."""

    indexed_names: tuple[str, ...]
    indexed_types: tuple[str, ...]
    plain_names: tuple[str, ...]
    plain_types: tuple[str, ...]
    address_names: tuple[str, ...]

    @classmethod
    def of(cls, inputs: list[dict[str, Any]]) -> _EventLayout:
        indexed = [i for i in inputs if i.get("indexed")]
        plain = [i for i in inputs if not i.get("indexed")]
        return cls(
            tuple(i["name"] for i in indexed),
            tuple(_abi_type(i) for i in indexed),
            tuple(i["name"] for i in plain),
            tuple(_abi_type(i) for i in plain),
            tuple(i["name"] for i in inputs if i["type"] == "address"),
        )


def _static_values(types: Sequence[str], data: bytes, *, exact: bool = False) -> list[Any] | None:
    """Values of static elementary types read straight from their 32-byte words, as eth_abi
    decodes them (addresses in lower case, trailing data ignored unless `exact`).

    None for any other type or for a word eth_abi refuses (non-zero padding): eth_abi then
    decides. It is exact but slow, and a city-scale day decodes over 100,000 logs.
    """
    if len(data) < 32 * len(types) or (exact and len(data) != 32 * len(types)):
        return None
    values: list[Any] = []
    for index, kind in enumerate(types):
        word = data[32 * index : 32 * index + 32]
        if kind == "address":
            if any(word[:12]):
                return None
            values.append("0x" + word[12:].hex())
        elif kind == "bool":
            if any(word[:31]) or word[31] > 1:
                return None
            values.append(word[31] == 1)
        elif kind == "bytes32":
            values.append(word)
        elif kind.startswith("uint") and kind[4:].isdigit():
            value = int.from_bytes(word, "big")
            if value >> int(kind[4:]):
                return None
            values.append(value)
        else:
            return None
    return values


def hex_data(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text


def encode_constructor(abi: list[dict[str, Any]], *args: Any) -> bytes:
    """The ABI-encoded arguments of a contract's constructor (appended to its creation code)."""
    inputs: list[dict[str, Any]] = next(
        (item.get("inputs", []) for item in abi if item.get("type") == "constructor"), []
    )
    if len(inputs) != len(args):
        raise ValueError(f"the constructor takes {len(inputs)} arguments, got {len(args)}")
    return abi_encode([_abi_type(i) for i in inputs], list(args)) if inputs else b""
