"""Configuration: YAML in, validated once, immutable afterwards."""

from daemon.config.loading import ConfigError, load_config, parse_config
from daemon.config.schema import BitcoinChainConfig, ChainConfig, Config, EvmChainConfig

__all__ = [
    "BitcoinChainConfig",
    "ChainConfig",
    "Config",
    "ConfigError",
    "EvmChainConfig",
    "load_config",
    "parse_config",
]
