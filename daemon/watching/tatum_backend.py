"""Config → a chain source over Tatum's RPC gateway (``backend: {kind: tatum}``).

The gateway speaks the node's own JSON-RPC, so the same adapters as for a self-hosted
node serve it; only the address and the ``x-api-key`` header differ, and each family
builds its source from them. The gateway URL comes from the chain and network
(``https://ethereum-mainnet.gateway.tatum.io``, see the family's network table) unless
``backend.url`` names one (a regtest chain, or a stand-in in tests).
"""

from __future__ import annotations

from typing import Any

from chains.watching import ChainSource
from daemon.config.loading import ConfigError
from daemon.config.schema import ChainConfig
from daemon.config.tatum import TatumConfig
from daemon.families.base import Family, Gateway
from daemon.watching.evm_backend import check_http_urls
from daemon.watching.hooks import NO_HOOKS, WatchHooks

_NODE_ONLY = ("cookie_file", "user", "password", "zmq")


def gateway_urls(name: str, chain: ChainConfig, family: Family[Any]) -> list[str]:
    key = f"chains.{name}.backend"
    if chain.backend.endpoints:
        return check_http_urls(key, chain.backend.endpoints)
    network = family.tatum_network(chain)
    derived = network.gateway_url if network is not None else None
    if derived is None:
        what = family.network_label(chain)
        raise ConfigError([f"{key}.url: Tatum has no gateway for {what}; give its URL"])
    return [derived]


def build_tatum_source(
    name: str,
    chain: ChainConfig,
    tatum: TatumConfig | None,
    family: Family[Any],
    hooks: WatchHooks = NO_HOOKS,
) -> ChainSource:
    key = f"chains.{name}.backend"
    if tatum is None:
        raise ConfigError([f"{key}.kind is tatum but there is no tatum: section"])
    for field in _NODE_ONLY:
        if getattr(chain.backend, field) is not None:
            raise ConfigError([f"{key}.{field}: not used with Tatum (its API key is the login)"])
    gateway = Gateway(
        urls=gateway_urls(name, chain, family),
        headers={"x-api-key": tatum.api_key.get_secret_value()},
        notifications=tatum.notifications,
    )
    return family.gateway_source(name, chain, gateway, hooks)
