"""The bench's `p2p-energy --help` figure: a wall time per fresh process, and its row in the table."""

from p2p_energy.bench_startup import CliStartup, measure_cli_help
from p2p_energy.bench_table import _startup_rows


def test_the_help_figure_times_each_fresh_process():
    startup = measure_cli_help(2)
    assert len(startup.help_s) == 2 and all(0 < seconds < 60 for seconds in startup.help_s)


def test_the_help_row_gives_the_median_of_the_runs():
    assert _startup_rows(CliStartup((0.3, 0.1, 0.2))) == [
        ("p2p-energy --help", "0.20 s", "a fresh process, median of 3; loads no chain code")
    ]
