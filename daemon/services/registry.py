"""The configured chains: their address derivers, assets and payment URIs.

Each chain's family (see :mod:`daemon.families`) builds its :class:`ChainInfo`; this
module only holds them by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from chains.base import AddressDeriver
from daemon.config.loading import ConfigError
from daemon.config.schema import Config


@dataclass(frozen=True, slots=True)
class Asset:
    symbol: str
    decimals: int
    contract: str | None = None  # the token's contract address (EIP-55 on EVM chains)


# (address, asset, amount in base units) -> the payment URI a wallet opens
PaymentUri = Callable[[str, Asset, int], str]


@dataclass(frozen=True)
class ChainInfo:
    name: str
    kind: str  # the config's type: bitcoin | litecoin | evm | ...
    deriver: AddressDeriver
    native: Asset
    default_confirmations: int | None  # None: the finalized tag
    uri: PaymentUri
    # Whether an order may wait for the node's finalized block (confirmations: finalized)
    # rather than a depth.
    finalizes: bool = False
    _assets: Mapping[str, Asset] = field(default_factory=dict)
    title: str = ""  # the network as the checkout page names it ("Ethereum"); else the name

    @property
    def shown_as(self) -> str:
        return self.title or self.name

    @property
    def assets(self) -> list[Asset]:
        return list(dict.fromkeys(self._assets.values()))

    def asset(self, symbol: str) -> Asset | None:
        return self._assets.get(symbol.upper())

    def payment_uri(self, address: str, asset: Asset, amount_base: int) -> str:
        return self.uri(address, asset, amount_base)


class ChainRegistry:
    def __init__(self, chains: Mapping[str, ChainInfo]) -> None:
        self._chains = dict(chains)

    @classmethod
    def from_config(cls, config: Config) -> ChainRegistry:
        # Imported here: the families build ChainInfo (and import this module).
        from daemon.families.base import KeyProblem
        from daemon.families.registry import family_of

        problems: list[str] = []
        chains: dict[str, ChainInfo] = {}
        for name, chain in config.chains.items():
            try:
                chains[name] = family_of(chain).chain(name, chain)
            except KeyProblem as exc:
                problems.append(f"chains.{name}.{exc.key}: {exc.message}")
        if problems:
            raise ConfigError(problems)
        return cls(chains)

    def get(self, name: str) -> ChainInfo | None:
        return self._chains.get(name)

    def __iter__(self) -> Iterator[ChainInfo]:
        return iter(self._chains.values())

    def names(self) -> list[str]:
        return list(self._chains)
