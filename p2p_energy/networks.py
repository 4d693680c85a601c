"""Network presets: what tooling must know to talk to each chain (no web3).

`local` is anvil on this machine; the `qtum-*` presets reach a Qtum node
through Janus, Qtum's Ethereum JSON-RPC adapter. The Qtum constants the
presets are built from live here too: the gas price floor, the block gas
limit, Janus's default URL and the base58 version bytes of addresses
(P2PKH: 58 on mainnet, 120 on testnet and regtest) and WIF keys (128, 239).

Also here: the EVM targets we build for, which chains (and the scenario
format) choose between.

This is a ground-floor module: it imports nothing of the package but errors
and units, so the domain can use it without loading web3.
"""

from __future__ import annotations

from dataclasses import dataclass

from p2p_energy.errors import UsageError
from p2p_energy.units import WEI_PER_SATOSHI

#: EVM targets we build for, oldest first. Qtum switched each on at a height:
#: London, then Shanghai (PUSH0), then Cancun (TSTORE, MCOPY, blob opcodes).
EVM_VERSIONS = ("london", "shanghai", "cancun")
DEFAULT_EVM_VERSION = "cancun"

MAINNET_ADDRESS_VERSION = 58
TESTNET_ADDRESS_VERSION = 120  # regtest too
MAINNET_WIF_VERSION = 128
TESTNET_WIF_VERSION = 239  # regtest too
MIN_GAS_PRICE_SATOSHI = 40
QTUM_BLOCK_GAS_LIMIT = 40_000_000
JANUS_URL = "http://127.0.0.1:23889"


@dataclass(frozen=True)
class NetworkPreset:
    """What tooling must know to talk to one chain.

    `address_version`/`wif_version` are None for chains that are not Qtum
    (their addresses are keccak-style hex only).
    """

    name: str
    chain_id: int
    evm_version: str
    rpc_url: str
    min_gas_price_wei: int
    block_gas_limit: int | None
    legacy_transactions_only: bool
    address_version: int | None
    wif_version: int | None
    description: str

    @property
    def is_qtum(self) -> bool:
        return self.address_version is not None

    @property
    def min_gas_price_satoshi(self) -> int:
        """The gas price floor as Qtum counts it (satoshi per gas)."""
        return self.min_gas_price_wei // WEI_PER_SATOSHI


def _qtum_preset(name: str, chain_id: int, address_version: int, wif_version: int, description: str) -> NetworkPreset:
    return NetworkPreset(
        name=name,
        chain_id=chain_id,
        evm_version="cancun",
        rpc_url=JANUS_URL,
        min_gas_price_wei=MIN_GAS_PRICE_SATOSHI * WEI_PER_SATOSHI,
        block_gas_limit=QTUM_BLOCK_GAS_LIMIT,
        legacy_transactions_only=True,
        address_version=address_version,
        wif_version=wif_version,
        description=description,
    )


#: Every preset, by name. Janus listens on 23889 unless told otherwise
#: (`--port`), whatever the network; run one Janus per node.
NETWORKS: tuple[NetworkPreset, ...] = (
    NetworkPreset(
        name="local",
        chain_id=31337,
        evm_version="cancun",
        rpc_url="http://127.0.0.1:8545",
        min_gas_price_wei=0,
        block_gas_limit=None,
        legacy_transactions_only=False,
        address_version=None,
        wif_version=None,
        description="anvil on this machine: keccak addresses, no gas price floor, anvil's block gas limit",
    ),
    _qtum_preset(
        "qtum-mainnet", 81, MAINNET_ADDRESS_VERSION, MAINNET_WIF_VERSION, "Qtum mainnet through a local Janus"
    ),
    _qtum_preset(
        "qtum-testnet",
        8889,
        TESTNET_ADDRESS_VERSION,
        TESTNET_WIF_VERSION,
        "Qtum testnet through a local Janus (chain id 81 before the Shanghai height)",
    ),
    _qtum_preset(
        "qtum-regtest",
        8890,
        TESTNET_ADDRESS_VERSION,
        TESTNET_WIF_VERSION,
        "Qtum regtest (qtumd -regtest) through a local Janus; every fork active from block 0",
    ),
)


def network_names() -> tuple[str, ...]:
    return tuple(preset.name for preset in NETWORKS)


def network(name: str | NetworkPreset) -> NetworkPreset:
    """The preset called `name` (a preset is returned as it is)."""
    if isinstance(name, NetworkPreset):
        return name
    for preset in NETWORKS:
        if preset.name == name:
            return preset
    raise UsageError(f"unknown network {name!r}: choose one of {', '.join(network_names())}")
