"""summary.json read by a JSON reader that has only doubles: Chromium's JSON.parse, as any web page or
Node tool reads it. Trade ids (meter << 96 | slot << 32 | index) are far above 2**53; written as
numbers, JSON.parse would round neighbouring ids to one number."""

import json

import pytest

from p2p_energy.output.report import SUMMARY_FILE
from tests.output.fake_runs import with_escrow_ids, write_summary
from tests.run_factory import make_run


@pytest.fixture(scope="module")
def summary_text(tmp_path_factory):
    """A report whose trades carry the escrow's ids: meter, chain slot, index in the lot."""
    run = with_escrow_ids(make_run(households=8, slots=12))
    folder = write_summary(run, tmp_path_factory.mktemp("report") / "ids")
    return (folder / SUMMARY_FILE).read_text(encoding="utf-8")


def test_every_trade_id_stays_distinct_through_javascripts_json_parse(browser, summary_text):
    ids = browser.evaluate(f"JSON.parse({json.dumps(summary_text)}).trades.map(t => String(t.trade_id))")
    assert len(set(ids)) == len(ids) > 1


def test_javascripts_json_parse_reads_every_trade_id_digit_for_digit(browser, summary_text):
    ids = browser.evaluate(f"JSON.parse({json.dumps(summary_text)}).trades.map(t => t.trade_id)")
    assert ids == [str(t["trade_id"]) for t in json.loads(summary_text)["trades"]]
    assert min(int(i) for i in ids) > 2**53
