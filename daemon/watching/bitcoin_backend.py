"""Config → :class:`chains.bitcoin.source.BitcoinSource` for ``type: bitcoin`` / ``litecoin``,
over the merchant's own node(s) or over Tatum's RPC gateway.

Nothing connects here: the source opens its HTTP connections and the ZMQ socket on first
use. Without a URL the node's default RPC port on loopback is used.
"""

from __future__ import annotations

from chains.bitcoin.networks import get_network
from chains.bitcoin.node_rpc import BitcoinRpc
from chains.bitcoin.source import BitcoinSource
from daemon.config.loading import ConfigError
from daemon.families.bitcoin.config import BitcoinChainConfig
from daemon.families.bitcoin.networks import network_facts
from daemon.watching.hooks import NO_HOOKS, WatchHooks


def build_bitcoin_source(
    name: str, chain: BitcoinChainConfig, hooks: WatchHooks = NO_HOOKS
) -> BitcoinSource:
    backend = chain.backend
    key = f"chains.{name}.backend"
    if backend.kind != "rpc":
        raise ConfigError([f"{key}.kind: {chain.type} chains are watched through a node (rpc)"])
    if backend.cookie_file is not None and backend.user is not None:
        raise ConfigError([f"{key}: give user and password, or cookie_file, not both"])
    if backend.password is not None and backend.user is None:
        raise ConfigError([f"{key}.password: given without user"])
    if backend.zmq is not None and not backend.zmq.startswith(("tcp://", "ipc://")):
        raise ConfigError(
            [f"{key}.zmq: {backend.zmq[:60]!r} is not a ZMQ address like tcp://127.0.0.1:28332"]
        )
    network = get_network(chain.type, chain.network)
    urls = backend.endpoints or [
        f"http://127.0.0.1:{network_facts(chain.type, chain.network).rpc_port}"
    ]
    password = backend.password.get_secret_value() if backend.password is not None else None
    nodes = [
        BitcoinRpc(
            url,
            user=backend.user,
            password=password,
            cookie_file=backend.cookie_file,
            observer=hooks.rpc_observer(name, url),
        )
        for url in urls
    ]
    block_time = chain.block_time.total_seconds() if chain.block_time is not None else None
    poll = backend.poll_interval.total_seconds()
    return BitcoinSource(
        nodes,
        network=network,
        asset=chain.symbol,
        zmq=backend.zmq,
        block_time=block_time,
        poll_interval=poll,
    )


def bitcoin_gateway_source(
    name: str,
    chain: BitcoinChainConfig,
    urls: list[str],
    headers: dict[str, str],
    *,
    hinted_only: bool,
    hooks: WatchHooks = NO_HOOKS,
) -> BitcoinSource:
    """The source over Tatum's gateway (``headers`` carry the API key).

    A payment counts as made when it is first seen, so the mempool is the earliest
    evidence of one made in time. Each mempool transaction fetched costs a call: with
    notifications (``hinted_only``), fetch only those Tatum named (seconds after they are
    broadcast); without, fetch every new one, as from a node of one's own (one call per
    transaction entering the mempool), or a payment sent in time but mined after expiry
    would be judged late by its block."""
    nodes = [
        BitcoinRpc(url, headers=headers, observer=hooks.rpc_observer(name, url)) for url in urls
    ]
    return BitcoinSource(
        nodes,
        network=get_network(chain.type, chain.network),
        asset=chain.symbol,
        mempool_hinted_only=hinted_only,
    )
