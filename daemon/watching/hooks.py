"""How the daemon hears what its watchers do (its metrics), without the watchers knowing
who listens. Every hook is optional, called on the event loop, and must be cheap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chains.jsonrpc import RpcObserver


@dataclass(frozen=True)
class WatchHooks:
    # (chain, endpoint URL as configured) -> what hears of that endpoint's requests
    rpc: Callable[[str, str], RpcObserver] | None = None
    # (chain, asset, count): transfers stored for the first time, after their commit
    credited: Callable[[str, str, int], None] | None = None

    def rpc_observer(self, chain: str, url: str) -> RpcObserver | None:
        return None if self.rpc is None else self.rpc(chain, url)


NO_HOOKS = WatchHooks()
