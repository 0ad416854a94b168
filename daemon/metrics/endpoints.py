"""The ``endpoint`` label of a node's URL: where it is, never how to get in.

Node URLs often carry a secret: ``user:password@``, an API key in the path
(``/v3/<key>``) or in the query. The label keeps the scheme, the host and the port
only, so a metric, a dashboard or an alert never shows a credential.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
INVALID = "invalid"


def endpoint_label(url: str) -> str:
    """``scheme://host:port`` of ``url`` (the scheme's default port when none is given);
    ``invalid`` for a URL without a scheme and a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return INVALID
    scheme = parts.scheme.lower()
    host = parts.hostname  # lowercase, without user and password
    if not scheme.isalpha() or not host:
        return INVALID
    if ":" in host:
        host = f"[{host}]"
    port = port if port is not None else DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host}" if port is None else f"{scheme}://{host}:{port}"
