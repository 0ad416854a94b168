"""The HTTP client webhooks are sent with: it connects only where it checked.

An httpcore network backend does the name resolution itself, refuses the
connection when any address the name resolves to is not public (unless
private targets are allowed), connects to the checked address (so a second
lookup by someone else cannot swap it: DNS rebinding), and checks the peer
address of the socket it got. TLS still verifies the certificate against the
host name, which httpcore passes as SNI. No proxies from the environment, no
redirects.
"""

from __future__ import annotations

import asyncio
import typing

import httpcore
import httpx

from daemon.webhooks.addresses import forbidden_reason, parse_ip
from daemon.webhooks.targets import Resolver, system_resolver


class TargetRefused(httpcore.ConnectError):
    """The target's address is not one webhooks may be sent to."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, *, allow_private: bool, resolver: Resolver | None = None) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private
        self._resolver = resolver or system_resolver

    def _check(self, host: str, address: str) -> None:
        if self._allow_private:
            return
        ip = parse_ip(address)
        reason = forbidden_reason(ip) if ip is not None else "not an IP address"
        if reason:
            shown = host if host == address else f"{host} resolves to {address},"
            raise TargetRefused(f"refused: {shown} {reason} (webhooks.allow_private_targets)")

    async def _addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        if parse_ip(host) is not None:
            return [host.strip("[]")]
        try:
            return await asyncio.wait_for(self._resolver(host, port), timeout)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._addresses(host, port, timeout)
        for address in addresses:  # every address first: a mixed answer is refused
            self._check(host, address)
        failure: Exception = httpcore.ConnectError(f"no address to connect to for {host}")
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            peer = stream.get_extra_info("server_addr")
            try:
                self._check(host, str(peer[0]) if peer else "")
            except TargetRefused:
                await stream.aclose()
                raise
            return stream
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("webhooks are never sent over Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def webhook_client(
    *,
    timeout: float,
    allow_private: bool,
    max_connections: int,
    resolver: Resolver | None = None,
) -> httpx.AsyncClient:
    """An httpx client whose every connection goes through :class:`GuardedBackend`."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx 0.28 takes no network backend of its own: give its transport a pool that
    # uses ours (the pool, mapping of errors and requests stay httpx's own).
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=30.0,
        network_backend=GuardedBackend(allow_private=allow_private, resolver=resolver),
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
    )


def refusal_of(exc: BaseException) -> TargetRefused | None:
    """The TargetRefused behind an httpx error, if that is what it was."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TargetRefused):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
