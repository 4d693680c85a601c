"""The commands' defaults and names that `p2p-energy --help` shows, on the ground floor.

Each lives here once and is re-exported by the module that uses it (`chain.anvil`, `chain.qtumd`,
`run.target`, `run.resume`, `run.deployment_record`, `bench`), so the CLI's parser is built without
importing web3, the chain backends or the runner (tests/cli/test_cli_startup.py checks).
"""

from pathlib import Path

#: anvil's chain id (and hardhat's); anvil's well-known dev keys may sign only on it.
ANVIL_CHAIN_ID = 31337
#: The environment variable naming the qtumd to start.
QTUMD_ENV = "QTUMD"
#: Where the CLI and `brownie run deploy` read the deployer's key when no option gives it.
PRIVATE_KEY_ENV = "P2P_ENERGY_PRIVATE_KEY"
#: The kinds of chain backend: any Ethereum JSON-RPC node (anvil, geth, Janus), or qtumd's own RPC.
BACKENDS = ("evm", "qtum")
#: The backend when none is named.
DEFAULT_BACKEND = "evm"
#: The run record a report folder keeps, from which `simulate --resume` continues.
RUN_RECORD_FILE = "run.json"
#: A deployment's delivery slot length and grace period (seconds), and the folder of deployment records.
DEFAULT_SLOT_LENGTH_S = 900
DEFAULT_GRACE_PERIOD_S = 1_800
DEFAULT_DIRECTORY = "deployments"
#: `p2p-energy bench`: runs per timed figure (medians) and the results file in the project.
BENCH_RUNS = 3
BENCH_OUT = Path("bench") / "results.json"
