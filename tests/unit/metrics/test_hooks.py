"""The daemon builds every node client with an observer for its chain and endpoint: own
nodes (EVM, Bitcoin family) and Tatum's gateways alike. Nothing connects here."""

from __future__ import annotations

from chains.bitcoin.source import BitcoinSource
from chains.evm.source import EvmSource
from chains.jsonrpc import RpcObserver
from daemon.config.loading import parse_config
from daemon.config.schema import Config
from daemon.watching.hooks import NO_HOOKS, WatchHooks
from daemon.watching.sources import build_source
from tests.support.keys import ETH_XPUB, LTC_ZPUB

CONFIG = f"""
tatum: {{api_key: t-key}}
chains:
  eth:
    type: evm
    chain_id: 1
    xpub: {ETH_XPUB}
    backend: {{url: "http://127.0.0.1:8545", urls: ["https://eth.example/v3/KEY"]}}
  ltc:
    type: litecoin
    network: regtest
    xpub: {LTC_ZPUB}
    backend: {{url: "http://rpc:pw@127.0.0.1:19443"}}
  eth_tatum:
    type: evm
    chain_id: 1
    xpub: {ETH_XPUB}
    backend: {{kind: tatum}}
"""


class _Heard:
    def __init__(self, chain: str, url: str) -> None:
        self.chain, self.url = chain, url

    def request(self, method: str, seconds: float, failure: str | None) -> None:
        raise AssertionError("nothing is sent while building")

    def refused(self, method: str) -> None:
        raise AssertionError("nothing is sent while building")


def observers(config: Config, name: str, hooks: WatchHooks) -> list[RpcObserver | None]:
    source = build_source(name, config.chains[name], config.tatum, hooks)
    if isinstance(source, EvmSource):
        return [client.observer for client in source.pool.clients]
    assert isinstance(source, BitcoinSource)
    return [node.observer for node in source._pool.clients]


def test_every_node_client_gets_an_observer_for_its_chain_and_url() -> None:
    config = parse_config(CONFIG)
    made: list[tuple[str, str]] = []

    def observe(chain: str, url: str) -> RpcObserver:
        made.append((chain, url))
        return _Heard(chain, url)

    hooks = WatchHooks(rpc=observe)
    heard = {name: observers(config, name, hooks) for name in config.chains}
    assert made == [
        ("eth", "http://127.0.0.1:8545"),
        ("eth", "https://eth.example/v3/KEY"),
        ("ltc", "http://rpc:pw@127.0.0.1:19443"),
        ("eth_tatum", "https://ethereum-mainnet.gateway.tatum.io"),
    ]
    for name, found in heard.items():
        assert all(isinstance(o, _Heard) and o.chain == name for o in found), name


def test_without_hooks_the_clients_have_no_observer() -> None:
    config = parse_config(CONFIG)
    for name in config.chains:
        found = observers(config, name, NO_HOOKS)
        assert found
        assert all(observer is None for observer in found), name
