"""The kinds of chain backend by name: one registration each, so that measurements and the CLI never name one.

A backend is a module beside `chain/evm.py` and `chain/qtum.py` implementing
:class:`~p2p_energy.chain.backend.ChainBackend`, plus one :class:`BackendKind`
in :data:`KINDS` that says how to start a fresh local node of its kind (for
`p2p-energy gas` and the benchmarks) and which of the CLI's options shape it.
`gas.py` and `cli/` look a kind up by its name (`--backend`) with
:func:`backend_kind`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from p2p_energy.chain.abi import AbiCodec
from p2p_energy.chain.accounts import Account
from p2p_energy.chain.anvil import ChainOptions, LocalChain
from p2p_energy.chain.backend import ChainBackend
from p2p_energy.chain.qtumd import QtumNode, find_qtumd
from p2p_energy.defaults import BACKENDS
from p2p_energy.errors import UsageError


@dataclass(frozen=True)
class NodePrograms:
    """Where the programs that start local nodes are: anvil (the toolchain's) and qtumd (--qtumd; None: $QTUMD,
    then PATH). `evm_version` is the EVM target a fresh EVM node runs."""

    anvil: Path
    evm_version: str
    qtumd: str | None = None


@dataclass(frozen=True)
class FreshChain:
    """A chain started here for a measurement: its backend, the funded account that pays, and its name in reports."""

    chain: ChainBackend
    admin: Account
    label: str


@dataclass(frozen=True)
class BackendKind:
    """One kind of chain backend: its name (`--backend`), a fresh local node of it, and the CLI options it takes."""

    name: str
    #: A fresh local node with one funded account, stopped when the block ends.
    fresh: Callable[[NodePrograms, AbiCodec], AbstractContextManager[FreshChain]]
    #: The scenario's `[chain] profile` (an anvil's block gas limit, base fee, ...) shapes a chain started here.
    takes_profile: bool
    #: The local node's program is named with --qtumd.
    takes_qtumd: bool

    def check_options(self, qtumd: str | None) -> None:
        """UsageError (before anything starts) when an option for another kind's node is given."""
        if qtumd is not None and not self.takes_qtumd:
            raise UsageError(f"--qtumd goes with --backend {_kind_taking_qtumd()}")


@contextmanager
def _fresh_anvil(programs: NodePrograms, codec: AbiCodec) -> Iterator[FreshChain]:
    with LocalChain(programs.anvil, ChainOptions(evm_version=programs.evm_version, accounts=1)) as local:
        chain = local.backend(codec)
        try:
            yield FreshChain(chain, Account.from_hex(local.accounts[0].private_key), "anvil")
        finally:
            chain.close()


@contextmanager
def _fresh_qtumd(programs: NodePrograms, codec: AbiCodec) -> Iterator[FreshChain]:
    with QtumNode(find_qtumd(programs.qtumd)) as node:
        chain = node.backend(codec)
        yield FreshChain(chain, chain.wallet_account(node.miner), "qtumd regtest")


#: Every kind of backend, by name; `defaults.BACKENDS` lists the same names for the CLI's parser.
KINDS: dict[str, BackendKind] = {
    kind.name: kind
    for kind in (
        BackendKind("evm", _fresh_anvil, takes_profile=True, takes_qtumd=False),
        BackendKind("qtum", _fresh_qtumd, takes_profile=False, takes_qtumd=True),
    )
}


def backend_kind(name: str) -> BackendKind:
    """The kind of backend called `name`; UsageError naming the kinds there are."""
    try:
        return KINDS[name]
    except KeyError:
        raise UsageError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}") from None


def _kind_taking_qtumd() -> str:
    return next(kind.name for kind in KINDS.values() if kind.takes_qtumd)
