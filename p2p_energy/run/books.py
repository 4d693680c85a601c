"""The books of a run: what the chain said about its transactions, kept from receipts and events.

Every outcome of an honest transaction goes through :meth:`Books.record`
(gas per operation, failures, and the ledger from the contracts' events);
the attacker's through :meth:`Books.record_attack`. A resumed run feeds the
transactions it finds on chain through the same two methods, so its books
are the ones an uninterrupted run would have kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from p2p_energy.chain.backend import Outcome
from p2p_energy.errors import P2PEnergyError
from p2p_energy.limits import meter_of_trade
from p2p_energy.run.ledger import Ledger
from p2p_energy.run.state import RunSetup


@dataclass
class Books:
    """What a run learnt from the chain, phase by phase."""

    ledger: Ledger = field(default_factory=Ledger)
    #: Operation label -> [transactions, gas used].
    gas: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    #: (household row, scenario slot) of every reading on chain; slot -1 is the baseline.
    readings_ok: set[tuple[int, int]] = field(default_factory=set)
    #: Attack kind -> what became of each attempt ("accepted" or the decoded error).
    attacks: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    attacks_accepted: list[str] = field(default_factory=list)
    #: Honest transactions that failed (reverted, refused, dropped), one line each: what, who, tx, why.
    tx_failures: list[str] = field(default_factory=list)
    #: Planned actions not sent because the chain could no longer take them (after an interruption).
    skipped: list[str] = field(default_factory=list)
    #: Lots still open when the run ended, one line each: which, and why.
    unclosed: list[str] = field(default_factory=list)
    #: (scenario slot, offer index) -> offer id on chain.
    offer_ids: dict[tuple[int, int], int] = field(default_factory=dict)

    def delivery_known(self, row: int, slot: int) -> bool:
        """True when the readings that prove household `row`'s export in `slot` are both on chain."""
        return (row, slot) in self.readings_ok and (row, slot - 1) in self.readings_ok

    def record(self, setup: RunSetup, outcomes: Sequence[Outcome]) -> None:
        """Book the outcomes of honest transactions: gas, failures, and the books from their events."""
        for outcome in outcomes:
            tally = self.gas[outcome.call.label]
            tally[0] += 1
            tally[1] += outcome.gas_used
            if not outcome.ok:
                self.tx_failures.append(failure_line(outcome))
                continue
            for event in _events(setup, outcome):
                self._event(setup, outcome, event.name, event.args)

    def _event(self, setup: RunSetup, outcome: Outcome, name: str, args: dict[str, Any]) -> None:
        label, ledger = outcome.call.label, self.ledger
        if name == "ReadingRecorded":
            row = setup.meter_row.get(args["meterId"])
            if row is not None:
                self.readings_ok.add((row, args["slot"] - setup.c0))
        elif name == "OfferPosted" and label == "postOffer" and outcome.call.tag is not None:
            slot, index = outcome.call.tag
            offer = setup.markets[slot].offers[index]
            ledger.offer_posted(args["offerId"], slot, offer.seller, offer.wh, offer.price_per_kwh)
            self.offer_ids[(slot, index)] = args["offerId"]
        elif name == "TradeOpened" and args["offerId"] in ledger.offers:
            buyer = _row_of(setup, args["buyer"])
            trade = args["tradeId"]
            ledger.trade_opened(trade, args["offerId"], buyer, args["wh"], args["cost"], meter_of_trade(trade))
        elif name == "TradeClosed" and args["tradeId"] in ledger.trades:
            ledger.trade_closed(args["tradeId"], args["paid"], args["refunded"], label == "settleLots")
        elif name in ("LotSettled", "LotRefunded"):
            key = (args["meterId"], args["slot"] - setup.c0)
            if key in ledger.lots:
                settled = name == "LotSettled"
                ledger.lot_closed(*key, settled, args["deliveredWh"] if settled else 0)

    def record_attack(self, outcome: Outcome) -> None:
        self.attacks[outcome.call.label].append(outcome.error or "accepted")
        if outcome.ok:
            self.attacks_accepted.append(f"{outcome.call.label} (tx {outcome.tx_hash})")


def failure_line(outcome: Outcome) -> str:
    """One line on a failed transaction: what, from whom, which transaction, and why (decoded)."""
    call = outcome.call
    if outcome.tx_hash is None:
        return f"{call.label} from {call.sender.address} was not sent: {outcome.error}"
    how = "reverted" if outcome.status == 0 else "was not mined"
    return f"{call.label} from {call.sender.address} {how} (tx {outcome.tx_hash}): {outcome.error}"


def _row_of(setup: RunSetup, address: str) -> int:
    row = setup.row_by_address.get(address.lower())
    if row is None:
        raise P2PEnergyError(f"a trade names buyer {address}, which is not a household of this run")
    return row


def _events(setup: RunSetup, outcome: Outcome) -> list[Any]:
    codec = setup.market.codec
    return [e for e in (codec.decode_log(log) for log in outcome.logs) if e is not None]
