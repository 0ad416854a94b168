"""The checkout page's config keys: refused with the key named, defaults that work."""

from __future__ import annotations

import pytest

from daemon.config.loading import ConfigError, parse_config
from tests.support.configs import config_yaml


@pytest.mark.parametrize(
    ("api", "named"),
    [
        ("public_url: ftp://pay.example.com", "api.public_url: 'ftp://pay.example.com' is not"),
        ('public_url: "https://pay.example.com/?a=1"', "api.public_url:"),
        ("public_url: https://user:pw@pay.example.com", "api.public_url:"),
        ("trusted_proxies: [10.0.0.300/8]", "api.trusted_proxies.0: '10.0.0.300/8' is not"),
        ("checkout_streams: 0", "api.checkout_streams:"),
        ("checkout_streams_per_order: 1000", "api.checkout_streams_per_order:"),
        ("checkout_streams_per_minute: -1", "api.checkout_streams_per_minute:"),
    ],
)
def test_a_bad_checkout_key_is_named(api: str, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(config_yaml("sqlite://", api=api))
    assert named in str(caught.value)


def test_public_url_defaults_to_the_listen_address_and_loses_a_trailing_slash() -> None:
    plain = parse_config(config_yaml("sqlite://", listen="127.0.0.1:8080"))
    assert plain.api.base_url == "http://127.0.0.1:8080"
    v6 = parse_config(config_yaml("sqlite://", listen="[::1]:8080"))
    assert v6.api.base_url == "http://[::1]:8080"
    prefixed = parse_config(
        config_yaml("sqlite://", api="public_url: https://shop.example/paywatch/")
    )
    assert prefixed.api.base_url == "https://shop.example/paywatch"
    proxies = parse_config(config_yaml("sqlite://", api="trusted_proxies: [10.1.2.3/8, '::1']"))
    assert proxies.api.trusted_proxies == ["10.0.0.0/8", "::1/128"]
