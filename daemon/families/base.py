"""What the daemon needs of a chain family, whatever the chains in it.

A family (the Bitcoin family, EVM, ...) is one package under :mod:`daemon.families`:
its config model(s), and one :class:`Family` object that builds from a chain's config
everything the daemon runs for it. The daemon asks the family registered for a chain's
``type:`` (:mod:`daemon.families.registry`) and never tells families apart itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar

from pydantic import BaseModel

from chains.reconciliation import Reconciler
from chains.tatum.networks import TatumNetwork
from chains.watching import ChainSource
from daemon.errors import PaywatchError
from daemon.services.registry import ChainInfo
from daemon.watching.hooks import WatchHooks

if TYPE_CHECKING:
    from daemon.services.order_changes import OrderChanges
    from daemon.storage.database import Database
    from daemon.watching.balance_check import BalanceCheck

C_contra = TypeVar("C_contra", contravariant=True)


class KeyProblem(PaywatchError):
    """A key of a chain's config that cannot be used (``key`` relative to the chain);
    :class:`~daemon.services.registry.ChainRegistry` turns it into a ConfigError line."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


@dataclass(frozen=True)
class Gateway:
    """Where a chain watched through Tatum's RPC gateway is, and with what."""

    urls: list[str]
    headers: dict[str, str]  # the API key
    # Tatum notifications name new mempool transactions: fetch only those (metered).
    notifications: bool


class Family(Protocol[C_contra]):
    """One chain family, for configs of type ``C_contra`` (one of :attr:`models`)."""

    @property
    def models(self) -> tuple[type[BaseModel], ...]:
        """The config models; each has a ``type: Literal[...]`` naming its chains."""
        ...

    @property
    def start_margin(self) -> timedelta:
        """How far a block's timestamp may trail the moment it was made (where a new
        watcher starts, see :mod:`daemon.watching.starting`)."""
        ...

    def chain(self, name: str, config: C_contra) -> ChainInfo:
        """The chain's deriver, assets and payment URIs; :class:`KeyProblem` for a key
        or contract that cannot be used."""
        ...

    def assets(self, config: C_contra) -> list[str]:
        """The symbols the chain's payments carry (metric labels), without deriving."""
        ...

    def script_of(self, config: C_contra) -> Callable[[str], bytes]:
        """Address -> the script the watcher matches; ValueError for another format."""
        ...

    def node_source(self, name: str, config: C_contra, hooks: WatchHooks) -> ChainSource:
        """The source over the merchant's own node(s) (``backend.kind: rpc``); nothing
        connects yet. :class:`~daemon.config.loading.ConfigError` for unusable keys."""
        ...

    def tatum_network(self, config: C_contra) -> TatumNetwork | None:
        """The network Tatum serves the chain as, or None where it serves none."""
        ...

    def network_label(self, config: C_contra) -> str:
        """The chain's network in words, for messages (``litecoin regtest``)."""
        ...

    def gateway_source(
        self, name: str, config: C_contra, gateway: Gateway, hooks: WatchHooks
    ) -> ChainSource:
        """The source over Tatum's RPC gateway (the node's own JSON-RPC)."""
        ...

    def balance_check(
        self,
        name: str,
        config: C_contra,
        source: ChainSource,
        db: Database,
        changes: OrderChanges,
        clock: Callable[[], datetime],
        on_credit: Callable[[str, str, int], None] | None,
    ) -> BalanceCheck | None:
        """A periodic check of open orders' balances (coin that leaves no trace in a
        block's transactions), or None where the family needs none."""
        ...

    def reconciler(self, config: C_contra, source: ChainSource) -> Reconciler | None:
        """Reads booked transfers back from ``source`` (``paywatch reconcile``), or None
        where the family or the source cannot."""
        ...
