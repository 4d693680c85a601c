"""Every key of a simulated neighbourhood, derived from the scenario's seed in one way.

A run must be repeatable to the last token unit, so the accounts and meter
keys are not random: each is keccak256 of a label that names the seed and
the role. For simulations only: anyone who knows the seed knows every key.
"""

from __future__ import annotations

from eth_utils.crypto import keccak

#: The order of the secp256k1 group: a private key is an integer in 1..N-1.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def seed_key(seed: int, label: str) -> bytes:
    """The 32-byte private key for `label` in a run with `seed`: keccak256(f"{seed}:{label}").

    In the rare case the hash is not a valid secp256k1 key it is hashed again.
    """
    material = keccak(text=f"{seed}:{label}")
    while not 0 < int.from_bytes(material, "big") < SECP256K1_N:
        material = keccak(material)
    return material


def meter_label(household: str) -> str:
    """The label of `household`'s meter signing key."""
    return household


def account_label(household: str) -> str:
    """The label of `household`'s trading account key."""
    return f"household:{household}"


#: The label of the attacker's signing key (it forges readings with it).
ATTACKER_LABEL = "attacker"
