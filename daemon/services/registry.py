"""The configured chains: their address derivers, assets and payment URIs.

The only module of the app that knows which adapter in :mod:`chains` serves
which config entry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from chains.base import AddressDeriver, KeyFormatError
from chains.bitcoin.deriver import BitcoinDeriver
from chains.bitcoin.networks import get_network
from chains.bitcoin.uri import bip21_uri
from chains.evm.addresses import parse_address, to_checksum_address
from chains.evm.deriver import EvmDeriver
from chains.evm.uri import eip681_native_uri, eip681_token_uri
from daemon.config.loading import ConfigError
from daemon.config.schema import BitcoinChainConfig, Config, EvmChainConfig


@dataclass(frozen=True, slots=True)
class Asset:
    symbol: str
    decimals: int
    contract: str | None = None  # EIP-55 address of an ERC-20 token


@dataclass(frozen=True)
class ChainInfo:
    name: str
    kind: str  # bitcoin | litecoin | evm
    deriver: AddressDeriver
    native: Asset
    default_confirmations: int | None  # None: the finalized tag
    chain_id: int | None = None
    uri_scheme: str = ""
    _assets: Mapping[str, Asset] = field(default_factory=dict)

    @property
    def is_evm(self) -> bool:
        return self.kind == "evm"

    @property
    def assets(self) -> list[Asset]:
        return list(dict.fromkeys(self._assets.values()))

    def asset(self, symbol: str) -> Asset | None:
        return self._assets.get(symbol.upper())

    def payment_uri(self, address: str, asset: Asset, amount_base: int) -> str:
        if not self.is_evm:
            return bip21_uri(self.uri_scheme, address, amount_base)
        assert self.chain_id is not None
        if asset.contract is None:
            return eip681_native_uri(address, self.chain_id, amount_base)
        return eip681_token_uri(asset.contract, address, self.chain_id, amount_base)


class ChainRegistry:
    def __init__(self, chains: Mapping[str, ChainInfo]) -> None:
        self._chains = dict(chains)

    @classmethod
    def from_config(cls, config: Config) -> ChainRegistry:
        problems: list[str] = []
        chains: dict[str, ChainInfo] = {}
        for name, chain in config.chains.items():
            try:
                if isinstance(chain, BitcoinChainConfig):
                    chains[name] = _bitcoin(name, chain)
                else:
                    chains[name] = _evm(name, chain)
            except _KeyProblem as exc:
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


class _KeyProblem(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _bitcoin(name: str, chain: BitcoinChainConfig) -> ChainInfo:
    network = get_network(chain.type, chain.network)
    key = "xpub" if chain.xpub is not None else "descriptor"
    try:
        deriver = BitcoinDeriver.from_config(
            network, xpub=chain.xpub, descriptor=chain.descriptor, address_type=chain.address_type
        )
    except KeyFormatError as exc:
        raise _KeyProblem(key, str(exc)) from None
    native = Asset(chain.symbol, 8)
    return ChainInfo(
        name=name,
        kind=chain.type,
        deriver=deriver,
        native=native,
        default_confirmations=chain.confirmations,
        uri_scheme=network.uri_scheme,
        _assets={native.symbol: native},
    )


def _evm(name: str, chain: EvmChainConfig) -> ChainInfo:
    try:
        deriver = EvmDeriver.from_xpub(chain.xpub)
    except KeyFormatError as exc:
        raise _KeyProblem("xpub", str(exc)) from None
    spec = chain.native_asset
    native = Asset(spec.symbol.upper(), spec.decimals)
    assets = {native.symbol: native}
    for alias in spec.aliases:
        assets[alias.upper()] = native
    for symbol, token in chain.tokens.items():
        try:
            contract = to_checksum_address(parse_address(token.contract))
        except KeyFormatError as exc:
            raise _KeyProblem(f"tokens.{symbol}.contract", str(exc)) from None
        assets[symbol.upper()] = Asset(symbol.upper(), token.decimals, contract)
    return ChainInfo(
        name=name,
        kind="evm",
        deriver=deriver,
        native=native,
        default_confirmations=chain.confirmations_policy,
        chain_id=chain.chain_id,
        _assets=assets,
    )
