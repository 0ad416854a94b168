"""The daemon under torture: `paywatch run` as a process that the scenario kills with
SIGKILL at random moments and starts again, its API, its CLI, and the wait for
quiescence (every chain processed to the node's tip, order views stable, outbox empty).
"""

from __future__ import annotations

import random
import signal
import threading
import time
import uuid
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.e2e.conftest import Installation
from tests.torture.verdict import parse_time

Height = Callable[[], int]


class Daemon:
    def __init__(self, inst: Installation, seed: int) -> None:
        self.inst = inst
        self.seed = seed
        self.key = ""
        self.kills = 0
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()  # a scheduled kill waits for a start to finish

    # -- process ------------------------------------------------------------------------
    def prepare(self) -> None:
        """Migrate and make an API key (the daemon may be stopped)."""
        self.inst.cli("db", "upgrade")
        self.key = self.inst.cli_json("apikey", "create")["key"]

    def running(self) -> bool:
        return bool(self.inst.processes) and self.inst.processes[-1].poll() is None

    def start(self) -> None:
        with self._lock:
            if not self.running():
                self.inst.start()

    def kill(self) -> None:
        """SIGKILL now (if running)."""
        with self._lock:
            if self.running():
                proc = self.inst.processes[-1]
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                self.kills += 1

    def kill_later(self, rng: random.Random, most: float) -> None:
        """SIGKILL at a random moment within ``most`` seconds, while the scenario goes on."""
        self.cancel_kill()
        self._timer = threading.Timer(rng.uniform(0, most), self.kill)
        self._timer.start()

    def cancel_kill(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer.join()
            self._timer = None

    def log_tail(self) -> str:
        return self.inst.log()[-4000:]

    # -- API and CLI --------------------------------------------------------------------
    def client(self) -> httpx.Client:
        auth = {"Authorization": f"Bearer {self.key}"}
        return httpx.Client(base_url=self.inst.base_url, headers=auth, timeout=20)

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/orders. A scheduled kill may have stopped the daemon, or land during
        the request (created or not, unknown): start it and ask again under the same
        Idempotency-Key, which answers with the order if the first request made it."""
        headers = {"Idempotency-Key": f"torture-{uuid.uuid4().hex}"}
        for _ in range(5):
            self.start()
            try:
                with self.client() as client:
                    answer = client.post("/v1/orders", json=body, headers=headers)
            except httpx.TransportError:
                continue
            assert answer.status_code in (200, 201), (
                f"seed {self.seed}: create {body}: {answer.text}"
            )
            made: dict[str, Any] = answer.json()
            return made
        raise AssertionError(f"seed {self.seed}: create {body}: the daemon kept going away")

    def create_offline(self, body: dict[str, Any]) -> dict[str, Any]:
        """`paywatch order create` (works while the daemon is down)."""
        args = ["order", "create", "--chain", body["chain"], "--asset", body["asset"]]
        args += ["--amount", body["amount"], "--order-id", body["order_id"]]
        if "confirmations" in body:
            args += ["--confirmations", str(body["confirmations"])]
        if "expires_in" in body:
            args += ["--expires-in", f"{int(body['expires_in'])}s"]
        made: dict[str, Any] = self.inst.cli_json(*args)
        return made

    def cancel(self, order_id: str) -> int:
        with self.client() as client:
            return client.post(f"/v1/orders/{order_id}/cancel").status_code

    def views(self, order_ids: Collection[str]) -> dict[str, dict[str, Any]]:
        with self.client() as client:
            found = {}
            for order_id in order_ids:
                answer = client.get(f"/v1/orders/{order_id}")
                assert answer.status_code == 200, answer.text
                found[order_id] = answer.json()
        return found

    def outbox_empty(self) -> bool:
        with self.client() as client:
            for status in ("pending", "retrying"):
                listed = client.get("/v1/webhooks/deliveries", params={"status": status})
                assert listed.status_code == 200, listed.text
                if listed.json()["data"]:
                    return False
        return True

    def processed(self) -> dict[str, int]:
        rows = self.inst.cli_json("chain", "status")
        return {row["chain"]: int(row["processed"] or -1) for row in rows}

    def rescan(self, chain: str, back: int) -> None:
        """`paywatch chain rescan` of the last ``back`` processed blocks (asked again if
        a reorg moved the processed height down meanwhile)."""
        for _ in range(5):
            processed = self.processed().get(chain, -1)
            if processed < 0:
                return  # nothing processed yet: nothing to rescan
            first = str(max(0, processed - back))
            result = self.inst.cli("chain", "rescan", chain, "--from", first, check=False)
            if result.returncode == 0:
                return
            assert "choose a height" in result.stderr, f"seed {self.seed}: {result.stderr}"
        raise AssertionError(f"seed {self.seed}: rescan of {chain} kept missing its range")

    # -- quiescence ---------------------------------------------------------------------
    def quiesce(
        self, order_ids: Collection[str], tips: dict[str, Height], seconds: float = 180
    ) -> dict[str, dict[str, Any]]:
        """Wait until each chain is processed to its node's tip, the orders' views stay
        the same for a few seconds and the outbox is empty; the views then."""
        self.cancel_kill()
        self.start()
        deadline = time.monotonic() + seconds
        last: dict[str, dict[str, Any]] = {}
        stable_since = time.monotonic()
        while time.monotonic() < deadline:
            processed = self.processed()
            caught_up = all(processed.get(c, -1) >= tip() for c, tip in tips.items())
            views = self.views(order_ids)
            if views != last:
                last, stable_since = views, time.monotonic()
            elif (
                caught_up
                and time.monotonic() - stable_since > 4
                and not _deadline_just_passed(views)
                and self.outbox_empty()
            ):
                return views
            time.sleep(0.5)
        raise AssertionError(
            f"seed {self.seed}: no quiescence within {seconds:.0f}s (processed "
            f"{self.processed()}, tips { {c: t() for c, t in tips.items()} }, outbox empty "
            f"{self.outbox_empty()})\n{self.log_tail()}"
        )


# The expiry job runs every 5 s: an order whose expiry or late window ended a moment ago
# may not have been looked at yet, however stable its view.
JOB_SLACK = timedelta(seconds=8)


def _deadline_just_passed(views: dict[str, dict[str, Any]]) -> bool:
    now = datetime.now(UTC)
    for view in views.values():
        for key in ("expires_at", "late_until"):
            moment = view.get(key)
            if moment and now - JOB_SLACK < parse_time(moment) <= now:
                return True
    return False
