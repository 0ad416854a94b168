"""Which IP addresses a webhook may be sent to.

A callback URL is chosen by whoever creates an order, so without a check it
could make the daemon post to its own loopback services, the LAN, or a cloud
metadata endpoint. Only globally routable unicast addresses are allowed
(unless ``webhooks.allow_private_targets``); IPv6 forms that carry an IPv4
address (mapped, 6to4, NAT64, IPv4-compatible) are judged by that address.
Pure: no resolution happens here.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata services that sit at otherwise unremarkable addresses.
_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, DigitalOcean, ...
    ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("192.0.0.192"),  # Oracle Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}
_IETF_ASSIGNMENTS = ipaddress.ip_network("192.0.0.0/24")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _IPV4_COMPATIBLE or any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` must not receive webhooks, or None when it is a public unicast address."""
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            reason = forbidden_reason(inner)
            return f"an IPv6 form of {inner}, {reason}" if reason else None
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _IETF_ASSIGNMENTS:
        return "a reserved address"
    if not ip.is_global:
        return "not a public address"
    return None


def parse_ip(host: str) -> IPAddress | None:
    """The address when ``host`` is an IP literal (brackets and IPv6 zones allowed)."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def literal_target_problem(url: str) -> str | None:
    """A problem with ``url`` that needs no DNS: its host is a forbidden IP literal
    (or ``localhost``, which never leaves the machine)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is a loopback name"
    ip = parse_ip(host)
    if ip is None:
        return None
    reason = forbidden_reason(ip)
    return f"{ip} is {reason}" if reason else None
