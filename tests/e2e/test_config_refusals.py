"""`paywatch config check` refuses every config `paywatch run` refuses, with the same
message naming the key; `run` says so and exits 1, never with a traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import PAYWATCH
from tests.support.keys import BTC_REGTEST_VPUB, ETH_XPUB, USDC_CONTRACT

TATUM = "tatum: {api_key: key-123}\n"
EVM = f"type: evm, chain_id: 1, xpub: {ETH_XPUB}"
LTC = f"type: litecoin, network: regtest, xpub: {BTC_REGTEST_VPUB}"

# (what is wrong, the chains (and other sections) of the config, what both commands say)
BAD_CONFIGS = [
    (
        "zmq on an EVM chain",
        f'chains: {{eth: {{{EVM}, backend: {{url: "http://127.0.0.1:9", zmq: "tcp://127.0.0.1:1"}}}}}}',
        "chains.eth.backend.zmq: not used by EVM chains",
    ),
    (
        "zmq on an EVM chain without a URL (left unwatched, still wrong)",
        f'chains: {{eth: {{{EVM}, backend: {{zmq: "tcp://127.0.0.1:1"}}}}}}',
        "chains.eth.backend.zmq: not used by EVM chains",
    ),
    (
        "a cookie file on an EVM chain",
        f'chains: {{eth: {{{EVM}, backend: {{url: "http://127.0.0.1:9", cookie_file: /x}}}}}}',
        "chains.eth.backend.cookie_file: not used by EVM chains",
    ),
    (
        "an EVM password without a user",
        f'chains: {{eth: {{{EVM}, backend: {{url: "http://127.0.0.1:9", password: pw}}}}}}',
        "chains.eth.backend.password: given without user",
    ),
    (
        "a ws_url that is not ws://",
        f'chains: {{eth: {{{EVM}, backend: {{url: "http://127.0.0.1:9", ws_url: "http://x"}}}}}}',
        "chains.eth.backend.ws_url: a ws:// or wss:// URL is needed",
    ),
    (
        "an EVM URL that is not http",
        f'chains: {{eth: {{{EVM}, backend: {{urls: ["ftp://127.0.0.1:9"]}}}}}}',
        "chains.eth.backend.urls[0]: an http(s) URL is needed",
    ),
    (
        "a bad xpub",
        "chains: {eth: {type: evm, chain_id: 1, xpub: xpubNOTAKEY}}",
        "chains.eth.xpub:",
    ),
    (
        "a bad descriptor",
        'chains: {btc: {type: bitcoin, descriptor: "wpkh(nonsense/0/*)"}}',
        "chains.btc.descriptor:",
    ),
    (
        "a Bitcoin node with both a cookie file and a user",
        f"chains: {{ltc: {{{LTC}, backend: {{cookie_file: /x, user: u, password: p}}}}}}",
        "chains.ltc.backend: give user and password, or cookie_file, not both",
    ),
    (
        "a ZMQ address that is not one",
        f'chains: {{ltc: {{{LTC}, backend: {{zmq: "127.0.0.1:28332"}}}}}}',
        "chains.ltc.backend.zmq:",
    ),
    (
        "a node-only key with Tatum",
        TATUM + f"chains: {{eth: {{{EVM}, backend: {{kind: tatum, user: u}}}}}}",
        "chains.eth.backend.user: not used with Tatum",
    ),
    (
        "zmq with Tatum",
        TATUM + f'chains: {{eth: {{{EVM}, backend: {{kind: tatum, zmq: "tcp://x:1"}}}}}}',
        "chains.eth.backend.zmq: not used with Tatum",
    ),
    (
        "Tatum for a network it has no gateway for",
        TATUM + f"chains: {{ltc: {{{LTC}, backend: {{kind: tatum}}}}}}",
        "chains.ltc.backend.url: Tatum has no gateway for litecoin regtest",
    ),
    (
        "Tatum for an EVM chain id it does not know",
        TATUM + f"chains: {{dev: {{type: evm, chain_id: 31337, xpub: {ETH_XPUB},"
        " backend: {kind: tatum}}}",
        "chains.dev.backend.url: Tatum has no gateway for chain id 31337",
    ),
    (
        "Tatum without a tatum: section",
        f"chains: {{eth: {{{EVM}, backend: {{kind: tatum}}}}}}",
        "no tatum: section",
    ),
    (
        "a webhook secret that is not whsec_",
        "webhooks: {secret: hunter2}",
        "webhooks.secret: must start with whsec_",
    ),
    (
        "token symbols differing only in case",
        f"chains: {{eth: {{{EVM}, tokens: {{usdc: {{contract: '{USDC_CONTRACT}', decimals: 6}},"
        f" USDC: {{contract: '{USDC_CONTRACT}', decimals: 6}}}}}}}}",
        "chains.eth.tokens: 'usdc' and 'USDC' are the same symbol",
    ),
    (
        "a database URL with a port that is not a number",
        "DATABASE: postgresql+psycopg://u:pw@127.0.0.1:notaport/paywatch",
        "database_url: cannot be used",
    ),
    (
        "an SQLite database in a folder that does not exist",
        "DATABASE: sqlite:////nonexistent-paywatch-folder/paywatch.db",
        "database_url: the folder /nonexistent-paywatch-folder does not exist",
    ),
]


def config_text(workdir: Path, body: str) -> str:
    database = f"sqlite:///{workdir / 'paywatch.db'}"
    if body.startswith("DATABASE: "):
        database, body = body.removeprefix("DATABASE: "), ""
    return (
        f"database_url: {database}\n"
        'api: {listen: "127.0.0.1:0"}\n'
        "metrics: {enabled: false}\n"
        f"{body}\n"
    )


def paywatch(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [PAYWATCH, "--config", str(config), *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
            env={"PATH": "/usr/bin:/bin", "PAYWATCH_WEBHOOK_SECRET": ""},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"paywatch {' '.join(args)} started with a config it should refuse")


@pytest.mark.parametrize(
    ("body", "message"),
    [pytest.param(body, message, id=why) for why, body, message in BAD_CONFIGS],
)
def test_config_check_and_run_refuse_alike(tmp_path: Path, body: str, message: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(config_text(tmp_path, body))
    check = paywatch(config, "config", "check")
    run = paywatch(config, "run")
    for command, result in (("config check", check), ("run", run)):
        output = result.stdout + result.stderr
        assert result.returncode == 1, (command, result.returncode, output)
        assert message in result.stderr, (command, output)
        assert "Traceback" not in output, (command, output)
        assert "OK" not in result.stdout, (command, output)
    assert check.stderr == run.stderr  # the very same words from both
    assert "pw@" not in check.stderr + run.stderr  # nor a password from the database URL


def test_a_good_config_passes_both(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        config_text(tmp_path, f'chains: {{eth: {{{EVM}, backend: {{url: "http://127.0.0.1:9"}}}}}}')
    )
    check = paywatch(config, "config", "check")
    assert check.returncode == 0, check.stderr
    assert "OK" in check.stdout
