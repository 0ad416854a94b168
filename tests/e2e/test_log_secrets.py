"""`paywatch run` at debug level, with every kind of secret in its config (from the
environment, as systemd's EnvironmentFile gives them), driven down the paths that log
the most: failing nodes whose URLs carry credentials, a store that refuses webhooks,
requests with good, wrong and malformed API keys, bad input. No secret, API key or
webhook secret appears in any log line, and every line is one JSON object."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import Installation
from tests.support.keys import BTC_ZPUB, ETH_XPUB
from tests.support.postgres import free_port
from tests.support.receiver import Answer, webhook_receiver

WEBHOOK_SECRET = "whsec_" + "c2VjcmV0IHRoYXQgbXVzdCBuZXZlciBiZSBsb2dnZWQh"
SECRETS = {
    "PAYWATCH_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "TATUM_API_KEY": "t-6789abcdef0123456789abcd",
    "TATUM_HMAC_SECRET": "hmac-never-in-the-logs-42",
    "BTC_RPC_PASSWORD": "rpc-password-never-logged",
    "ETH_URL_PASSWORD": "url-password-never-logged",
    "ETH_URL_TOKEN": "0123456789abcdef0123456789abcdef",
}


def config(db: Path, port: int, store: str, dead: int) -> str:
    return f"""
database_url: sqlite:///{db}
api: {{listen: "127.0.0.1:{port}"}}
log_level: debug
webhooks:
  url: {store}
  secret: ${{PAYWATCH_WEBHOOK_SECRET}}
  allow_private_targets: true
  timeout: 2s
tatum:
  api_key: ${{TATUM_API_KEY}}
  hmac_secret: ${{TATUM_HMAC_SECRET}}
chains:
  btc:
    type: bitcoin
    network: mainnet
    xpub: {BTC_ZPUB}
    backend: {{kind: rpc, url: "http://127.0.0.1:{dead}", user: paywatch,
               password: "${{BTC_RPC_PASSWORD}}", poll_interval: 1s}}
  eth:
    type: evm
    chain_id: 1
    xpub: {ETH_XPUB}
    native: {{symbol: ETH, decimals: 18}}
    backend:
      kind: rpc
      urls: ["http://rpc:${{ETH_URL_PASSWORD}}@127.0.0.1:{dead}/v3/${{ETH_URL_TOKEN}}"]
      poll_interval: 1s
"""


def test_no_secret_reaches_a_log_line(tmp_path: Path) -> None:
    inst = Installation(tmp_path, free_port())
    refused = {"n": 0}

    def refuse(n: int, request: object) -> Answer:
        refused["n"] = n
        return Answer(500, body=b"try later")

    with webhook_receiver(WEBHOOK_SECRET, refuse) as store:
        inst.config.write_text(config(tmp_path / "p.db", inst.port, store.url, free_port()))
        os.environ.update(SECRETS)
        try:
            with inst.running() as client:
                key = client.headers["Authorization"].removeprefix("Bearer ")
                order = {"order_id": "S-1", "chain": "eth", "asset": "ETH", "amount": "0.1"}
                assert client.post("/v1/orders", json=order).status_code == 201
                assert client.post("/v1/orders", json={**order, "amount": "-1"}).status_code == 422
                for wrong in (key[:-4] + "AAAA", "pw_key_0123456789abcdef_" + "x" * 43, "junk"):
                    answer = httpx.get(
                        f"{inst.base_url}/v1/orders",
                        headers={"Authorization": f"Bearer {wrong}"},
                    )
                    assert answer.status_code == 401
                deadline = time.monotonic() + 30
                while refused["n"] < 1 and time.monotonic() < deadline:
                    time.sleep(0.1)  # the store refuses the webhook: logged, retried later
                time.sleep(2.5)  # both dead nodes fail and are retried at least once
                inst.processes[-1].send_signal(signal.SIGTERM)
                assert inst.processes[-1].wait(10) == 0
        finally:
            for name in SECRETS:
                os.environ.pop(name, None)
            inst.stop_all()
    assert refused["n"] >= 1
    log = inst.log()
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert lines, "the daemon logged nothing"
    assert {"ts", "level", "logger", "msg"} <= set(lines[0])
    assert any(line["level"] == "warning" for line in lines)
    text = " ".join(json.dumps(line) for line in lines)
    assert "127.0.0.1" in text  # the failing nodes were logged, by address
    for secret in [*SECRETS.values(), WEBHOOK_SECRET.removeprefix("whsec_"), key]:
        assert secret not in log, f"a secret reached the log: {secret[:4]}…"
    assert "pw_key_" not in log
