"""Config: env interpolation, defaults, and errors that name the key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from daemon.config import ConfigError, load_config, parse_config
from daemon.config.durations import parse_duration
from daemon.config.schema import BitcoinChainConfig, EvmChainConfig

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as failure:
        parse_config(text, env=env or {})
    return failure.value.problems


def test_empty_config_takes_the_embedded_defaults() -> None:
    config = parse_config("", env={})
    assert config.database_url == "sqlite:///paywatch.db"
    assert config.api.listen == "127.0.0.1:8080"
    assert config.metrics.listen == "127.0.0.1:9108"
    assert config.orders.expires_in == timedelta(minutes=15)
    assert config.orders.late_window == timedelta(hours=24)
    assert config.orders.tolerance_ppm == 0
    assert config.webhooks.allow_private_targets is False
    assert config.chains == {}


def test_env_interpolation() -> None:
    config = parse_config(
        "webhooks: {secret: '${HOOK}', url: 'https://${HOST:-shop.example}/hooks'}",
        env={"HOOK": SECRET},
    )
    assert config.webhooks.secret is not None
    assert config.webhooks.secret.get_secret_value() == SECRET
    assert config.webhooks.url == "https://shop.example/hooks"
    assert SECRET not in repr(config)  # secrets do not leak through repr or logs
    assert problems("webhooks: {secret: '${NOT_SET}'}") == [
        "webhooks.secret: environment variable NOT_SET is not set"
    ]


def test_chains_of_each_kind() -> None:
    config = parse_config(
        """
chains:
  btc: {type: bitcoin, xpub: zpubX, confirmations: 3}
  ltc: {type: litecoin, network: regtest, descriptor: "wpkh(x)"}
  eth: {type: evm, chain_id: 1, xpub: xpubX, confirmations: finalized,
        tokens: {USDC: {contract: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", decimals: 6}}}
  polygon: {type: evm, chain_id: 137, xpub: xpubX}
""",
        env={},
    )
    btc, ltc, eth, polygon = (config.chains[n] for n in ("btc", "ltc", "eth", "polygon"))
    assert isinstance(btc, BitcoinChainConfig)
    assert btc.symbol == "BTC"
    assert btc.confirmations == 3
    assert isinstance(ltc, BitcoinChainConfig)
    assert ltc.symbol == "LTC"
    assert ltc.network == "regtest"
    assert isinstance(eth, EvmChainConfig)
    assert eth.confirmations_policy is None
    assert isinstance(polygon, EvmChainConfig)
    assert polygon.native_asset.symbol == "POL"
    assert polygon.confirmations_policy == 12


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("databse_url: x", "databse_url: unknown key"),
        ("database_url: mysql://x", "database_url: must be sqlite"),
        ("api: {listen: 8080}", "api.listen"),
        ("orders: {expires_in: soon}", "orders.expires_in: 'soon' is not a duration"),
        ("orders: {underpaid_tolerance_percent: 150}", "orders.underpaid_tolerance_percent"),
        ("webhooks: {secret: hunter2}", "webhooks.secret: must start with whsec_"),
        ("webhooks: {secret: whsec_AAAA}", "webhooks.secret: decodes to 3 bytes"),
        ("chains: {btc: {xpub: x}}", "chains.btc.type: is required"),
        ("chains: {btc: {type: dogecoin}}", "chains.btc.type: must be one of"),
        ("chains: {btc: {type: bitcoin}}", "chains.btc: give exactly one of xpub or descriptor"),
        ("chains: {btc: {type: bitcoin, xpub: a, descriptor: b}}", "exactly one"),
        ("chains: {btc: {type: bitcoin, xpub: a, network: moon}}", "chains.btc.network"),
        ("chains: {ltc: {type: litecoin, xpub: a, network: signet}}", "litecoin has no signet"),
        ("chains: {btc: {type: bitcoin, xpub: a, confirmations: -1}}", "chains.btc.confirmations"),
        ("chains: {eth: {type: evm, xpub: a}}", "chains.eth.chain_id: is required"),
        ("chains: {eth: {type: evm, chain_id: 99999, xpub: a}}", "chains.eth: chain_id 99999"),
        (
            "chains: {eth: {type: evm, chain_id: 1, xpub: a, confirmations: soon}}",
            "chains.eth.confirmations: must be a depth",
        ),
        (
            "chains: {eth: {type: evm, chain_id: 1, xpub: a,"
            " tokens: {USDC: {contract: '0x12', decimals: 6}}}}",
            "chains.eth.tokens.USDC.contract",
        ),
        (
            "chains: {eth: {type: evm, chain_id: 1, xpub: a, tokens: {ETH: {contract:"
            " '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48', decimals: 6}}}}",
            "chains.eth: tokens.ETH: ETH is already native.symbol on this chain",
        ),
        ("chains: {Eth: {type: evm, chain_id: 1, xpub: a}}", "chains.Eth: chain name"),
        (
            "chains: {eth: {type: evm, chain_id: 1, xpub: a, backend: {kind: tatum}}}",
            "no tatum: section",
        ),
        (
            "chains: {eth: {type: evm, chain_id: 1, xpub: a, backend: {kind: carrier-pigeon}}}",
            "chains.eth.backend.kind",
        ),
        ("- a list", "top level must be a mapping"),
        ("a: [unclosed", "not valid YAML"),
    ],
)
def test_errors_name_the_key(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in p for p in found), found


def test_every_problem_is_reported_at_once() -> None:
    found = problems("api: {listen: x}\norders: {expires_in: y}\nbogus: 1")
    assert len(found) == 3


def test_load_config_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as failure:
        load_config(tmp_path / "missing.yaml")
    assert "missing.yaml" in failure.value.render()
    assert "not found" in failure.value.render()
    path = tmp_path / "config.yaml"
    path.write_text("orders: {expires_in: 30m}\n")
    assert load_config(path, env={}).orders.expires_in == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("24h", 86400),
        ("1h30m", 5400),
        ("3d", 259200),
        (60, 60),
        ("60", 60),
    ],
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "0", "-5m", "m", "15x", "15m5", True, 1.5, "99999w"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the messages are checked above
        parse_duration(text)
