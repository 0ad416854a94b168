"""Config → a chain source over Tatum's RPC gateway (``backend: {kind: tatum}``).

The gateway speaks the node's own JSON-RPC, so the same adapters as for a self-hosted
node serve it (:class:`~chains.evm.source.EvmSource`, :class:`~chains.bitcoin.source.
BitcoinSource`); only the address and the ``x-api-key`` header differ. The gateway URL
comes from the chain and network (``https://ethereum-mainnet.gateway.tatum.io``) unless
``backend.url`` names one (a regtest chain, or a stand-in in tests).
"""

from __future__ import annotations

from chains.bitcoin.networks import get_network
from chains.bitcoin.node_rpc import BitcoinRpc
from chains.bitcoin.source import BitcoinSource
from chains.jsonrpc import JsonRpcClient
from chains.tatum.networks import TatumNetwork, bitcoin_network, evm_network
from chains.watching import ChainSource
from daemon.config.loading import ConfigError
from daemon.config.schema import BitcoinChainConfig, ChainConfig
from daemon.config.tatum import TatumConfig
from daemon.watching.evm_backend import check_http_urls, evm_source
from daemon.watching.hooks import NO_HOOKS, WatchHooks

_NODE_ONLY = ("cookie_file", "user", "password", "zmq")


def tatum_network_of(chain: ChainConfig) -> TatumNetwork | None:
    if isinstance(chain, BitcoinChainConfig):
        return bitcoin_network(chain.type, chain.network)
    return evm_network(chain.chain_id)


def gateway_urls(name: str, chain: ChainConfig) -> list[str]:
    key = f"chains.{name}.backend"
    if chain.backend.endpoints:
        return check_http_urls(key, chain.backend.endpoints)
    network = tatum_network_of(chain)
    derived = network.gateway_url if network is not None else None
    if derived is None:
        what = (
            f"{chain.type} {chain.network}"
            if isinstance(chain, BitcoinChainConfig)
            else f"chain id {chain.chain_id}"
        )
        raise ConfigError([f"{key}.url: Tatum has no gateway for {what}; give its URL"])
    return [derived]


def build_tatum_source(
    name: str, chain: ChainConfig, tatum: TatumConfig | None, hooks: WatchHooks = NO_HOOKS
) -> ChainSource:
    key = f"chains.{name}.backend"
    if tatum is None:
        raise ConfigError([f"{key}.kind is tatum but there is no tatum: section"])
    for field in _NODE_ONLY:
        if getattr(chain.backend, field) is not None:
            raise ConfigError([f"{key}.{field}: not used with Tatum (its API key is the login)"])
    urls = gateway_urls(name, chain)
    headers = {"x-api-key": tatum.api_key.get_secret_value()}
    if isinstance(chain, BitcoinChainConfig):
        nodes = [
            BitcoinRpc(url, headers=headers, observer=hooks.rpc_observer(name, url)) for url in urls
        ]
        network = get_network(chain.type, chain.network)
        # A payment counts as made when it is first seen, so the mempool is the earliest
        # evidence of one made in time. Each mempool transaction fetched costs a call:
        # with notifications, fetch only those Tatum named (seconds after they are
        # broadcast); without, fetch every new one, as from a node of one's own (one
        # call per transaction entering the mempool), or a payment sent in time but
        # mined after expiry would be judged late by its block.
        return BitcoinSource(
            nodes,
            network=network,
            asset=chain.symbol,
            mempool_hinted_only=tatum.notifications,
        )
    if chain.backend.ws_url is not None and not chain.backend.ws_url.startswith(
        ("ws://", "wss://")
    ):
        raise ConfigError([f"{key}.ws_url: a ws:// or wss:// URL is needed"])
    clients = [
        JsonRpcClient(url, headers=headers, observer=hooks.rpc_observer(name, url)) for url in urls
    ]
    return evm_source(chain, clients)
