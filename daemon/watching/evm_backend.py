"""Config → :class:`chains.evm.source.EvmSource` for ``type: evm`` chains.

Nothing connects here: HTTP connections open on the first call, the WebSocket
``newHeads`` subscription on the watcher's first wait. Without a URL the usual
local node (``http://127.0.0.1:8545``, the port geth, reth, erigon, bor and anvil
listen on) is used. Several URLs (``url`` then ``urls``) fail over in order;
a stale or lagging endpoint is avoided (see :mod:`chains.endpoints`).
"""

from __future__ import annotations

from chains.endpoints import EndpointPool
from chains.evm.source import EvmSource, EvmSourceSettings
from chains.jsonrpc import JsonRpcClient
from daemon.config.loading import ConfigError
from daemon.families.evm.config import EvmChainConfig
from daemon.families.evm.networks import DEFAULT_BLOCK_TIME, evm_network
from daemon.watching.hooks import NO_HOOKS, WatchHooks

DEFAULT_URL = "http://127.0.0.1:8545"


def build_evm_source(name: str, chain: EvmChainConfig, hooks: WatchHooks = NO_HOOKS) -> EvmSource:
    backend = chain.backend
    key = f"chains.{name}.backend"
    if backend.kind != "rpc":
        raise ConfigError([f"{key}.kind: EVM chains are watched through a node (rpc)"])
    for field in ("cookie_file", "zmq"):
        if getattr(backend, field) is not None:
            raise ConfigError([f"{key}.{field}: not used by EVM chains"])
    if backend.password is not None and backend.user is None:
        raise ConfigError([f"{key}.password: given without user"])
    urls = check_http_urls(key, backend.endpoints or [DEFAULT_URL])
    if backend.ws_url is not None and not backend.ws_url.startswith(("ws://", "wss://")):
        raise ConfigError([f"{key}.ws_url: a ws:// or wss:// URL is needed"])
    auth = None
    if backend.user is not None:
        password = backend.password.get_secret_value() if backend.password is not None else ""
        auth = (backend.user, password)
    timeout = request_timeout(backend.poll_interval.total_seconds())
    clients = [
        JsonRpcClient(url, auth=auth, timeout=timeout, observer=hooks.rpc_observer(name, url))
        for url in urls
    ]
    return evm_source(chain, clients, name)


def request_timeout(poll_interval: float) -> float:
    """Seconds a node request may take: five poll intervals, 5 to 30 s (a slow endpoint
    is failed over from quickly; a range of blocks still has time to come)."""
    return min(max(5 * poll_interval, 5.0), 30.0)


def check_http_urls(key: str, urls: list[str]) -> list[str]:
    for i, url in enumerate(urls):
        if not url.startswith(("http://", "https://")):
            raise ConfigError([f"{key}.urls[{i}]: an http(s) URL is needed, not {url!r}"])
    return urls


def evm_source(chain: EvmChainConfig, clients: list[JsonRpcClient], name: str = "") -> EvmSource:
    """The source over these endpoints (a node's, or Tatum's gateway), failing over in order.

    The block time is the chain's ``block_time``, else the one known for its chain id
    (:mod:`daemon.families.evm.networks`), else measured by the pool from the heads it
    sees."""
    configured = chain.block_time.total_seconds() if chain.block_time is not None else None
    block_time = configured or evm_network(chain.chain_id).block_time
    poll = chain.backend.poll_interval.total_seconds()
    pool = EndpointPool(
        clients,
        [c.url for c in clients],
        block_time=block_time,
        default_block_time=DEFAULT_BLOCK_TIME,
        poll_interval=poll,
        name=name,
    )
    settings = EvmSourceSettings(
        native_symbol=chain.native_asset.symbol,
        tokens={token.contract: symbol for symbol, token in chain.tokens.items()},
        block_time=block_time or DEFAULT_BLOCK_TIME,
        trace_api=chain.trace_api,
    )
    return EvmSource(pool, settings, ws_url=chain.backend.ws_url, poll_interval=poll)


def evm_gateway_source(
    name: str,
    chain: EvmChainConfig,
    urls: list[str],
    headers: dict[str, str],
    hooks: WatchHooks = NO_HOOKS,
) -> EvmSource:
    """The source over Tatum's gateway (``headers`` carry the API key)."""
    key = f"chains.{name}.backend"
    if chain.backend.ws_url is not None and not chain.backend.ws_url.startswith(
        ("ws://", "wss://")
    ):
        raise ConfigError([f"{key}.ws_url: a ws:// or wss:// URL is needed"])
    clients = [
        JsonRpcClient(url, headers=headers, observer=hooks.rpc_observer(name, url)) for url in urls
    ]
    return evm_source(chain, clients)
