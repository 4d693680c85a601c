"""The `p2p-energy` command line.

Exit codes: 0 success, 1 a failure while working (compile error, revert,
chain gone), 2 bad input (nothing was done), 130 interrupted (Ctrl-C), 143
SIGTERM, 129 SIGHUP.

The parser is in `parser`, the commands in `chain_commands`, `run_commands`
and `tool_commands`, the helpers they share in `common`, and `main` with its
error handling in `app`.
"""

from p2p_energy.cli.app import main
from p2p_energy.cli.parser import build_parser

__all__ = ["build_parser", "main"]
