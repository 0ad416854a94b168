"""``type: evm`` in config.yaml."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from daemon.config.schema import BackendConfig, Duration, Section, Symbol
from daemon.families.evm.networks import evm_network


def _tokens_unique(value: object) -> object:
    """Refuse token symbols that differ only in case, before they are upper-cased (and one
    would silently replace the other)."""
    if isinstance(value, dict):
        seen: dict[str, str] = {}
        for key in value:
            if not isinstance(key, str):
                continue
            first = seen.setdefault(key.upper(), key)
            if first != key:
                raise ValueError(
                    f"{first!r} and {key!r} are the same symbol (symbols ignore case); keep one"
                )
    return value


def _confirmations(value: object) -> int | str:
    if value == "finalized":
        return "finalized"
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10000:
        return value
    raise ValueError('must be a depth from 0 to 10000 or "finalized"')


def _check_contract(value: str) -> str:
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
        raise ValueError(f"{value[:50]!r} is not a contract address (0x and 40 hex digits)")
    return value


class NativeAssetConfig(Section):
    symbol: Symbol
    decimals: int = Field(default=18, ge=0, le=36)
    aliases: list[Symbol] = Field(default_factory=list)


class TokenConfig(Section):
    contract: Annotated[str, AfterValidator(_check_contract)]
    decimals: int = Field(ge=0, le=36)


class EvmChainConfig(Section):
    type: Literal["evm"]
    chain_id: int = Field(ge=1, le=2**53)
    xpub: str
    confirmations: Annotated[int | str, BeforeValidator(_confirmations)] = 12
    start_height: int | None = Field(default=None, ge=0)
    # Seconds between blocks (how soon a head that stands still is stale); default: a
    # table of known chains, else measured from the heads seen.
    block_time: Duration | None = None
    # Without a trace API, native coin sent by contracts is found by comparing the
    # balance of each order's address with what was credited: this long after the
    # order is made, at its expiry and at the end of its late window (and on demand),
    # in rounds this often.
    balance_check_interval: Duration = timedelta(minutes=1)
    balance_check_after: Duration = timedelta(minutes=1)
    # Which trace API the node has for coin sent by contracts: auto (asked once), or
    # none (the balance check covers), trace_block, debug_traceBlockByNumber.
    trace_api: Literal["auto", "none", "trace_block", "debug_traceBlockByNumber"] = "auto"
    native: NativeAssetConfig | None = None
    tokens: Annotated[dict[Symbol, TokenConfig], BeforeValidator(_tokens_unique)] = Field(
        default_factory=dict
    )
    backend: BackendConfig = Field(default_factory=BackendConfig)

    @model_validator(mode="after")
    def _assets(self) -> EvmChainConfig:
        if self.native is None:
            known = evm_network(self.chain_id).native
            if known is None:
                raise ValueError(
                    f"chain_id {self.chain_id} is not known: give native: {{symbol, decimals}}"
                )
            object.__setattr__(
                self, "native", NativeAssetConfig(symbol=known[0], decimals=known[1])
            )
        native = self.native_asset
        keys = [
            ("native.symbol", native.symbol),
            *((f"native.aliases[{i}]", alias) for i, alias in enumerate(native.aliases)),
            *((f"tokens.{symbol}", symbol) for symbol in self.tokens),
        ]
        first: dict[str, str] = {}
        for key, symbol in keys:  # every symbol is upper case by now
            if symbol in first:
                raise ValueError(
                    f"{key}: {symbol} is already {first[symbol]} on this chain "
                    "(symbols ignore case)"
                )
            first[symbol] = key
        return self

    @property
    def native_asset(self) -> NativeAssetConfig:
        assert self.native is not None  # filled by the validator
        return self.native

    @property
    def confirmations_policy(self) -> int | None:
        return None if self.confirmations == "finalized" else int(self.confirmations)
