"""The shape of config.yaml (see config.example.yaml for every key).

Each chain family's own model (``type: bitcoin`` / ``litecoin``, ``type: evm``) lives in
its package under :mod:`daemon.families`, which validates ``chains:``.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)

from daemon.config.durations import parse_duration
from daemon.config.rates import RatesConfig
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


def _percent(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("must be a number from 0 to 100, e.g. 0 or 0.5")
    text = str(value)
    parse_percent_ppm(text)
    return text


ChainName = Annotated[str, AfterValidator(_check_chain_name)]
Symbol = Annotated[str, AfterValidator(_check_symbol)]

_LISTEN = re.compile(r"^(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")


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


def _check_public_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL, e.g. https://pay.example.com")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{value!r} must be scheme, host, port and path only")
    return value.rstrip("/")


def _check_network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or network (CIDR)") from None


class ApiConfig(Section):
    listen: ListenAddress = "127.0.0.1:8080"
    max_body_bytes: int = Field(default=65536, ge=1024, le=10 * 1024 * 1024)
    default_page_size: int = Field(default=50, ge=1, le=500)
    # Where customers reach the API (behind the merchant's TLS proxy): orders'
    # checkout_url is {public_url}/pay/{token}. Unset: http://{listen}.
    public_url: Annotated[str, AfterValidator(_check_public_url)] | None = None
    # Proxies whose X-Forwarded-For / Forwarded headers are believed (the client's
    # address for rate limits); from anyone else those headers are ignored.
    trusted_proxies: list[Annotated[str, AfterValidator(_check_network)]] = Field(
        default_factory=list
    )
    # The one header those proxies write (a client's own copy of the other would pass
    # through them untouched): X-Forwarded-For, or RFC 7239 Forwarded.
    forwarded_header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"
    # The checkout page's live updates: open event streams in all, per order, and new
    # streams a client address may open a minute.
    checkout_streams: int = Field(default=5000, ge=1, le=100_000)
    checkout_streams_per_order: int = Field(default=5, ge=1, le=100)
    checkout_streams_per_minute: int = Field(default=60, ge=1, le=100_000)

    @property
    def base_url(self) -> str:
        if self.public_url is not None:
            return self.public_url
        host, port = split_listen(self.listen)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"


class MetricsConfig(Section):
    listen: ListenAddress = "127.0.0.1:9108"
    enabled: bool = True


class OrdersConfig(Section):
    expires_in: Duration = timedelta(minutes=15)
    late_window: Duration = timedelta(hours=24)
    underpaid_tolerance_percent: Annotated[str, BeforeValidator(_percent)] = "0"
    gap_limit: int = Field(default=20, ge=1, le=100000)
    # When a multi-option order takes its addresses: at creation, or when the customer
    # (or the store, POST /v1/orders/{id}/pick) picks an option.
    addresses: Literal["eager", "lazy"] = "eager"

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


class ChainConfig(Protocol):
    """What the daemon reads of every chain's config, whatever its family. Each family
    (see :mod:`daemon.families`) has its own model(s), told apart by ``type:``."""

    @property
    def type(self) -> str: ...
    @property
    def start_height(self) -> int | None: ...
    @property
    def block_time(self) -> timedelta | None: ...
    @property
    def backend(self) -> BackendConfig: ...
    @property
    def confirmations_policy(self) -> int | None: ...
    @property
    def model_fields_set(self) -> set[str]: ...


def _registered_chains(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    """``chains:`` validated as the families registered now: each entry by the model its
    ``type:`` names (one discriminated union, built by the registry)."""
    # Imported here: the families import this module (their models extend its sections).
    from daemon.families.registry import validate_chains

    return validate_chains(value)


if TYPE_CHECKING:
    Chains = dict[str, ChainConfig]
else:
    Chains = Annotated[dict[str, Any], WrapValidator(_registered_chains)]


class Config(Section):
    database_url: str = "sqlite:///paywatch.db"
    api: ApiConfig = Field(default_factory=ApiConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    webhooks: WebhooksConfig = Field(default_factory=WebhooksConfig)
    orders: OrdersConfig = Field(default_factory=OrdersConfig)
    tatum: TatumConfig | None = None
    rates: RatesConfig | None = None  # none: no exchange rates fetched
    chains: Chains = Field(default_factory=dict)
    # How often each watched chain's credited transfers are read back from its node
    # (``paywatch reconcile`` as a job; off when unset).
    reconcile_interval: Duration | None = None
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


if TYPE_CHECKING:
    from daemon.families.bitcoin.config import BitcoinChainConfig as BitcoinChainConfig  # noqa: PLC0414
    from daemon.families.evm.config import EvmChainConfig as EvmChainConfig  # noqa: PLC0414


def __getattr__(name: str) -> object:
    """The two families' models under their old address (``daemon.config.schema``)."""
    if name == "BitcoinChainConfig":
        from daemon.families.bitcoin.config import BitcoinChainConfig

        return BitcoinChainConfig
    if name == "EvmChainConfig":
        from daemon.families.evm.config import EvmChainConfig

        return EvmChainConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
