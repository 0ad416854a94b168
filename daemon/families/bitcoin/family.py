"""The Bitcoin family as the daemon uses it: output descriptors and xpubs derived by
:mod:`chains.bitcoin`, BIP21 URIs, blocks and the mempool through Bitcoin Core's RPC
(the merchant's node, or Tatum's gateway)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel

from chains.base import KeyFormatError
from chains.bitcoin.addresses import decode_address
from chains.bitcoin.deriver import BitcoinDeriver
from chains.bitcoin.networks import get_network
from chains.bitcoin.reconcile import BitcoinReconciler
from chains.bitcoin.source import BitcoinSource
from chains.bitcoin.uri import bip21_uri
from chains.reconciliation import Reconciler
from chains.tatum.networks import TatumNetwork
from chains.watching import ChainSource
from daemon.families.base import Gateway, KeyProblem
from daemon.families.bitcoin.config import BitcoinChainConfig
from daemon.families.bitcoin.networks import network_facts
from daemon.services.order_changes import OrderChanges
from daemon.services.registry import Asset, ChainInfo
from daemon.storage.database import Database
from daemon.watching.balance_check import BalanceCheck
from daemon.watching.bitcoin_backend import bitcoin_gateway_source, build_bitcoin_source
from daemon.watching.hooks import WatchHooks
from daemon.watching.starting import BITCOIN_MARGIN

DECIMALS = 8


class BitcoinFamily:
    models: tuple[type[BaseModel], ...] = (BitcoinChainConfig,)
    start_margin: timedelta = BITCOIN_MARGIN

    def chain(self, name: str, config: BitcoinChainConfig) -> ChainInfo:
        network = get_network(config.type, config.network)
        key = "xpub" if config.xpub is not None else "descriptor"
        try:
            deriver = BitcoinDeriver.from_config(
                network,
                xpub=config.xpub,
                descriptor=config.descriptor,
                address_type=config.address_type,
            )
        except KeyFormatError as exc:
            raise KeyProblem(key, str(exc)) from None
        native = Asset(config.symbol, DECIMALS)
        scheme = network.uri_scheme
        return ChainInfo(
            name=name,
            kind=config.type,
            deriver=deriver,
            native=native,
            default_confirmations=config.confirmations,
            uri=lambda address, asset, amount: bip21_uri(scheme, address, amount),
            _assets={native.symbol: native},
            title=config.type.title()
            + ("" if config.network == "mainnet" else f" {config.network}"),
        )

    def assets(self, config: BitcoinChainConfig) -> list[str]:
        return [config.symbol]

    def script_of(self, config: BitcoinChainConfig) -> Callable[[str], bytes]:
        network = get_network(config.type, config.network)
        return functools.partial(decode_address, network=network)

    def node_source(self, name: str, config: BitcoinChainConfig, hooks: WatchHooks) -> ChainSource:
        return build_bitcoin_source(name, config, hooks)

    def tatum_network(self, config: BitcoinChainConfig) -> TatumNetwork | None:
        return network_facts(config.type, config.network).tatum

    def network_label(self, config: BitcoinChainConfig) -> str:
        return f"{config.type} {config.network}"

    def gateway_source(
        self, name: str, config: BitcoinChainConfig, gateway: Gateway, hooks: WatchHooks
    ) -> ChainSource:
        return bitcoin_gateway_source(
            name,
            config,
            gateway.urls,
            gateway.headers,
            hinted_only=gateway.notifications,
            hooks=hooks,
        )

    def balance_check(
        self,
        name: str,
        config: BitcoinChainConfig,
        source: ChainSource,
        db: Database,
        changes: OrderChanges,
        clock: Callable[[], datetime],
        on_credit: Callable[[str, str, int], None] | None,
    ) -> BalanceCheck | None:
        return None  # every payment is an output of a transaction in a block

    def reconciler(self, config: BitcoinChainConfig, source: ChainSource) -> Reconciler | None:
        return BitcoinReconciler(source) if isinstance(source, BitcoinSource) else None


FAMILY = BitcoinFamily()
