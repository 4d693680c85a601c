"""The run record: what `simulate --resume` needs to find an interrupted run on its chain again.

Everything a run sends follows from the scenario and its seed except four
facts that come from the chain when the run starts: the first chain slot
(c0), the block of meter ids, the block the run started after, and the
balances before it (tokens, and the households' balances in the escrow).
They are written here, atomically, before the first transaction is sent; a
resumed run reads them back, checks that the scenario and the chain are the
same, and rebuilds everything else from the chain (see
:mod:`p2p_energy.run.loop`). The file sits in the report folder, next to the
summary.json the run writes when it ends.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from p2p_energy.defaults import RUN_RECORD_FILE as RUN_RECORD_FILE
from p2p_energy.domain.scenario import Scenario
from p2p_energy.errors import UsageError
from p2p_energy.files import write_whole
from p2p_energy.records.run_records import decode_record, encode_record

RUN_RECORD_FORMAT = 2


def scenario_fingerprint(scenario: Scenario) -> str:
    """A hash of everything the scenario fixes (not where its file lies): same hash, same run."""
    where_free = dataclasses.replace(scenario, source=Path())
    return hashlib.sha256(repr(where_free).encode()).hexdigest()


@dataclass(frozen=True)
class RunRecord:
    """The chain facts of one run, fixed when it starts (see the module docstring).

    `first_block` is the latest block when the run started (its hash proves it is still the
    same chain); the run's transactions are in the blocks after it. `escrow_before` is the
    escrow's (totalLocked, totalBalances), `escrow_balances_before` each household's balance
    in it; `node_accounts` are the accounts households sent through with --node-accounts
    (empty otherwise). Format 2: the escrow of prepaid balances (issue 13).
    """

    scenario: str
    fingerprint: str
    seed: int
    chain_id: int
    deployment: dict[str, str]
    genesis: int
    meter_base: int
    c0: int
    first_block: int
    first_block_hash: str
    supply_before: int
    balances_before: list[int]
    escrow_before: list[int]
    escrow_balances_before: list[int]
    node_accounts: list[str]
    started_at: str

    NRG_FIELDS: ClassVar[tuple[str, ...]] = ()

    def save(self, path: Path) -> None:
        """Write the record atomically: a reader sees the old file or the new one, never half of one."""
        text = json.dumps({"format": RUN_RECORD_FORMAT, **encode_record(self)}, indent=2) + "\n"
        data = text.encode()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_whole(path, lambda out: out.write(data) == len(data))
        except OSError as exc:
            raise UsageError(
                f"cannot write the run record {path}: {exc.strerror or exc}; choose another --out"
            ) from None

    @classmethod
    def load(cls, path: Path) -> RunRecord:
        """The record in `path`; UsageError when there is none or it is damaged."""
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise UsageError(
                f"nothing to resume: {path} does not exist (a run writes it before its first transaction); "
                "run without --resume, or pass the --out folder of the interrupted run"
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"cannot read the run record {path} ({exc}); remove it and run without --resume") from None
        if not isinstance(data, dict) or data.get("format") != RUN_RECORD_FORMAT:
            raise UsageError(f"{path} is not a run record of format {RUN_RECORD_FORMAT}; run without --resume")
        try:
            return decode_record(cls, data, str(path))
        except ValueError as exc:
            raise UsageError(f"{exc}; remove the file and run without --resume") from None

    def check_fits(self, path: Path, scenario: Scenario, chain_id: int, node_accounts: list[str]) -> None:
        """Refuse (UsageError) to resume a run of another scenario, seed, chain or set of accounts."""
        if self.fingerprint != scenario_fingerprint(scenario):
            raise UsageError(
                f"{path} records a run of scenario {self.scenario!r} with seed {self.seed}, not of this scenario file "
                f"({scenario.name!r}, seed {scenario.seed}, or it was edited since): resume with the same file, "
                "or run without --resume to start anew"
            )
        if self.chain_id != chain_id:
            raise UsageError(
                f"{path} records a run on chain id {self.chain_id}, but the node has chain id {chain_id}: "
                "give the --rpc-url of the chain the run was on"
            )
        if [a.lower() for a in self.node_accounts] != [a.lower() for a in node_accounts]:
            how = "with --node-accounts" if self.node_accounts else "without --node-accounts"
            raise UsageError(f"{path} records a run {how}: resume it the same way, with the same node")
