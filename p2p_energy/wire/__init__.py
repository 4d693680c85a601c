"""The escrow's wire format, in one home: what EnergyEscrow and MeterRegistry read, byte for byte.

For each signed struct and each batch call: its fields, its EIP-712 type
and hash, its signing, its packed records, its size, and the cutting of
calls within the escrow's and the chain's limits. Nothing else in the
package knows a struct's layout: the runner, the gas report, the quick
start, the brownie scripts and the tests all build their calls here.

- :mod:`~p2p_energy.wire.eip712`: EIP-712 domains, struct types written once
  (type string, type hash and value hash follow from the fields), EIP-2098
  compact signatures;
- :mod:`~p2p_energy.wire.orders`: standing bids and asks (`EnergyEscrow`);
- :mod:`~p2p_energy.wire.readings`: meter readings, a window of interval
  exports under one signature (`MeterRegistry`);
- :mod:`~p2p_energy.wire.records`: the packed records of `matchOrders` and
  `closeLots`, the account list, the groups' hash chain, and the calls'
  calldata;
- :mod:`~p2p_energy.wire.cutting`: how many records one call may carry (bytes
  of a Qtum transaction, gas of a block).

A floor of its own, above the ground floor and below the domain: it imports
nothing of the package but :mod:`p2p_energy.errors` and
:mod:`p2p_energy.limits`, and no web3.
"""
