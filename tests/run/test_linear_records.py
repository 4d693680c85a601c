"""The run's records and rounds read each trade, lot and offer a bounded number of times, whatever the
number of slots and households (issue 22: scans of slots x trades and households x offers made a
10,000-household day spend half its time checking). Reads are counted, not timed."""

from collections import defaultdict

import pytest

from p2p_energy.run.checks import ChainState
from p2p_energy.run.ledger import Ledger
from p2p_energy.run.result import household_records, run_bills, slot_records
from p2p_energy.run.resume import RunRecord
from tests.run.setups import booked


class CountingDict(dict):
    """A dict that counts the entries read from it (by key, or while iterating)."""

    reads = 0

    def __getitem__(self, key):
        self.reads += 1
        return super().__getitem__(key)

    def values(self):
        for value in super().values():
            self.reads += 1
            yield value

    def items(self):
        for item in super().items():
            self.reads += 1
            yield item


@pytest.fixture(scope="module")
def demo(make_setup):
    return make_setup("demo")


@pytest.fixture
def counted(demo):
    """demo.toml's books with every planned fill, an offer per (seller, slot), and their reads counted."""
    books = booked(demo)
    ledger = books.ledger
    offers = defaultdict(int, {(lot.seller, lot.slot): 100 for lot in ledger.lots.values()})
    ledger.trades, ledger.lots, ledger.offered_wh = (
        CountingDict(ledger.trades),
        CountingDict(ledger.lots),
        CountingDict(offers),
    )
    return books


def test_slot_records_read_each_trade_lot_and_offer_once(demo, counted):
    ledger = counted.ledger
    assert demo.scenario.slots == 24 and len(ledger.trades) > 300
    slot_records(demo, counted)
    assert (ledger.trades.reads, ledger.lots.reads, ledger.offered_wh.reads) == (
        len(ledger.trades),
        len(ledger.lots),
        len(ledger.offered_wh),
    )


def test_household_records_read_each_offer_once(demo, counted):
    rows = len(demo.households)
    record = RunRecord("demo", "", 0, 0, {}, 0, 0, 0, 0, "", 0, [0] * rows, [0, 0], [0] * rows, [], "")
    after = ChainState([0] * rows, [0] * rows, 0, (0, 0), 0, [])
    household_records(demo, counted, record, after, run_bills(demo, counted))
    assert counted.ledger.offered_wh.reads == len(counted.ledger.offered_wh)


def test_open_lots_reads_only_the_lots_still_open():
    ledger = Ledger()
    for meter in range(1_000):
        ledger.traded(meter, 2, 0, meter, (0, 10, 100))
    for meter in range(999):
        ledger.refunded(meter, 0, ledger.trades[next(iter(ledger.lots[(meter, 0)].trades))].cost)
    ledger.lots = CountingDict(ledger.lots)
    assert [lot.meter_id for lot in ledger.open_lots()] == [999]
    assert ledger.lots.reads == 1
