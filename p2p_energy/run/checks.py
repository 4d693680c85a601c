"""The end-of-run checks: the chain against the books.

Every trade closed exactly once and as the settlement rule says (recomputed
from the meters' actual export), every lot event agreeing with the lot's
trades; every household funded with its deposit, the meter of every
household that exports registered, its order key named where it needs
naming and its standing orders placed, its whole escrow balance paid out,
and its token balance as the books say; total supply grown by exactly the
funding minted; the escrow holding nothing for the run, its tokens equal to
its balances plus what is locked, and every lot of the run closed on chain
(every group's word cleared); every attack rejected; every honest
transaction succeeded and every planned fill made; every planned match
sent; every lot closed within its grace period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from p2p_energy.run.books import Books
from p2p_energy.run.matching import StandingTerms, standing_terms
from p2p_energy.run.resume import RunRecord
from p2p_energy.run.state import RunSetup


@dataclass(frozen=True)
class ChainState:
    """What the chain holds for the run at its end."""

    balances: list[int]  # households' tokens
    escrow_balances: list[int]  # households' balances in the escrow
    supply: int
    escrow: tuple[int, int]  # (totalLocked, totalBalances)
    escrow_tokens: int  # the escrow's own token balance
    open_lots: list[tuple[int, int]]  # (meter, scenario slot) of the run's lots the escrow holds open

    @classmethod
    def read(cls, setup: RunSetup, books: Books) -> ChainState:
        a, market = setup.addresses, setup.market
        addresses = [h.account.address for h in setup.households]
        groups = sorted(books.ledger.groups)
        answers = setup.chain.calls(
            [(a.token, setup.encode("balanceOf", address)) for address in addresses]
            + [(a.escrow, setup.encode("balanceOf", address)) for address in addresses]
            + [(a.escrow, setup.encode("groupOf", slot, number)) for slot, number in groups]
        )
        words = [int.from_bytes(answer[:32], "big") for answer in answers[: 2 * len(addresses)]]
        # groupOf gives (commitment, open lots' bitmap): bit i set while the group's lot i is open.
        still_open = []
        for group, answer in zip(groups, answers[2 * len(addresses) :], strict=True):
            bits = int.from_bytes(answer[32:64], "big")
            keys = books.ledger.groups[group]
            still_open += [key for i, key in enumerate(keys) if bits >> i & 1]
        return cls(
            balances=words[: len(addresses)],
            escrow_balances=words[len(addresses) :],
            supply=int(market.view("EnergyToken", "totalSupply")),
            escrow=(int(market.view("EnergyEscrow", "totalLocked")), int(market.view("EnergyEscrow", "totalBalances"))),
            escrow_tokens=int(market.view("EnergyToken", "balanceOf", a.escrow)),
            open_lots=sorted(still_open),
        )


def balances_of(setup: RunSetup) -> list[int]:
    """Each household's balance in the escrow, in household order."""
    return _uints(setup, setup.addresses.escrow, "balanceOf", [h.account.address for h in setup.households])


def _uints(setup: RunSetup, to: str, function: str, addresses: Sequence[str]) -> list[int]:
    answers = setup.chain.calls([(to, setup.encode(function, a)) for a in addresses])
    return [int.from_bytes(a[:32], "big") for a in answers]


@dataclass
class Verdict:
    """The checks by name (True: passed) and, for each failure, what differs."""

    checks: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def expected_escrow(setup: RunSetup, books: Books, record: RunRecord) -> list[int]:
    """What each household has in the escrow once its trades closed: before + funding + paid - cost + refunded."""
    expected = [b + setup.scenario.prices.funding for b in record.escrow_balances_before]
    for t in books.ledger.trades.values():
        paid, refunded = t.closes[0] if t.closes else (0, 0)
        expected[t.seller] += paid
        expected[t.buyer] += refunded - t.cost
    return expected


def expected_balances(setup: RunSetup, books: Books, record: RunRecord) -> list[int]:
    """Each household's token balance as the books say once it was paid out everything."""
    return [b + e for b, e in zip(record.balances_before, expected_escrow(setup, books, record), strict=True)]


def _named(setup: RunSetup, rows: Sequence[int]) -> list[str]:
    return [setup.households[row].name for row in rows][:20]


def check_run(setup: RunSetup, books: Books, record: RunRecord, after: ChainState) -> Verdict:
    """Compare the chain with the books; see the module docstring."""
    plan, ledger, rows = setup.plan, books.ledger, range(len(setup.households))
    exported: dict[tuple[int, int], int | None] = {}
    for lot in ledger.lots.values():
        known = setup.reading_online(lot.seller, lot.slot) and lot.state == "settled"
        exported[lot.key] = int(plan.export_wh[lot.seller, lot.slot]) if known else None
    wrong = ledger.mismatches(exported)
    # A meter cannot deliver more than it exported: a chain that settles a lot on more pays for energy no one
    # made (the bills would not add up either, so the result clamps it and this check names it).
    overdelivered = [
        lot.key
        for lot in ledger.lots.values()
        if lot.state == "settled" and lot.delivered_wh > plan.export_wh[lot.seller, lot.slot]
    ]
    expected = expected_balances(setup, books, record)
    mismatched = [row for row in rows if expected[row] != after.balances[row]]
    funding = setup.scenario.prices.funding
    unfunded = [row for row in rows if books.deposited[row] != funding]
    terms = standing_terms(setup)
    unready = [
        row
        for row in rows
        if (setup.exports(row) and row not in books.meters)
        or (setup.households[row].needs_trader and row not in books.traders)
        or (terms.get(row, StandingTerms()).bid_wh and row not in books.bids)
        or (terms.get(row, StandingTerms()).ask_wh and row not in books.asks)
    ]
    withdrawals = expected_escrow(setup, books, record)
    kept = [row for row in rows if after.escrow_balances[row] or books.withdrawn[row] != withdrawals[row]]
    verdict = Verdict()
    problems = {
        "trades that differ from the settlement rule or did not close once": wrong[:20],
        "lot events that disagree with the books": ledger.disagreements[:5],
        "lots settled on more than their meter exported (meter, slot)": overdelivered[:20],
        "token balances differ from the books for": _named(setup, mismatched),
        "households not funded with their deposit": _named(setup, unfunded),
        "households without a registered meter, a named order key or a placed standing order": _named(setup, unready),
        "households not paid out their whole balance": _named(setup, kept),
        "planned fills or orders the escrow skipped": books.fills_skipped[:5],
        "meter readings that proved nothing": books.readings_refused[:5],
        "lots the escrow still holds open (meter, slot)": after.open_lots[:20],
        "attacks accepted by the chain": books.attacks_accepted,
    }
    verdict.problems = [f"{what}: {items}" for what, items in problems.items() if items]
    minted = funding * len(setup.households)
    verdict.checks = {
        "every trade closed exactly once by the settlement rule": not wrong and not ledger.disagreements,
        "no lot settled on more energy than its meter exported": not overdelivered,
        "household token balances match the books": not mismatched,
        "every household was funded with its deposit": not unfunded,
        "every selling meter registered, every order key named and standing order placed": not unready,
        "every household was paid out its whole balance": not kept,
        "total supply grew by exactly the funding minted": after.supply == record.supply_before + minted,
        "escrow holds nothing for this run at the end": after.escrow == tuple(record.escrow_before),
        "escrow's tokens equal its balances plus what is locked": after.escrow_tokens == sum(after.escrow),
        "every lot of the run is closed on chain": not after.open_lots,
        "every attack was rejected": not books.attacks_accepted,
        "every honest transaction succeeded": not books.tx_failures,
        "every planned fill was made": not books.fills_skipped,
        "every meter reading the run sent proved its lot": not books.readings_refused,
        "every planned match was sent": not books.skipped,
        "every lot closed by the end of its grace period": not books.unclosed,
    }
    return verdict
