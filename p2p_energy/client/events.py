"""The market's events as frozen dataclasses, and a decoder of receipts' logs into them.

Field names are the Solidity argument names in snake case (`lotKey` ->
`lot_key`, `maxPricePerKWh` -> `max_price_per_kwh`, `from` -> `from_`);
skip reasons are the names of `EnergyEscrow.Skip` (`p2p_energy.wire.records.SKIP_REASONS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from p2p_energy.chain.abi import AbiCodec
from p2p_energy.wire.orders import Ask, Bid
from p2p_energy.wire.records import skip_reason


@dataclass(frozen=True)
class Deposited:
    account: str
    amount: int


@dataclass(frozen=True)
class Withdrawn:
    account: str
    amount: int


@dataclass(frozen=True)
class TraderSet:
    account: str
    signer: str


@dataclass(frozen=True)
class BidPlaced(Bid):
    """A standing bid placed: the bid itself, as `wire.orders` signs it."""


@dataclass(frozen=True)
class AskPlaced(Ask):
    """A standing ask placed: the ask itself, as `wire.orders` signs it."""


@dataclass(frozen=True)
class OrdersCancelled:
    account: str
    until_slot: int


@dataclass(frozen=True)
class OrderSkipped:
    account: str
    reason: str


@dataclass(frozen=True)
class Traded:
    lot_key: int
    buyer: str
    wh: int
    price_per_kwh: int


@dataclass(frozen=True)
class FillSkipped:
    lot_key: int
    buyer: str
    reason: str


@dataclass(frozen=True)
class GroupMatched:
    slot: int
    group: int
    lots: int


@dataclass(frozen=True)
class LotSettled:
    lot_key: int
    seller: str
    sold_wh: int
    delivered_wh: int
    paid: int


@dataclass(frozen=True)
class LotRefunded:
    lot_key: int
    refunded: int


@dataclass(frozen=True)
class LotSkipped:
    lot_key: int
    reason: str


@dataclass(frozen=True)
class GroupSkipped:
    slot: int
    group: int


@dataclass(frozen=True)
class MeterRegistered:
    meter_id: int
    owner: str
    signer: str
    market: str


@dataclass(frozen=True)
class MeterRevoked:
    meter_id: int
    from_slot: int


@dataclass(frozen=True)
class MarketAdded:
    market: str
    id: int


@dataclass(frozen=True)
class Transfer:
    from_: str
    to: str
    value: int


@dataclass(frozen=True)
class Approval:
    owner: str
    spender: str
    value: int


Event = (
    Deposited | Withdrawn | TraderSet | BidPlaced | AskPlaced | OrdersCancelled | OrderSkipped | Traded | FillSkipped
    | GroupMatched | LotSettled | LotRefunded | LotSkipped | GroupSkipped | MeterRegistered | MeterRevoked
    | MarketAdded | Transfer | Approval
)  # fmt: skip
_EVENTS: dict[str, type[Any]] = {kind.__name__: kind for kind in Event.__args__}


def snake_case(name: str) -> str:
    """A Solidity argument name as a field name: `maxPricePerKWh` -> `max_price_per_kwh`, `from` -> `from_`."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return snake + "_" if snake == "from" else snake


class EventDecoder:
    """Decodes logs with the market's ABIs (the run's own :class:`AbiCodec`) into the dataclasses above."""

    def __init__(self, codec: AbiCodec) -> None:
        self.codec = codec

    def decode(self, log: Mapping[str, Any]) -> Event | None:
        """The event of one log, or None when it is not one of the market's."""
        found = self.codec.decode_log(dict(log))
        if found is None or found.name not in _EVENTS:
            return None
        values = {snake_case(key): skip_reason(v) if key == "reason" else v for key, v in found.args.items()}
        event: Event = _EVENTS[found.name](**values)
        return event

    def decode_all(self, logs: Iterable[Mapping[str, Any]]) -> tuple[Event, ...]:
        return tuple(e for e in map(self.decode, logs) if e is not None)
