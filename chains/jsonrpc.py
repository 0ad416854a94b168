"""JSON-RPC over HTTP, shared by the EVM and Bitcoin Core adapters.

One :class:`JsonRpcClient` per endpoint. ``call`` sends one request; ``batch``
sends many in JSON-RPC batches of at most ``max_batch`` requests and returns the
answers in call order, a refused call as an :class:`RpcError` in its slot.

Two kinds of failure are kept apart:

* :class:`RpcError`: the node understood the call and refused it (unknown
  method, bad params, block not found...). Bitcoin Core sends these with HTTP
  500 or 404 and a JSON body, so the body is parsed whatever the status.
* :class:`~chains.watching.ChainUnavailable`: the endpoint could not be asked
  (connect error, timeout, an answer that is not JSON-RPC, HTTP errors without
  a JSON-RPC body). HTTP 429 is retried a few times first, honouring
  ``Retry-After`` (:data:`chains.retry.RATE_LIMITED`).

Endpoint URLs in messages never carry credentials (:func:`redact_url`).

An :class:`RpcObserver` given to the client hears of every HTTP request and every
refused call (the daemon counts them for its metrics); this package knows nothing
of what it does with them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx

from chains.errors import ChainError
from chains.retry import RATE_LIMITED, Retry
from chains.watching import ChainUnavailable

__all__ = ["JsonRpcClient", "RpcError", "RpcObserver", "redact_url"]


class RpcError(ChainError):
    """The node understood the call and refused it."""

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(f"RPC error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data


class RpcObserver(Protocol):
    """Told of a client's traffic as it happens; must be cheap and must not raise."""

    def request(self, method: str, seconds: float, failure: str | None) -> None:
        """One HTTP request ended after ``seconds``. ``method`` is the JSON-RPC method,
        or ``batch`` for a JSON-RPC batch; ``failure`` is None when a JSON-RPC answer came
        back, else ``timeout``, ``connect``, ``transport`` (another network error),
        ``rate_limited`` (HTTP 429), ``http_status`` (another HTTP error without a
        JSON-RPC body) or ``invalid_answer`` (not JSON-RPC)."""

    def refused(self, method: str) -> None:
        """The node answered a ``method`` call with a JSON-RPC error."""


def redact_url(url: str) -> str:
    """The URL without user and password (safe for logs, errors and health)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class JsonRpcClient:
    """A JSON-RPC endpoint over HTTP(S)."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float = 30.0,
        version: str = "2.0",
        max_batch: int = 100,
        client: httpx.AsyncClient | None = None,
        observer: RpcObserver | None = None,
        retry: Retry = RATE_LIMITED,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        parts = urlsplit(url)
        if auth is None and (parts.username or parts.password):
            auth = (parts.username or "", parts.password or "")
        self.url = redact_url(url)
        self._post_url = redact_url(url) if auth is not None else url
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        self._auth = httpx.BasicAuth(*auth) if auth is not None else None
        self._timeout = timeout
        self._version = version
        self._max_batch = max_batch
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._ids = itertools.count(1)
        self.requests_sent = 0  # HTTP requests, for benchmarks and health
        self.calls_sent = 0  # JSON-RPC calls (a batch of n counts n)
        self.observer = observer
        self.retry = retry

    def _request(self, method: str, params: Sequence[object]) -> dict[str, object]:
        self.calls_sent += 1
        req: dict[str, object] = {"id": next(self._ids), "method": method, "params": list(params)}
        if self._version == "2.0":
            req["jsonrpc"] = "2.0"
        return req

    async def call(self, method: str, params: Sequence[object] = ()) -> Any:
        """One call's result; raises :class:`RpcError` or ``ChainUnavailable``."""
        req = self._request(method, params)
        answer = await self._post(req, method)
        if not isinstance(answer, dict):
            raise ChainUnavailable(f"{self.url}: {method}: the answer is not a JSON-RPC object")
        try:
            return _result(answer, method, self.url)
        except RpcError:
            self._refused(method)
            raise

    async def batch(self, calls: Sequence[tuple[str, Sequence[object]]]) -> list[Any | RpcError]:
        """The results of ``calls`` in their order; a refused call is an ``RpcError``."""
        results: list[Any | RpcError] = []
        for start in range(0, len(calls), self._max_batch):
            chunk = calls[start : start + self._max_batch]
            reqs = [self._request(method, params) for method, params in chunk]
            answer = await self._post(reqs, "batch")
            if isinstance(answer, dict):
                # A batch refused as a whole (some nodes answer one error object).
                err = _error_of(answer)
                if err is None:
                    raise ChainUnavailable(f"{self.url}: a batch was answered by a single object")
                for method, _params in chunk:
                    self._refused(method)
                results.extend(err for _ in chunk)
                continue
            if not isinstance(answer, list):
                raise ChainUnavailable(f"{self.url}: the batch answer is not a JSON-RPC array")
            by_id: dict[object, object] = {}
            for item in answer:
                if isinstance(item, dict):
                    by_id[item.get("id")] = item
            for req, (method, _params) in zip(reqs, chunk, strict=True):
                item = by_id.get(req["id"])
                if not isinstance(item, dict):
                    raise ChainUnavailable(f"{self.url}: {method}: no answer in the batch")
                try:
                    results.append(_result(item, method, self.url))
                except RpcError as exc:
                    self._refused(method)
                    results.append(exc)
        return results

    async def _post(self, payload: object, method: str) -> object:
        body = json.dumps(payload, separators=(",", ":")).encode()
        for attempt in itertools.count(1):
            started = time.perf_counter()
            try:
                self.requests_sent += 1
                resp = await self._client.post(
                    self._post_url,
                    content=body,
                    headers=self._headers,
                    auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT,
                    timeout=self._timeout,
                )
            except httpx.HTTPError as exc:
                self._observe(method, started, _failure_of(exc))
                kind = type(exc).__name__
                raise ChainUnavailable(f"{self.url}: {kind}: {_describe(exc)}") from None
            if self.retry.retries_status(resp.status_code):
                limited = resp.status_code == 429
                self._observe(method, started, "rate_limited" if limited else "http_status")
                if not self.retry.gives_up(attempt):
                    pause = self.retry.wait_for_answer(attempt, resp.headers.get("Retry-After"))
                    await asyncio.sleep(pause)
                    continue
                return self._decode(resp)
            try:
                answer = self._decode(resp)
            except ChainUnavailable:
                failure = "http_status" if resp.status_code >= 400 else "invalid_answer"
                self._observe(method, started, failure)
                raise
            self._observe(method, started, None)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def _observe(self, method: str, started: float, failure: str | None) -> None:
        if self.observer is not None:
            self.observer.request(method, time.perf_counter() - started, failure)

    def _refused(self, method: str) -> None:
        if self.observer is not None:
            self.observer.refused(method)

    def _decode(self, resp: httpx.Response) -> object:
        try:
            decoded: object = json.loads(resp.content)
        except ValueError:
            decoded = None
        if isinstance(decoded, list) or (
            isinstance(decoded, dict) and ("result" in decoded or "error" in decoded)
        ):
            return decoded
        if resp.status_code >= 400:
            raise ChainUnavailable(f"{self.url}: HTTP {resp.status_code} {resp.reason_phrase}")
        raise ChainUnavailable(f"{self.url}: the answer is not JSON-RPC")

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def _error_of(answer: Mapping[str, object]) -> RpcError | None:
    err = answer.get("error")
    if err is None:
        return None
    if isinstance(err, dict):
        code = err.get("code")
        message = err.get("message")
        return RpcError(
            code if isinstance(code, int) else -1,
            str(message) if message is not None else "",
            err.get("data"),
        )
    return RpcError(-1, str(err))


def _result(answer: Mapping[str, object], method: str, url: str) -> Any:
    err = _error_of(answer)
    if err is not None:
        raise err
    if "result" not in answer:
        raise ChainUnavailable(f"{url}: {method}: an answer with neither result nor error")
    return answer["result"]


def _failure_of(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    return "transport"


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc)
    return text if text else "no answer"
