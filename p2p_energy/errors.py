"""Exception classes shared by the package.

Every error a user can cause or fix derives from :class:`P2PEnergyError`; its
message says what to do. The CLI turns :class:`UsageError` (bad input: nothing
was sent) into exit code 2 and any other :class:`P2PEnergyError` into exit 1.
"""


class P2PEnergyError(Exception):
    """Base class of every error this package raises on purpose."""


class UsageError(P2PEnergyError):
    """Bad input from the user (arguments, files, settings); nothing was done."""


class ToolchainError(P2PEnergyError):
    """A tool the project needs (node, solc-js, anvil) is missing or broken."""
