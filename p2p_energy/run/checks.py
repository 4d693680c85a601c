"""The end-of-run checks: the chain against the books.

Every trade closed exactly once and as the settlement rule says
(recomputed from the meters' registers); every household's token balance
as the books say; total supply grown by exactly the funding minted; the
escrow holding nothing for the run; every attack rejected; every honest
transaction succeeded; every planned offer and take sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from p2p_energy.run.books import Books
from p2p_energy.run.resume import RunRecord
from p2p_energy.run.state import RunSetup


@dataclass(frozen=True)
class ChainState:
    """What the chain holds for the run at its end."""

    balances: list[int]
    supply: int
    escrow: tuple[int, int]  # (totalLocked, totalCredited)

    @classmethod
    def read(cls, setup: RunSetup) -> ChainState:
        a, market = setup.addresses, setup.market
        balances = _uints(setup, a.token, "balanceOf", [h.account.address for h in setup.households])
        supply = int(market.view("EnergyToken", "totalSupply"))
        escrow = (int(market.view("EnergyEscrow", "totalLocked")), int(market.view("EnergyEscrow", "totalCredited")))
        return cls(balances, supply, escrow)


def credits_of(setup: RunSetup) -> list[int]:
    """Each household's credit in the escrow, in household order."""
    return _uints(setup, setup.addresses.escrow, "creditOf", [h.account.address for h in setup.households])


def _uints(setup: RunSetup, to: str, function: str, addresses: Sequence[str]) -> list[int]:
    answers = setup.chain.calls([(to, setup.encode(function, a)) for a in addresses])
    return [int.from_bytes(a[:32], "big") for a in answers]


@dataclass
class Verdict:
    """The checks by name (True: passed) and, for each failure, what differs."""

    checks: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def expected_balances(setup: RunSetup, books: Books, record: RunRecord) -> list[int]:
    """Each household's token balance as the books say: before + funding + paid - cost + refunded."""
    expected = [b + setup.scenario.prices.funding for b in record.balances_before]
    for t in books.ledger.trades.values():
        paid, refunded = t.closes[0] if t.closes else (0, 0)
        expected[t.seller] += paid
        expected[t.buyer] += refunded - t.cost
    return expected


def check_run(setup: RunSetup, books: Books, record: RunRecord, after: ChainState) -> Verdict:
    """Compare the chain with the books; see the module docstring."""
    plan, ledger = setup.plan, books.ledger
    exported: dict[tuple[int, int], int | None] = {}
    for lot in ledger.lots.values():
        known = books.delivery_known(lot.seller, lot.slot) and lot.state == "settled"
        exported[lot.key] = int(plan.export_wh[lot.seller, lot.slot]) if known else None
    wrong = ledger.mismatches(exported)
    expected = expected_balances(setup, books, record)
    pairs = zip(setup.households, expected, after.balances, strict=True)
    mismatched = [h.name for h, e, b in pairs if e != b]
    verdict = Verdict()
    if wrong:
        verdict.problems.append(f"trades that differ from the settlement rule or did not close once: {wrong[:20]}")
    if mismatched:
        verdict.problems.append(f"token balances differ from the books for {mismatched[:20]}")
    if books.attacks_accepted:
        verdict.problems.append(f"attacks accepted by the chain: {books.attacks_accepted}")
    minted = setup.scenario.prices.funding * len(setup.households)
    verdict.checks = {
        "every trade closed exactly once by the settlement rule": not wrong,
        "household token balances match the books": not mismatched,
        "total supply grew by exactly the funding minted": after.supply == record.supply_before + minted,
        "escrow holds nothing for this run at the end": after.escrow == tuple(record.escrow_before),
        "every attack was rejected": not books.attacks_accepted,
        "every honest transaction succeeded": not books.tx_failures,
        "every planned offer and take was sent": not books.skipped,
        "every lot closed by the end of its grace period": not books.unclosed,
    }
    return verdict
