"""Configuration: YAML in, validated once, immutable afterwards."""

from typing import TYPE_CHECKING

from daemon.config.loading import ConfigError, load_config, parse_config
from daemon.config.schema import ChainConfig, Config

if TYPE_CHECKING:
    from daemon.families.bitcoin.config import BitcoinChainConfig
    from daemon.families.evm.config import EvmChainConfig

__all__ = [
    "BitcoinChainConfig",
    "ChainConfig",
    "Config",
    "ConfigError",
    "EvmChainConfig",
    "load_config",
    "parse_config",
]


def __getattr__(name: str) -> object:
    # The families' models live in their packages (daemon.families), which import this
    # one: looked up when asked for, not at import.
    if name in ("BitcoinChainConfig", "EvmChainConfig"):
        from daemon.config import schema

        return getattr(schema, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
