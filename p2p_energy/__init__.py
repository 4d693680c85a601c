"""p2p-energy: meter-backed peer-to-peer energy trading on Qtum and any EVM chain."""

__version__ = "0.1.0"
