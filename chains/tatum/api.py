"""Tatum's v4 subscription API: create, list, delete address subscriptions; set the HMAC secret.

Every request carries the ``x-api-key`` header. HTTP 429 is retried a few times
(``Retry-After`` honoured); Tatum's refusals come back as :class:`TatumError` with its
``errorCode`` and message, and a service that cannot be reached as :class:`TatumUnavailable`.
The API key never appears in an error or a log line.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from chains.errors import ChainError
from chains.retry import RATE_LIMITED

__all__ = ["Subscription", "TatumApi", "TatumError", "TatumUnavailable"]

ADDRESS_EVENT = "ADDRESS_EVENT"
PAGE_SIZE = 50  # the largest page Tatum's list endpoint serves


class TatumUnavailable(ChainError):
    """Tatum could not be asked (connection failure, timeout, rate limit, 5xx)."""


class TatumError(ChainError):
    """Tatum understood the request and refused it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"Tatum refused ({status} {code}): {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    type: str
    chain: str
    address: str
    url: str


class TatumApi:
    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        timeout: float = 20.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._headers = {"x-api-key": api_key}
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None

    async def create_subscription(
        self, address: str, chain: str, url: str, *, testnet: bool
    ) -> str:
        """An ``ADDRESS_EVENT`` subscription (native, token and internal transfers)."""
        body = {"type": ADDRESS_EVENT, "attr": {"address": address, "chain": chain, "url": url}}
        params = {"type": "testnet"} if testnet else None
        answer = await self._request("POST", "/v4/subscription", json=body, params=params)
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            raise TatumUnavailable("Tatum answered a new subscription without its id")
        return str(answer["id"])

    async def subscriptions(self) -> list[Subscription]:
        """Every subscription of the API key, all pages."""
        found: list[Subscription] = []
        page = 0
        while True:
            params = {"pageSize": str(PAGE_SIZE), "offset": str(page)}
            answer = await self._request("GET", "/v4/subscription", params=params)
            if not isinstance(answer, list):
                raise TatumUnavailable("Tatum's subscription list is not a JSON array")
            found.extend(_subscription(item) for item in answer if isinstance(item, dict))
            if len(answer) < PAGE_SIZE:
                return found
            page += 1

    async def delete_subscription(self, subscription_id: str) -> bool:
        """Delete one; False when Tatum no longer has it."""
        try:
            await self._request("DELETE", f"/v4/subscription/{subscription_id}")
        except TatumError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def set_hmac_secret(self, secret: str) -> None:
        """Have Tatum sign every notification of this API key (``x-payload-hash``)."""
        await self._request("PUT", "/v4/subscription", json={"hmacSecret": secret})

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        for attempt in itertools.count(1):
            try:
                resp = await self._client.request(
                    method, self.api_url + path, json=json, params=params, headers=self._headers
                )
            except httpx.HTTPError as exc:
                detail = str(exc) or type(exc).__name__
                raise TatumUnavailable(f"{method} {path}: {detail}") from None
            if RATE_LIMITED.retries_status(resp.status_code) and not RATE_LIMITED.gives_up(attempt):
                pause = RATE_LIMITED.wait_for_answer(attempt, resp.headers.get("Retry-After"))
                await asyncio.sleep(pause)
                continue
            return _answer(resp, method, path)
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def _answer(resp: httpx.Response, method: str, path: str) -> Any:
    try:
        body: Any = resp.json() if resp.content else None
    except ValueError:
        body = None
    if resp.status_code == 429 or resp.status_code >= 500:
        raise TatumUnavailable(f"{method} {path}: HTTP {resp.status_code}")
    if resp.status_code >= 400:
        detail = body if isinstance(body, dict) else {}
        code = str(detail.get("errorCode") or "unknown")
        message = str(detail.get("message") or resp.reason_phrase)
        raise TatumError(resp.status_code, code, message[:300])
    return body


def _subscription(item: Mapping[str, Any]) -> Subscription:
    attr = item.get("attr")
    attr = attr if isinstance(attr, dict) else {}
    return Subscription(
        id=str(item.get("id", "")),
        type=str(item.get("type", "")),
        chain=str(attr.get("chain", "")),
        address=str(attr.get("address", "")),
        url=str(attr.get("url", "")),
    )
