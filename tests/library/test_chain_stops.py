"""A node that stops answering becomes one ChainStopped that names the chain and the stage it stopped in; below the
run, the chain backends turn the HTTP transport's failures into their own NodeGone (no `requests` exception
crosses the chain seam)."""

import socket

import pytest
import requests
from web3 import HTTPProvider, Web3

from p2p_energy.chain.abi import AbiCodec
from p2p_energy.chain.backend import NodeGone
from p2p_energy.chain.evm import EvmBackend
from p2p_energy.chain.qtum_rpc import NodeUrl, QtumRpc
from p2p_energy.run.context import ChainStopped, Stage, reporting_chain_stops

pytestmark = pytest.mark.slow  # starts a chain, a cluster or the compiler (docs/tests.md)


@pytest.fixture
def dead_url():
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def ask(url):
    """A JSON-RPC request to `url` through a chain backend's transport (qtumd's RPC client)."""
    host_port = url.removeprefix("http://")
    QtumRpc(NodeUrl.parse(f"http://user:pass@{host_port}"), timeout_s=5).call("getblockchaininfo")


def test_a_node_that_does_not_answer_becomes_chain_stopped_naming_url_and_stage(dead_url):
    with pytest.raises(ChainStopped) as stopped, reporting_chain_stops(dead_url, Stage("the deployment")):
        ask(dead_url)
    assert str(stopped.value).startswith(f"the chain at {dead_url} stopped answering during the deployment")


def test_chain_stopped_names_the_transport_failure_as_its_cause(dead_url):
    with pytest.raises(ChainStopped) as stopped, reporting_chain_stops(dead_url, Stage("the deployment")):
        ask(dead_url)
    assert stopped.value.cause == "ConnectionError"


def test_the_stage_named_is_the_one_reached_when_the_node_went_away(dead_url):
    stage = Stage()
    with pytest.raises(ChainStopped) as stopped, reporting_chain_stops(dead_url, stage):
        stage.name = "slot 3/24"
        ask(dead_url)
    assert stopped.value.stage == "slot 3/24"


def test_other_errors_pass_through_unchanged(dead_url):
    with pytest.raises(ValueError, match="not about the node"), reporting_chain_stops(dead_url, Stage()):
        raise ValueError("not about the node")


def test_qtum_rpc_to_a_dead_node_raises_node_gone_not_a_transport_exception(dead_url):
    with pytest.raises(NodeGone) as gone:
        ask(dead_url)
    assert not isinstance(gone.value, requests.exceptions.RequestException)


def test_evm_backend_to_a_dead_node_raises_node_gone_not_a_transport_exception(dead_url):
    with pytest.raises(NodeGone) as gone:
        EvmBackend(Web3(HTTPProvider(dead_url, request_kwargs={"timeout": 5})), AbiCodec())
    assert not isinstance(gone.value, requests.exceptions.RequestException)
