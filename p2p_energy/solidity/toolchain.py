"""Where the project's Node-side tools live, and how py-solc-x finds our solc.

The Solidity compiler is solc-js (npm `solc`, pinned in package.json) behind
`toolchain/solc-cli.js`, a command line compatible with native `solc`. The
local chain is the real anvil binary shipped by npm `@foundry-rs/anvil`.
Nothing here downloads anything: `make setup` (npm ci) put the files in place.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from p2p_energy.errors import ToolchainError

SOLC_VERSION = "0.8.28"
SETUP_HINT = "run `make setup` in the project folder"


def project_root(start: Path | None = None) -> Path:
    """Return the p2p-energy checkout that holds `start` (default: this package).

    Raises:
        ToolchainError: no folder above `start` has the project's package.json.
    """
    candidates = [start.resolve()] if start else []
    candidates.append(Path(__file__).resolve().parent)
    for base in candidates:
        for folder in (base, *base.parents):
            manifest = folder / "package.json"
            if manifest.is_file() and (folder / "toolchain" / "solc-cli.js").is_file():
                return folder
    raise ToolchainError(
        f"cannot find the p2p-energy project folder above {candidates[0]}: run the command from a clone of the project"
    )


@dataclass(frozen=True)
class Toolchain:
    """Paths of the compiler and chain tools inside one project checkout."""

    root: Path

    @property
    def node_modules(self) -> Path:
        return self.root / "node_modules"

    @property
    def solc(self) -> Path:
        """The `solc`-compatible executable (a shell script running solc-cli.js)."""
        return self.root / "toolchain" / "solc"

    @property
    def solc_cli(self) -> Path:
        return self.root / "toolchain" / "solc-cli.js"

    @property
    def anvil(self) -> Path:
        """The real anvil binary from npm's platform package (not the Node shim).

        Starting the binary itself means stopping it stops the chain: the
        `.bin/anvil` shim is a Node process that would leave a child behind.
        """
        for path in sorted(self.node_modules.glob("@foundry-rs/anvil-*/bin/anvil")):
            if os.access(path, os.X_OK):
                return path
        raise ToolchainError(f"anvil is not installed under {self.node_modules}: {SETUP_HINT}")

    @property
    def openzeppelin_version(self) -> str:
        manifest = self.node_modules / "@openzeppelin" / "contracts" / "package.json"
        if not manifest.is_file():
            raise ToolchainError(f"OpenZeppelin Contracts are not installed: {SETUP_HINT}")
        return str(json.loads(manifest.read_text())["version"])

    def check(self) -> None:
        """Raise :class:`ToolchainError` naming the first missing piece."""
        if shutil.which("node") is None:
            raise ToolchainError("Node.js is not on PATH: install Node.js 18 or newer (with npm)")
        if not (self.node_modules / "solc" / "package.json").is_file():
            raise ToolchainError(f"solc-js is not installed under {self.node_modules}: {SETUP_HINT}")
        _ = self.anvil
        _ = self.openzeppelin_version


def find_toolchain(start: Path | None = None) -> Toolchain:
    """The toolchain of the project that holds `start`, checked to be complete."""
    toolchain = Toolchain(project_root(start))
    toolchain.check()
    return toolchain


def solcx_folder() -> Path:
    """The folder py-solc-x (and so brownie) searches for `solc-v<version>`."""
    env = os.environ.get("SOLCX_BINARY_PATH")
    return Path(env).expanduser() if env else Path.home() / ".solcx"


def install_solc_wrapper(toolchain: Toolchain, folder: Path | None = None) -> Path:
    """Write `solc-v0.8.28` into py-solc-x's folder, running this checkout's solc-js.

    py-solc-x ignores symlinks to a .js file, so this is a tiny `sh` script with
    absolute paths. Rewritten on every call, so it always points at the
    checkout that ran `make setup` last.
    """
    node = shutil.which("node")
    if node is None:
        raise ToolchainError("Node.js is not on PATH: install Node.js 18 or newer (with npm)")
    target_folder = folder or solcx_folder()
    target_folder.mkdir(parents=True, exist_ok=True)
    target = target_folder / f"solc-v{SOLC_VERSION}"
    script = (
        f"#!/bin/sh\n# p2p-energy: solc-js {SOLC_VERSION} behind a solc-compatible CLI\n"
        f"exec '{node}' '{toolchain.solc_cli}' \"$@\"\n"
    )
    if not target.is_file() or target.read_text() != script:
        tmp = target.with_suffix(".tmp")
        tmp.write_text(script)
        tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        tmp.replace(target)
    return target
