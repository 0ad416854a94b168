"""The Tatum stand-in's Notifications v4: the subscription API, and signed, retried delivery.

``/v4/subscription`` creates (POST), lists (GET), deletes (DELETE ``/{id}``) subscriptions and
sets the API key's HMAC secret (PUT), with Tatum's bodies and error bodies. The chain pollers
ask :meth:`Notifications.watches` whether an address is subscribed and hand payments to
:meth:`Notifications.notify`, which POSTs them to every matching subscription's URL: compact
JSON, ``x-payload-hash`` = base64(HMAC-SHA512(secret, body)) once a secret is set, retried on
a non-2xx answer or no answer up to ``attempts`` in total. Every attempt is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from aiohttp import web

from tests.support.tatum_notifier import Gateway

TYPES = ("ADDRESS_EVENT", "INCOMING_NATIVE_TX", "INCOMING_FUNGIBLE_TX")
CHAINS = ("ETH", "MATIC", "BTC", "LTC")
EVM_CHAINS = ("ETH", "MATIC")


@dataclass(frozen=True)
class Subscription:
    id: str
    type: str
    address: str
    chain: str
    url: str
    testnet: bool  # created with ?type=testnet


@dataclass(frozen=True)
class Sent:
    """One notification: what was POSTed where, and each attempt's status (None: no answer)."""

    url: str
    body: bytes
    headers: dict[str, str]
    attempts: tuple[int | None, ...] = ()
    done: bool = False  # delivered, or out of attempts

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @property
    def delivered(self) -> bool:
        last = self.attempts[-1] if self.attempts else None
        return last is not None and 200 <= last < 300


def error(status: int, code: str, message: str, **headers: str) -> web.Response:
    body = {"statusCode": status, "errorCode": code, "message": message}
    return web.json_response(body, status=status, headers=headers)


def unauthorized() -> web.Response:
    message = (
        "Authentication required. Make sure your requests are authenticated with a Tatum API key."
    )
    return error(401, "ip-address-key.unauthorized", message)


def _same_address(chain: str, a: str, b: str) -> bool:
    return a.lower() == b.lower() if chain in EVM_CHAINS else a == b


class Notifications:
    def __init__(self, api_key: str, *, attempts: int = 3, retry_delay: float = 0.2) -> None:
        self.api_key = api_key
        self.attempts, self.retry_delay = attempts, retry_delay
        self.hmac_secret: str | None = None
        self.lock = threading.Lock()
        self._subscriptions: dict[str, Subscription] = {}
        self._sent: list[Sent] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession

    def install(self, app: web.Application, session: aiohttp.ClientSession) -> None:
        self._session = session
        app.router.add_post("/v4/subscription", self._create)
        app.router.add_get("/v4/subscription", self._list)
        app.router.add_put("/v4/subscription", self._set_hmac)
        app.router.add_delete("/v4/subscription/{id}", self._delete)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def authorized(self, request: web.Request) -> bool:
        return hmac.compare_digest(request.headers.get("x-api-key", ""), self.api_key)

    @property
    def subscriptions(self) -> list[Subscription]:
        with self.lock:
            return list(self._subscriptions.values())

    @property
    def sent(self) -> list[Sent]:
        with self.lock:
            return list(self._sent)

    # -- the v4 API -----------------------------------------------------------------------------
    async def _create(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return unauthorized()
        try:
            data = await request.json()
            kind, attr = data["type"], data["attr"]
            address, chain, url = str(attr["address"]), str(attr["chain"]), str(attr["url"])
        except (ValueError, KeyError, TypeError):
            return error(400, "validation.failed", "Body: {type, attr: {address, chain, url}}.")
        if kind not in TYPES or chain not in CHAINS:
            return error(400, "validation.failed", f"Unsupported type {kind} or chain {chain}.")
        testnet = request.query.get("type") == "testnet"
        with self.lock:
            for sub in self._subscriptions.values():
                if (sub.type, sub.chain, sub.testnet) == (kind, chain, testnet) and _same_address(
                    chain, sub.address, address
                ):
                    message = (
                        f"Subscription for type {kind} on the address id {address} and currency "
                        f"{chain} already exists ({sub.id})."
                    )
                    return error(400, "subscription.exists.on.address-and-currency", message)
            sub = Subscription(secrets.token_hex(12), kind, address, chain, url, testnet)
            self._subscriptions[sub.id] = sub
        return web.json_response({"id": sub.id})

    async def _list(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return unauthorized()
        try:
            size, page = int(request.query["pageSize"]), int(request.query.get("offset", "0"))
        except (KeyError, ValueError):
            return error(400, "validation.failed", "pageSize (10..50) is required.")
        if not 10 <= size <= 50 or page < 0:
            return error(400, "validation.failed", "pageSize must be 10..50, offset >= 0.")
        net = request.query.get("type")  # mainnet|testnet; absent: both
        subs = [s for s in self.subscriptions if net is None or s.testnet == (net == "testnet")]
        return web.json_response(
            [
                {
                    "id": s.id,
                    "type": s.type,
                    "attr": {"address": s.address, "chain": s.chain, "url": s.url},
                }
                for s in subs[page * size : (page + 1) * size]
            ]
        )

    async def _delete(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return unauthorized()
        with self.lock:
            removed = self._subscriptions.pop(request.match_info["id"], None)
        if removed is None:
            return error(404, "subscription.not.found", "Subscription not found.")
        return web.Response(status=204)

    async def _set_hmac(self, request: web.Request) -> web.Response:
        if not self.authorized(request):
            return unauthorized()
        try:
            secret = (await request.json())["hmacSecret"]
        except (ValueError, KeyError, TypeError):
            return error(400, "validation.failed", "Body: {hmacSecret}.")
        if not isinstance(secret, str) or not 0 < len(secret) <= 100:
            return error(400, "validation.failed", "hmacSecret must be 1..100 characters.")
        with self.lock:
            self.hmac_secret = secret
        return web.Response(status=204)

    # -- delivery -------------------------------------------------------------------------------
    def _matching(self, gateway: Gateway, address: str) -> list[Subscription]:
        with self.lock:
            return [
                s
                for s in self._subscriptions.values()
                if s.type == "ADDRESS_EVENT"
                and (s.chain, s.testnet) == (gateway.chain_code, gateway.testnet)
                and _same_address(s.chain, s.address, address)
            ]

    def watches(self, gateway: Gateway, address: str) -> bool:
        return bool(self._matching(gateway, address))

    def notify(self, gateway: Gateway, address: str, payload: dict[str, Any]) -> None:
        """Deliver ``payload`` to every subscription of ``address`` (call on the loop)."""
        raw = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/plain, */*",
        }
        with self.lock:
            secret = self.hmac_secret
        if secret is not None:
            digest = hmac.new(secret.encode(), raw, hashlib.sha512).digest()
            headers["x-payload-hash"] = base64.b64encode(digest).decode()
        for sub in self._matching(gateway, address):
            with self.lock:
                self._sent.append(Sent(sub.url, raw, headers))
                index = len(self._sent) - 1
            task = asyncio.get_running_loop().create_task(self._deliver(index))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, index: int) -> None:
        with self.lock:
            sent = self._sent[index]
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.retry_delay)
            status: int | None = None
            try:
                async with self._session.post(sent.url, data=sent.body, headers=sent.headers) as r:
                    await r.read()
                    status = r.status
            except (aiohttp.ClientError, TimeoutError):
                pass
            with self.lock:
                sent = self._sent[index] = replace(sent, attempts=(*sent.attempts, status))
            if sent.delivered:
                break
        with self.lock:
            self._sent[index] = replace(sent, done=True)
