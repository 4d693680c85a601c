"""The registry of chain backends: every name the CLI offers has one kind, and a kind checks its own options."""

import pytest

from p2p_energy.chain.backends import KINDS, backend_kind
from p2p_energy.defaults import BACKENDS, DEFAULT_BACKEND
from p2p_energy.errors import UsageError


def test_every_backend_the_cli_offers_is_registered_and_nothing_else():
    assert tuple(KINDS) == BACKENDS


def test_the_default_backend_is_registered():
    assert backend_kind(DEFAULT_BACKEND).name == DEFAULT_BACKEND


def test_an_unknown_backend_is_a_usage_error_naming_the_registered_ones():
    with pytest.raises(UsageError, match="unknown backend 'nope': choose one of evm, qtum"):
        backend_kind("nope")


def test_qtumd_given_to_a_kind_that_does_not_start_qtumd_is_a_usage_error():
    with pytest.raises(UsageError, match="--qtumd goes with --backend qtum"):
        backend_kind("evm").check_options("/usr/bin/qtumd")


def test_qtumd_given_to_the_kind_that_starts_qtumd_is_accepted():
    backend_kind("qtum").check_options("/usr/bin/qtumd")
