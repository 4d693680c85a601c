"""A node that stops answering becomes one ChainStopped that names the chain and the stage it stopped in."""

import socket

import pytest
import requests

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
    requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=5)


def test_a_node_that_does_not_answer_becomes_chain_stopped_naming_url_and_stage(dead_url):
    with pytest.raises(ChainStopped) as stopped, reporting_chain_stops(dead_url, Stage("the deployment")):
        ask(dead_url)
    assert str(stopped.value).startswith(f"the chain at {dead_url} stopped answering during the deployment")


def test_the_stage_named_is_the_one_reached_when_the_node_went_away(dead_url):
    stage = Stage()
    with pytest.raises(ChainStopped) as stopped, reporting_chain_stops(dead_url, stage):
        stage.name = "slot 3/24"
        ask(dead_url)
    assert stopped.value.stage == "slot 3/24"


def test_other_errors_pass_through_unchanged(dead_url):
    with pytest.raises(ValueError, match="not about the node"), reporting_chain_stops(dead_url, Stage()):
        raise ValueError("not about the node")
