"""Config → :class:`chains.bitcoin.source.BitcoinSource` for ``type: bitcoin`` / ``litecoin``.

Nothing connects here: the source opens its HTTP connections and the ZMQ socket on first
use. Without a URL the node's default RPC port on loopback is used.
"""

from __future__ import annotations

from chains.bitcoin.networks import get_network
from chains.bitcoin.node_rpc import BitcoinRpc
from chains.bitcoin.source import BitcoinSource
from daemon.config.loading import ConfigError
from daemon.config.schema import BitcoinChainConfig
from daemon.watching.hooks import NO_HOOKS, WatchHooks

# Each node's default RPC port, as its own software ships it.
DEFAULT_RPC_PORTS = {
    ("bitcoin", "mainnet"): 8332,
    ("bitcoin", "testnet"): 18332,
    ("bitcoin", "signet"): 38332,
    ("bitcoin", "regtest"): 18443,
    ("litecoin", "mainnet"): 9332,
    ("litecoin", "testnet"): 19332,
    ("litecoin", "regtest"): 19443,
}


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
        f"http://127.0.0.1:{DEFAULT_RPC_PORTS[(chain.type, chain.network)]}"
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
