"""The books of a run: what the chain said about its transactions, kept from receipts and events.

Every outcome of an honest transaction goes through :meth:`Books.record`
(gas per operation, failures, and the ledger and balances from the
contracts' events: Traded, GroupMatched, FillSkipped, LotSettled,
LotRefunded, LotSkipped, GroupSkipped, BidPlaced, AskPlaced, OrderSkipped,
Deposited, Withdrawn, MeterRegistered, TraderSet); the attacker's through
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
from p2p_energy.records.clock_records import RoundRecord
from p2p_energy.records.run_records import CallRecord
from p2p_energy.run.ledger import Ledger, TxRef
from p2p_energy.run.state import RunSetup
from p2p_energy.wire.records import lot_of_key, skip_reason


@dataclass
class Books:
    """What a run learnt from the chain, phase by phase."""

    ledger: Ledger = field(default_factory=Ledger)
    #: Operation label -> [transactions, gas used].
    gas: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    #: Household row -> tokens deposited into / paid out of its escrow balance.
    deposited: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    withdrawn: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    #: Household rows whose meter is registered, those that named their trader key, and those whose standing
    #: bid and ask were placed.
    meters: set[int] = field(default_factory=set)
    traders: set[int] = field(default_factory=set)
    bids: set[int] = field(default_factory=set)
    asks: set[int] = field(default_factory=set)
    #: (meter, scenario slot) of every lot a closing call skipped because it was not open.
    lots_skipped: list[tuple[int, int]] = field(default_factory=list)
    #: Lots of the run a closing call skipped while the books held them open: someone else closed them.
    closed_elsewhere: set[tuple[int, int]] = field(default_factory=set)
    #: Attack kind -> what became of each attempt ("accepted" or why it was refused).
    attacks: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    attacks_accepted: list[str] = field(default_factory=list)
    #: Honest transactions that failed (reverted, refused, dropped), one line each: what, who, tx, why.
    tx_failures: list[str] = field(default_factory=list)
    #: Planned fills and orders the escrow skipped, one line each: which, and why.
    fills_skipped: list[str] = field(default_factory=list)
    #: Lots the run's own closing calls gave a meter reading that proved nothing, one line each, and their keys
    #: (the run offers no reading for them again: they wait for their refund).
    readings_refused: list[str] = field(default_factory=list)
    unprovable: set[tuple[int, int]] = field(default_factory=set)
    #: Planned actions not sent because the chain could no longer take them (after an interruption).
    skipped: list[str] = field(default_factory=list)
    #: Lots still open when the run ended, one line each: which, and why.
    unclosed: list[str] = field(default_factory=list)
    #: The operator's matching rounds as they met the chain's clock (rounds sent before a resume are not known).
    rounds: list[RoundRecord] = field(default_factory=list)
    #: Every honest transaction, in the order its outcome was booked: hash, block, gas, status.
    calls: list[CallRecord] = field(default_factory=list)

    def record(self, setup: RunSetup, outcomes: Sequence[Outcome]) -> None:
        """Book the outcomes of honest transactions: gas, failures, and the books from their events."""
        for outcome in outcomes:
            tally = self.gas[outcome.call.label]
            tally[0] += 1
            tally[1] += outcome.gas_used
            self.calls.append(call_record(outcome))
            if not outcome.ok:
                self.tx_failures.append(failure_line(outcome))
                continue
            # Per chain slot, this transaction's lots in the order of their first trade: GroupMatched takes them.
            pending: dict[int, list[tuple[int, int]]] = defaultdict(list)
            for event in _events(setup, outcome):
                self._event(setup, event.name, event.args, pending, _tx_of(outcome))

    def _event(
        self,
        setup: RunSetup,
        name: str,
        args: dict[str, Any],
        pending: dict[int, list[tuple[int, int]]],
        tx: TxRef,
    ) -> None:
        if name == "Traded":
            self._traded(setup, args, pending, tx)
        elif name == "GroupMatched":
            keys, pending[args["slot"]] = pending[args["slot"]][: args["lots"]], pending[args["slot"]][args["lots"] :]
            self.ledger.grouped(args["slot"], args["group"], keys)
        elif name in ("LotSettled", "LotRefunded", "LotSkipped"):
            meter_id, chain_slot = lot_of_key(args["lotKey"])
            self._lot_event(name, (meter_id, chain_slot - setup.c0), args, tx)
        elif name == "GroupSkipped":
            for key in self.ledger.groups.get((args["slot"], args["group"]), []):
                if self.ledger.lots[key].state == "open":
                    self.closed_elsewhere.add(key)
        elif name in ("FillSkipped", "OrderSkipped"):
            self._skipped(setup, name, args)
        else:
            self._account_event(setup, name, args)

    def _account_event(self, setup: RunSetup, name: str, args: dict[str, Any]) -> None:
        if name == "MeterRegistered":
            row = setup.meter_row.get(args["meterId"])
            if row is not None:
                self.meters.add(row)
            return
        row = setup.row_by_address.get(str(args.get("account", "")).lower())
        if row is None:
            return
        if name in ("Deposited", "Withdrawn"):
            (self.deposited if name == "Deposited" else self.withdrawn)[row] += args["amount"]
        elif name == "TraderSet":
            self.traders.add(row)
        elif name == "BidPlaced":
            self.bids.add(row)
        elif name == "AskPlaced":
            self.asks.add(row)

    def _skipped(self, setup: RunSetup, name: str, args: dict[str, Any]) -> None:
        if name == "OrderSkipped":
            self.fills_skipped.append(
                f"the standing order of {args['account']} was not placed: {skip_reason(args['reason'])}"
            )
            return
        meter_id, chain_slot = lot_of_key(args["lotKey"])
        self.fills_skipped.append(
            f"a fill of meter {meter_id}'s lot in slot {chain_slot - setup.c0} to {args['buyer']} was not made: "
            f"{skip_reason(args['reason'])}"
        )

    def _lot_event(self, name: str, key: tuple[int, int], args: dict[str, Any], tx: TxRef) -> None:
        lot = self.ledger.lots.get(key)
        if name == "LotSkipped":
            self.lots_skipped.append(key)
            reason = skip_reason(args["reason"])
            if lot is not None and lot.state == "open" and reason == "NotOpen":
                self.closed_elsewhere.add(key)
            if lot is not None and reason == "Unproven" and key not in self.unprovable:
                self.unprovable.add(key)
                self.readings_refused.append(
                    f"meter {key[0]}'s reading of slot {key[1]} proved nothing to the escrow (Unproven: the meter "
                    "was revoked before the slot, sells through another escrow, or the reading is not its key's)"
                )
        elif lot is None:
            return  # not a lot of this run
        elif name == "LotSettled":
            self.ledger.settled(*key, args["soldWh"], args["deliveredWh"], args["paid"], tx)
        else:
            self.ledger.refunded(*key, args["refunded"], tx)

    def learn_closes(self, setup: RunSetup, logs: Sequence[dict[str, Any]]) -> None:
        """Close the lots in `closed_elsewhere` as the escrow's events in `logs` (all its logs since the run
        started) say someone else closed them: anyone may settle a lot with its meter's reading, or refund it.
        The lot's trades record the transaction of the log that closed it."""
        codec = setup.market.codec
        for log in logs:
            event = codec.decode_log(log)
            if event is None or event.name not in ("LotSettled", "LotRefunded"):
                continue
            meter_id, chain_slot = lot_of_key(event.args["lotKey"])
            key = (meter_id, chain_slot - setup.c0)
            if key in self.closed_elsewhere and self.ledger.lots[key].state == "open":
                self._lot_event(
                    event.name, key, event.args, (str(log["transactionHash"]), int(str(log["blockNumber"]), 16))
                )
        self.closed_elsewhere.clear()

    def _traded(
        self, setup: RunSetup, args: dict[str, Any], pending: dict[int, list[tuple[int, int]]], tx: TxRef
    ) -> None:
        meter_id, chain_slot = lot_of_key(args["lotKey"])
        seller = setup.meter_row.get(meter_id)
        if seller is None:
            return  # not a lot of this run
        fill = (_row_of(setup, args["buyer"]), args["wh"], args["pricePerKWh"])
        lot = self.ledger.traded(meter_id, chain_slot, chain_slot - setup.c0, seller, fill, tx)
        if len(lot.trades) == 1:
            pending[chain_slot].append(lot.key)

    def record_attack(self, setup: RunSetup, outcome: Outcome) -> None:
        """An attack's outcome: accepted only if it closed a lot (a settlement the reading should not allow)."""
        if not outcome.ok:
            self.attacks[outcome.call.label].append(outcome.error or "reverted")
            return
        events = _events(setup, outcome)
        settled = [e for e in events if e.name in ("LotSettled", "LotRefunded")]
        if settled:
            self.attacks[outcome.call.label].append("accepted")
            self.attacks_accepted.append(f"{outcome.call.label} (tx {outcome.tx_hash})")
            for event in settled:  # the books follow the chain, whoever closed the lot
                meter_id, chain_slot = lot_of_key(event.args["lotKey"])
                self._lot_event(event.name, (meter_id, chain_slot - setup.c0), event.args, _tx_of(outcome))
            return
        # The attacked lot's reason; the other lots of its group are only named by the call (no reading given).
        reasons = {skip_reason(e.args["reason"]) for e in events if e.name == "LotSkipped"} - _BYSTANDER_REASONS
        self.attacks[outcome.call.label].append("skipped: " + ", ".join(sorted(reasons)) if reasons else "no effect")


#: Why a closing call leaves a lot it was given without a reading: true of an attack's bystanders, not of its target.
_BYSTANDER_REASONS = frozenset({"NoReading", "NotOver", "NotOpen"})


def _tx_of(outcome: Outcome) -> TxRef:
    """The hash and block of an included transaction."""
    return (outcome.tx_hash or "", outcome.block)


def call_record(outcome: Outcome) -> CallRecord:
    """A transaction's record: what, from whom, its hash and block ("" and 0 where it was not sent or not mined)."""
    tx_hash, block = _tx_of(outcome)
    return CallRecord(outcome.call.label, outcome.call.sender.address, tx_hash, block, outcome.gas_used, outcome.status)


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
