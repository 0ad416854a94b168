"""Who is asking: a request's client address (believing forwarded headers only from
``api.trusted_proxies``) and a per-address allowance of new event streams and polls.

Behind a reverse proxy every request comes from the proxy; the client is in the
``X-Forwarded-For`` (or, with ``api.forwarded_header: forwarded``, the RFC 7239
``Forwarded: for=``) header the proxy appends to. Only that one header is read: a proxy
that writes one passes a client's own copy of the other through untouched. Anyone can
write it, so it counts only when the peer is a trusted proxy, and then the client is
the right-most address in it that is not a trusted proxy itself (the left ones are
whatever the client claimed). From anyone else it is ignored: the peer is the client.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddresses:
    def __init__(self, trusted: Sequence[str], header: str = "x-forwarded-for") -> None:
        self.trusted: list[Network] = [ipaddress.ip_network(n, strict=False) for n in trusted]
        self.header = header  # the one the proxies write: the other is the client's own

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def of(self, request: Request) -> str:
        peer = request.client.host if request.client is not None else "unknown"
        if not self.trusted or not self._is_trusted(peer):
            return peer
        if self.header == "forwarded":
            hops = forwarded_for(request.headers.get("forwarded"))
        else:
            hops = [h.strip() for h in request.headers.get("x-forwarded-for", "")[:2048].split(",")]
        for hop in reversed([h for h in hops if h]):
            if not self._is_trusted(hop):
                return hop
        return peer


def forwarded_for(header: str | None) -> list[str]:
    """The ``for=`` addresses of an RFC 7239 Forwarded header, in order (ports and
    IPv6 brackets stripped; obfuscated identifiers kept as they are)."""
    found: list[str] = []
    for element in (header or "")[:2048].split(","):
        for pair in element.split(";"):
            name, _, value = pair.strip().partition("=")
            if name.strip().lower() != "for":
                continue
            value = value.strip().strip('"')
            if value.startswith("["):
                value = value[1 : value.find("]")] if "]" in value else value[1:]
            elif value.count(":") == 1:
                value = value.partition(":")[0]
            found.append(value)
    return found


class Allowance:
    """A token bucket per key: ``per_minute`` refilled evenly, as many in a burst.
    At most ``keys`` buckets are kept (the least recently used go first)."""

    def __init__(
        self,
        per_minute: int,
        keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.keys = keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> bool:
        now = self.clock()
        tokens, then = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.keys:
            self._buckets.popitem(last=False)
        return allowed

    def retry_after(self, key: str) -> int:
        tokens, _ = self._buckets.get(key, (self.capacity, 0.0))
        return max(1, math.ceil((1.0 - tokens) / self.rate))
