"""The shape of config.yaml (see config.example.yaml for every key)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from daemon.config.durations import parse_duration
from daemon.config.tatum import TatumConfig
from daemon.config.webhooks import WebhooksConfig
from daemon.domain.money import parse_percent_ppm

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
_CHAIN_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_SYMBOL = re.compile(r"^[A-Za-z][A-Za-z0-9.]{0,15}$")


def _check_chain_name(value: str) -> str:
    if not _CHAIN_NAME.match(value):
        raise ValueError(
            f"chain name {value!r}: use up to 32 lowercase letters, digits, - or _, "
            "starting with a letter"
        )
    return value


def _check_symbol(value: str) -> str:
    """The symbol in its one canonical form, upper case: orders, transfers and events
    all carry it so, whatever case the config or a request wrote it in."""
    if not _SYMBOL.match(value):
        raise ValueError(f"{value!r} is not an asset symbol (letters and digits, e.g. USDC)")
    return value.upper()


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


def _percent(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("must be a number from 0 to 100, e.g. 0 or 0.5")
    text = str(value)
    parse_percent_ppm(text)
    return text


def _check_contract(value: str) -> str:
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", value):
        raise ValueError(f"{value[:50]!r} is not a contract address (0x and 40 hex digits)")
    return value


ChainName = Annotated[str, AfterValidator(_check_chain_name)]
Symbol = Annotated[str, AfterValidator(_check_symbol)]

_LISTEN = re.compile(r"^(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")
KNOWN_NATIVE = {
    1: ("ETH", 18),
    5: ("ETH", 18),
    17000: ("ETH", 18),
    11155111: ("ETH", 18),
    31337: ("ETH", 18),
    137: ("POL", 18),
    80002: ("POL", 18),
}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_listen(value: str) -> str:
    match = _LISTEN.match(value)
    if match is None or not 0 <= int(match.group("port")) <= 65535:
        raise ValueError(f"{value!r} is not HOST:PORT, e.g. 127.0.0.1:8080")
    return value


def split_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


ListenAddress = Annotated[str, AfterValidator(_check_listen)]


class ApiConfig(Section):
    listen: ListenAddress = "127.0.0.1:8080"
    max_body_bytes: int = Field(default=65536, ge=1024, le=10 * 1024 * 1024)
    default_page_size: int = Field(default=50, ge=1, le=500)


class MetricsConfig(Section):
    listen: ListenAddress = "127.0.0.1:9108"
    enabled: bool = True


class OrdersConfig(Section):
    expires_in: Duration = timedelta(minutes=15)
    late_window: Duration = timedelta(hours=24)
    underpaid_tolerance_percent: Annotated[str, BeforeValidator(_percent)] = "0"
    gap_limit: int = Field(default=20, ge=1, le=100000)

    @property
    def tolerance_ppm(self) -> int:
        return parse_percent_ppm(self.underpaid_tolerance_percent)


class BackendConfig(Section):
    kind: Literal["rpc", "tatum"] = "rpc"
    url: str | None = None
    urls: list[str] = Field(default_factory=list)
    ws_url: str | None = None
    cookie_file: str | None = None
    user: str | None = None
    password: SecretStr | None = None
    zmq: str | None = None
    poll_interval: Duration = timedelta(seconds=5)

    @property
    def endpoints(self) -> list[str]:
        return ([self.url] if self.url else []) + list(self.urls)


class NativeAssetConfig(Section):
    symbol: Symbol
    decimals: int = Field(default=18, ge=0, le=36)
    aliases: list[Symbol] = Field(default_factory=list)


class TokenConfig(Section):
    contract: Annotated[str, AfterValidator(_check_contract)]
    decimals: int = Field(ge=0, le=36)


class BitcoinChainConfig(Section):
    type: Literal["bitcoin", "litecoin"]
    network: Literal["mainnet", "testnet", "signet", "regtest"] = "mainnet"
    xpub: str | None = None
    descriptor: str | None = None
    address_type: Literal["p2pkh", "p2sh-p2wpkh", "p2wpkh", "p2tr"] | None = None
    confirmations: int = Field(default=1, ge=0, le=1000)
    start_height: int | None = Field(default=None, ge=0)
    # Seconds between blocks (how soon a head that stands still is stale); default: a
    # table of known chains, else measured from the heads seen.
    block_time: Duration | None = None
    backend: BackendConfig = Field(default_factory=BackendConfig)

    @model_validator(mode="after")
    def _one_key(self) -> BitcoinChainConfig:
        if (self.xpub is None) == (self.descriptor is None):
            raise ValueError("give exactly one of xpub or descriptor")
        if self.type == "litecoin" and self.network == "signet":
            raise ValueError("litecoin has no signet; use mainnet, testnet or regtest")
        return self

    @property
    def symbol(self) -> str:
        return "BTC" if self.type == "bitcoin" else "LTC"

    @property
    def confirmations_policy(self) -> int | None:
        return self.confirmations


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
            known = KNOWN_NATIVE.get(self.chain_id)
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


ChainConfig = Annotated[BitcoinChainConfig | EvmChainConfig, Field(discriminator="type")]


class Config(Section):
    database_url: str = "sqlite:///paywatch.db"
    api: ApiConfig = Field(default_factory=ApiConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    webhooks: WebhooksConfig = Field(default_factory=WebhooksConfig)
    orders: OrdersConfig = Field(default_factory=OrdersConfig)
    tatum: TatumConfig | None = None
    chains: dict[ChainName, ChainConfig] = Field(default_factory=dict)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "text"] = "auto"

    @field_validator("database_url")
    @classmethod
    def _db(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
            raise ValueError("must be sqlite:///PATH or postgresql+psycopg://USER:PW@HOST/DB")
        return value

    @model_validator(mode="after")
    def _tatum_needed(self) -> Config:
        for name, chain in self.chains.items():
            if chain.backend.kind == "tatum" and self.tatum is None:
                raise ValueError(
                    f"chains.{name}.backend.kind is tatum but there is no tatum: section"
                )
        return self
