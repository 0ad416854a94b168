"""The EVM family as the daemon uses it: account xpubs derived by :mod:`chains.evm`,
EIP-681 URIs, native coin and ERC-20 transfers through JSON-RPC (the merchant's node,
or Tatum's gateway), and the balance check for coin sent by contracts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel

from chains.base import KeyFormatError
from chains.evm.addresses import parse_address, to_checksum_address
from chains.evm.deriver import EvmDeriver
from chains.evm.reconcile import EvmReconciler
from chains.evm.source import EvmSource
from chains.evm.uri import eip681_native_uri, eip681_token_uri
from chains.reconciliation import Reconciler
from chains.tatum.networks import TatumNetwork
from chains.watching import ChainSource
from daemon.families.base import Gateway, KeyProblem
from daemon.families.evm.config import EvmChainConfig
from daemon.families.evm.networks import evm_network
from daemon.services.order_changes import OrderChanges
from daemon.services.registry import Asset, ChainInfo, PaymentUri
from daemon.storage.database import Database
from daemon.watching.balance_check import BalanceCheck
from daemon.watching.evm_backend import build_evm_source, evm_gateway_source
from daemon.watching.hooks import WatchHooks
from daemon.watching.starting import EVM_MARGIN

# Tatum meters each call: two per open address and round (balance and nonce).
TATUM_BALANCE_CHECK_SECONDS = 600.0


def _payment_uri(chain_id: int) -> PaymentUri:
    def uri(address: str, asset: Asset, amount_base: int) -> str:
        if asset.contract is None:
            return eip681_native_uri(address, chain_id, amount_base)
        return eip681_token_uri(asset.contract, address, chain_id, amount_base)

    return uri


class EvmFamily:
    models: tuple[type[BaseModel], ...] = (EvmChainConfig,)
    start_margin: timedelta = EVM_MARGIN

    def chain(self, name: str, config: EvmChainConfig) -> ChainInfo:
        try:
            deriver = EvmDeriver.from_xpub(config.xpub)
        except KeyFormatError as exc:
            raise KeyProblem("xpub", str(exc)) from None
        spec = config.native_asset
        native = Asset(spec.symbol.upper(), spec.decimals)
        assets = {native.symbol: native}
        for alias in spec.aliases:
            assets[alias.upper()] = native
        for symbol, token in config.tokens.items():
            try:
                contract = to_checksum_address(parse_address(token.contract))
            except KeyFormatError as exc:
                raise KeyProblem(f"tokens.{symbol}.contract", str(exc)) from None
            assets[symbol.upper()] = Asset(symbol.upper(), token.decimals, contract)
        return ChainInfo(
            name=name,
            kind="evm",
            deriver=deriver,
            native=native,
            default_confirmations=config.confirmations_policy,
            uri=_payment_uri(config.chain_id),
            finalizes=True,
            _assets=assets,
            title=evm_network(config.chain_id).title or "",
        )

    def assets(self, config: EvmChainConfig) -> list[str]:
        return [config.native_asset.symbol, *config.tokens]

    def script_of(self, config: EvmChainConfig) -> Callable[[str], bytes]:
        return parse_address

    def node_source(self, name: str, config: EvmChainConfig, hooks: WatchHooks) -> ChainSource:
        return build_evm_source(name, config, hooks)

    def tatum_network(self, config: EvmChainConfig) -> TatumNetwork | None:
        return evm_network(config.chain_id).tatum

    def network_label(self, config: EvmChainConfig) -> str:
        return f"chain id {config.chain_id}"

    def gateway_source(
        self, name: str, config: EvmChainConfig, gateway: Gateway, hooks: WatchHooks
    ) -> ChainSource:
        return evm_gateway_source(name, config, gateway.urls, gateway.headers, hooks)

    def balance_check(
        self,
        name: str,
        config: EvmChainConfig,
        source: ChainSource,
        db: Database,
        changes: OrderChanges,
        clock: Callable[[], datetime],
        on_credit: Callable[[str, str, int], None] | None,
    ) -> BalanceCheck | None:
        """Native coin sent by contracts leaves no transaction or log: compare each open
        address's balance with what was credited."""
        if not isinstance(source, EvmSource):
            return None
        interval = config.balance_check_interval.total_seconds()
        if (
            config.backend.kind == "tatum"
            and "balance_check_interval" not in config.model_fields_set
        ):
            interval = TATUM_BALANCE_CHECK_SECONDS
        return BalanceCheck(
            name,
            source,
            db,
            changes,
            clock,
            native_symbol=config.native_asset.symbol,
            interval=interval,
            after_creation=config.balance_check_after.total_seconds(),
            on_credit=on_credit,
        )

    def reconciler(self, config: EvmChainConfig, source: ChainSource) -> Reconciler | None:
        return EvmReconciler(source) if isinstance(source, EvmSource) else None


FAMILY = EvmFamily()
