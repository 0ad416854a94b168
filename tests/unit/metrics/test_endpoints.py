"""The endpoint label: scheme, host and port of a node's URL, and nothing that logs in."""

from __future__ import annotations

import pytest

from daemon.metrics.endpoints import endpoint_label


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("http://127.0.0.1:8545/", "http://127.0.0.1:8545"),
        (
            "https://ethereum-mainnet.gateway.tatum.io",
            "https://ethereum-mainnet.gateway.tatum.io:443",
        ),
        ("http://node.lan", "http://node.lan:80"),
        ("HTTPS://Node.Example.COM:8443/rpc", "https://node.example.com:8443"),
        ("http://[::1]:8332", "http://[::1]:8332"),
        ("ws://127.0.0.1:8546", "ws://127.0.0.1:8546"),
        (" http://127.0.0.1:18443 ", "http://127.0.0.1:18443"),
    ],
)
def test_keeps_scheme_host_and_port(url: str, label: str) -> None:
    assert endpoint_label(url) == label


@pytest.mark.parametrize(
    "url",
    [
        "http://rpcuser:hunter2secret@127.0.0.1:8332",
        "https://mainnet.infura.io/v3/hunter2secret",
        "https://eth-mainnet.g.alchemy.com/v2/hunter2secret?x=1",
        "https://node.example/?apikey=hunter2secret",
        "https://node.example/rpc#hunter2secret",
        "https://:hunter2secret@node.example",
        "https://hunter2secret@node.example",
    ],
)
def test_never_keeps_credentials_paths_or_queries(url: str) -> None:
    label = endpoint_label(url)
    assert "hunter2secret" not in label
    assert label.count("/") == 2  # scheme:// and nothing after the host
    assert "@" not in label
    assert "?" not in label
    assert "#" not in label


@pytest.mark.parametrize(
    "url", ["", "127.0.0.1:8545", "not a url", "http://", "http://host:99999", "http://[::1"]
)
def test_unreadable_urls_are_invalid(url: str) -> None:
    assert endpoint_label(url) == "invalid"
