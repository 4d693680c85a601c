"""The domain (scenario, profiles, market, settlement, keys), the wire format (orders, readings, records,
cutting) and the ground-floor modules (errors, units, networks, limits) load no chain client: neither web3
nor eth-account.

Each check runs in a fresh interpreter, so modules other tests imported do not count.
"""

import json
import subprocess
import sys

import pytest

_IMPORT_THE_DOMAIN = """
import importlib, importlib.util, json, pkgutil, sys
import p2p_energy.domain, p2p_energy.wire
names = [f"p2p_energy.domain.{info.name}" for info in pkgutil.iter_modules(p2p_energy.domain.__path__)]
names += [f"p2p_energy.wire.{info.name}" for info in pkgutil.iter_modules(p2p_energy.wire.__path__)]
names += ["p2p_energy.errors", "p2p_energy.units", "p2p_energy.networks", "p2p_energy.defaults"]
names += [name for name in ["p2p_energy.limits"] if importlib.util.find_spec(name) is not None]
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def domain_import() -> dict[str, list[str]]:
    completed = subprocess.run(
        [sys.executable, "-c", _IMPORT_THE_DOMAIN], capture_output=True, text=True, check=True, timeout=60
    )
    result: dict[str, list[str]] = json.loads(completed.stdout)
    return result


def test_the_check_imports_every_domain_module(domain_import):
    assert {"p2p_energy.domain.scenario", "p2p_energy.domain.keys", "p2p_energy.wire.records"} <= set(
        domain_import["imported"]
    )


@pytest.mark.parametrize("package", ["web3", "eth_account"])
def test_importing_the_domain_and_ground_floor_modules_does_not_load(domain_import, package):
    loaded = [name for name in domain_import["loaded"] if name == package or name.startswith(f"{package}.")]
    assert not loaded, f"importing the domain loaded {package}: {', '.join(loaded[:5])}"
