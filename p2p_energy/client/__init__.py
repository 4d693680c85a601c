"""A small typed client of the market's three contracts for web3.py users (docs/artifacts.md).

`Market.load(w3, "build/export/deployment-<chain id>.json")` gives
`market.token`, `market.registry` and `market.escrow`: views return Python
ints, strings and frozen dataclasses; transactions return a :class:`Sent`
with the receipt's events decoded into dataclasses (:mod:`.events`). The
batch calls take the wire format's own records (`p2p_energy.wire`), so orders
and readings are signed and packed in one place.
"""

from p2p_energy.client.events import Event, EventDecoder
from p2p_energy.client.market import EnergyEscrow, EnergyToken, Market, MeterRegistry, Reverted, Sent

__all__ = ["EnergyEscrow", "EnergyToken", "Event", "EventDecoder", "Market", "MeterRegistry", "Reverted", "Sent"]
