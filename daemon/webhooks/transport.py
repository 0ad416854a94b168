"""The HTTP client webhooks are sent with: it connects only where it checked.

It is aiohttp's client (measured here: about six times the requests per second
of httpx for the same signed POSTs, which is what the dispatcher spends its time
on). A resolver of our own answers every name lookup: it refuses the connection
when any address the name resolves to is not public (unless private targets are
allowed), and hands the connector exactly the addresses it checked, so a second
lookup cannot swap them (DNS rebinding). Names are looked up again for every
new connection (no DNS cache). A URL with an IP literal is checked before the
request. TLS still verifies the certificate against the host name. No proxies
from the environment, no redirects, no decompression.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from daemon.errors import WebhookError
from daemon.webhooks.addresses import forbidden_reason, parse_ip
from daemon.webhooks.targets import Resolver, system_resolver


class TargetRefused(WebhookError, OSError):
    """The target's address is not one webhooks may be sent to."""


class TransportError(WebhookError):
    """No HTTP answer: the connection failed or broke (the text says how)."""


def _check(host: str, address: str, allow_private: bool) -> None:
    if allow_private:
        return
    ip = parse_ip(address)
    reason = forbidden_reason(ip) if ip is not None else "not an IP address"
    if reason:
        shown = host if host == address else f"{host} resolves to {address},"
        raise TargetRefused(f"refused: {shown} {reason} (webhooks.allow_private_targets)")


class GuardedResolver(AbstractResolver):
    def __init__(self, *, allow_private: bool, resolver: Resolver | None = None) -> None:
        self._allow_private = allow_private
        self._resolver = resolver or system_resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await self._resolver(host, port)
        except OSError as exc:
            raise OSError(f"cannot resolve {host}: {exc}") from None
        if not addresses:
            raise OSError(f"cannot resolve {host}: no address")
        for address in addresses:  # every address first: a mixed answer is refused
            _check(host, address, self._allow_private)
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    retry_after: str | None
    excerpt: str | None


class WebhookClient:
    """POSTs to store endpoints over pooled keep-alive connections."""

    def __init__(
        self,
        *,
        timeout: float,
        allow_private: bool,
        max_connections: int,
        resolver: Resolver | None = None,
    ) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self.max_connections = max_connections
        self._resolver = GuardedResolver(allow_private=allow_private, resolver=resolver)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop (aiohttp binds to it).
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.max_connections,
                resolver=self._resolver,
                use_dns_cache=False,
                keepalive_timeout=30.0,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                trust_env=False,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def post(self, url: str, body: bytes, headers: dict[str, str], limit: int) -> HttpAnswer:
        """One POST; at most ``limit`` bytes of the answer are read. Raises
        :class:`TargetRefused`, :class:`TransportError` or :class:`TimeoutError`."""
        host = urlsplit(url).hostname or ""
        if parse_ip(host) is not None:
            _check(host, host.strip("[]"), self.allow_private)
        try:
            async with self._open().post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                excerpt = await response.content.read(limit)
                return HttpAnswer(
                    response.status,
                    response.headers.get("retry-after"),
                    excerpt.decode("utf-8", errors="replace") if excerpt else None,
                )
        except aiohttp.ClientConnectorError as exc:
            refused = refusal_of(exc)
            if refused is not None:
                raise refused from None
            raise TransportError(
                f"cannot connect to {exc.host}:{exc.port}: {exc.os_error}"
            ) from None
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def refusal_of(exc: BaseException) -> TargetRefused | None:
    """The TargetRefused behind a client error, if that is what it was."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TargetRefused):
            return seen
        if isinstance(seen, aiohttp.ClientConnectorError) and isinstance(
            seen.os_error, TargetRefused
        ):
            return seen.os_error
        seen = seen.__cause__ or seen.__context__
    return None
