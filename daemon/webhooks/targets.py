"""Where an event's webhook goes, and whether that place may be posted to.

The target is fixed when the event is written: the order's ``callback_url``,
else ``webhooks.url``. A callback URL is checked when the order is created
(its host resolved, every address public) and again when each attempt
connects (see :mod:`daemon.webhooks.transport`), so a name that resolves to a
public address at creation and to 127.0.0.1 later (DNS rebinding) is still
refused.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from daemon.services.errors import InvalidRequest
from daemon.webhooks.addresses import forbidden_reason, literal_target_problem, parse_ip
from daemon.webhooks.retry_policy import DeliveryStatus

Resolver = Callable[[str, int], Awaitable[list[str]]]


@functools.lru_cache(maxsize=4096)
def endpoint_of(url: str) -> str:
    """``scheme://host:port`` of a URL: the unit the per-endpoint cap counts."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{host}:{port}"


@dataclass(frozen=True, slots=True)
class DeliveryColumns:
    """The delivery state an event row starts with."""

    target_url: str | None
    endpoint: str | None
    status: str

    def values(self, now: datetime) -> dict[str, object]:
        return {
            "target_url": self.target_url,
            "endpoint": self.endpoint,
            "delivery_status": self.status,
            "attempts": 0,
            "next_attempt_at": now if self.target_url else None,
        }


class Targets:
    """Resolves an order's target URL (callback_url, else the configured default)."""

    def __init__(self, default_url: str | None, allow_private: bool) -> None:
        self.default_url = default_url
        self.allow_private = allow_private
        self._default = self._columns(default_url)

    @staticmethod
    def _columns(url: str | None) -> DeliveryColumns:
        if url is None:
            return DeliveryColumns(None, None, str(DeliveryStatus.NO_TARGET))
        return DeliveryColumns(url, endpoint_of(url), str(DeliveryStatus.PENDING))

    def for_order(self, callback_url: str | None) -> DeliveryColumns:
        return self._default if callback_url is None else self._columns(callback_url)

    def check_literal(self, url: str) -> None:
        """Refuse a callback URL whose host is a forbidden IP literal or localhost (no DNS)."""
        if self.allow_private:
            return
        problem = literal_target_problem(url)
        if problem:
            raise _refused(problem)

    async def check_resolved(self, url: str, resolver: Resolver | None = None) -> None:
        """Refuse a callback URL whose host resolves to any forbidden address (a name
        that does not resolve now is let through: delivery checks it again)."""
        if self.allow_private:
            return
        self.check_literal(url)
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parse_ip(host) is not None:
            return  # an IP literal: checked above
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = await asyncio.wait_for((resolver or system_resolver)(host, port), 3.0)
        except (OSError, TimeoutError):
            # No answer now is no verdict: the order stands, and every delivery attempt
            # resolves and checks the name again before it connects.
            return
        for address in addresses:
            ip = parse_ip(address)
            reason = forbidden_reason(ip) if ip is not None else "not an IP address"
            if reason:
                raise _refused(f"host {host} resolves to {address}, {reason}")

    def check_resolved_sync(self, url: str) -> None:
        asyncio.run(self.check_resolved(url))


def _refused(problem: str) -> InvalidRequest:
    return InvalidRequest(
        "invalid_callback_url",
        f"callback_url: {problem}; webhooks go only to public addresses "
        "(webhooks.allow_private_targets allows others)",
    )


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (A and AAAA)."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    found: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in found:
            found.append(address)
    if not found:
        raise OSError(f"no address for {host}")
    return found
