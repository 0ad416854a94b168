"""`paywatch run` delivering webhooks: killed mid-delivery and restarted, the event still
arrives with the same webhook-id; the CLI shows the log and redelivers."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import httpx

from tests.e2e.conftest import Installation
from tests.integration.webhooks.conftest import SECRET, webhooks_yaml
from tests.support.configs import config_yaml
from tests.support.receiver import Answer, Received, webhook_receiver


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def test_killed_mid_delivery_the_event_still_arrives_with_the_same_id(
    installation: Installation,
) -> None:
    first_seen = threading.Event()

    def hang_first(n: int, request: Received) -> Answer:
        if n == 1:
            first_seen.set()
            return Answer(200, delay=60)  # the daemon dies while this one waits
        return Answer(200)

    with webhook_receiver(SECRET, hang_first) as store:
        installation.config.write_text(
            config_yaml(
                f"sqlite:///{installation.workdir / 'paywatch.db'}",
                listen=f"127.0.0.1:{installation.port}",
                extra=webhooks_yaml(store.url, timeout="30s", poll_interval="1s"),
            )
        )
        installation.cli("db", "upgrade")
        key = installation.cli_json("apikey", "create")["key"]
        proc = installation.start()
        headers = {"Authorization": f"Bearer {key}"}
        order = {"order_id": "K-1", "chain": "btc", "asset": "BTC", "amount": "0.01"}
        made = httpx.post(f"{installation.base_url}/v1/orders", json=order, headers=headers)
        assert made.status_code == 201
        assert first_seen.wait(30), "the daemon never sent the webhook"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL

        proc = installation.start()
        wait_for(lambda: len(store.received) >= 2 and store.completed >= 1, "the resend")
        first, second = store.received[:2]
        assert first.webhook_id == second.webhook_id
        assert first.body == second.body
        assert first.verified == second.verified == (True,)
        delivery = first.webhook_id

        def delivered() -> bool:
            listed = httpx.get(
                f"{installation.base_url}/v1/webhooks/deliveries",
                params={"order_id": "K-1"},
                headers=headers,
            ).json()
            return bool(listed["data"]) and listed["data"][0]["status"] == "delivered"

        wait_for(delivered, "the delivery to be recorded")
        shown = installation.cli_json("webhook", "show", delivery)
        assert shown["order"] == made.json()["id"]
        assert [(a["status_code"], a["error"]) for a in shown["attempts"]] == [
            (None, "interrupted: the daemon stopped during this attempt"),
            (200, None),
        ]
        assert installation.cli_json("webhook", "list", "--failed")["data"] == []
        table = installation.cli("webhook", "list", "--order", "K-1").stdout
        assert delivery in table
        assert "delivered" in table

        # Redelivery from the CLI: the running daemon sends it again, same webhook-id.
        assert "queued" in installation.cli("webhook", "redeliver", delivery).stdout
        wait_for(lambda: store.ids().count(delivery) == 3, "the redelivery")
        missing = installation.cli("webhook", "show", "msg_nope", check=False)
        assert missing.returncode == 1
        assert "no webhook delivery" in missing.stderr

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    log = installation.log()
    assert "webhook" in log
    assert SECRET.removeprefix("whsec_") not in log  # the secret never reaches a log
