"""The books of a run: what the chain said about its transactions, kept from receipts and events.

Every outcome of an honest transaction goes through :meth:`Books.record`
(gas per operation, failures, and the ledger and balances from the
contracts' events: Traded, LotSettled, LotRefunded, LotSkipped, Deposited,
Withdrawn, MeterRegistered, TraderSet); the attacker's through
:meth:`Books.record_attack`. A resumed run feeds the transactions it finds
on chain through the same two methods, so its books are the ones an
uninterrupted run would have kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from p2p_energy.chain.backend import Outcome
from p2p_energy.errors import P2PEnergyError
from p2p_energy.run.ledger import Ledger
from p2p_energy.run.state import RunSetup

_SLOT_BITS = 64


@dataclass
class Books:
    """What a run learnt from the chain, phase by phase."""

    ledger: Ledger = field(default_factory=Ledger)
    #: Operation label -> [transactions, gas used].
    gas: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    #: Household row -> tokens deposited into / withdrawn from its escrow balance.
    deposited: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    withdrawn: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    #: Household rows whose meter is registered, and those that named their trader key.
    meters: set[int] = field(default_factory=set)
    traders: set[int] = field(default_factory=set)
    #: (meter, scenario slot) of every lot a batch skipped because it was not open.
    lots_skipped: list[tuple[int, int]] = field(default_factory=list)
    #: Lots of the run a batch skipped while the books held them open: someone else closed them.
    closed_elsewhere: set[tuple[int, int]] = field(default_factory=set)
    #: Attack kind -> what became of each attempt ("accepted" or the decoded error).
    attacks: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    attacks_accepted: list[str] = field(default_factory=list)
    #: Honest transactions that failed (reverted, refused, dropped), one line each: what, who, tx, why.
    tx_failures: list[str] = field(default_factory=list)
    #: Planned actions not sent because the chain could no longer take them (after an interruption).
    skipped: list[str] = field(default_factory=list)
    #: Lots still open when the run ended, one line each: which, and why.
    unclosed: list[str] = field(default_factory=list)

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
                self._event(setup, event.name, event.args)

    def _event(self, setup: RunSetup, name: str, args: dict[str, Any]) -> None:
        if name == "Traded":
            self._traded(setup, args)
        elif name in ("LotSettled", "LotRefunded", "LotSkipped"):
            self._lot_event(name, (args["meterId"], args["slot"] - setup.c0), args)
        elif name in ("Deposited", "Withdrawn"):
            row = setup.row_by_address.get(args["account"].lower())
            if row is not None:
                (self.deposited if name == "Deposited" else self.withdrawn)[row] += args["amount"]
        elif name == "MeterRegistered":
            row = setup.meter_row.get(args["meterId"])
            if row is not None:
                self.meters.add(row)
        elif name == "TraderSet":
            row = setup.row_by_address.get(args["account"].lower())
            if row is not None:
                self.traders.add(row)

    def _lot_event(self, name: str, key: tuple[int, int], args: dict[str, Any]) -> None:
        lot = self.ledger.lots.get(key)
        if name == "LotSkipped":
            self.lots_skipped.append(key)
            if lot is not None and lot.state == "open":
                self.closed_elsewhere.add(key)
        elif lot is None:
            return  # not a lot of this run
        elif name == "LotSettled":
            self.ledger.settled(*key, args["soldWh"], args["deliveredWh"], args["paid"], args["refunded"])
        else:
            self.ledger.refunded(*key, args["refunded"])

    def learn_closes(self, setup: RunSetup, logs: Sequence[dict[str, Any]]) -> None:
        """Close the lots in `closed_elsewhere` as the escrow's events in `logs` (all its logs since the run
        started) say someone else closed them: anyone may settle a lot with its meter's reading, or refund it."""
        codec = setup.market.codec
        for event in (codec.decode_log(log) for log in logs):
            if event is None or event.name not in ("LotSettled", "LotRefunded"):
                continue
            key = (event.args["meterId"], event.args["slot"] - setup.c0)
            if key in self.closed_elsewhere and self.ledger.lots[key].state == "open":
                self._event(setup, event.name, event.args)
        self.closed_elsewhere.clear()

    def _traded(self, setup: RunSetup, args: dict[str, Any]) -> None:
        meter_id, chain_slot = args["lotKey"] >> _SLOT_BITS, args["lotKey"] & ((1 << _SLOT_BITS) - 1)
        seller = setup.meter_row.get(meter_id)
        if seller is None:
            return  # not a lot of this run
        fill = (_row_of(setup, args["buyer"]), args["wh"], args["pricePerKWh"], args["cost"])
        self.ledger.traded(meter_id, chain_slot, chain_slot - setup.c0, seller, fill)

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
