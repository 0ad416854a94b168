"""What ``POST /v1/orders`` takes on this daemon, as JSON Schema.

The body's fields come from :class:`daemon.api.schemas.CreateOrderBody`; the published
schema adds what this daemon's config and the order service decide, so that a body the
schema allows is one the daemon takes: the configured chains and, per chain, its
assets, the amount's digits (its decimals) and the confirmations it accepts.
"""

from __future__ import annotations

import functools
from typing import Any

from daemon.api.schemas import CreateOrderBody
from daemon.config.durations import MAX_SECONDS
from daemon.domain.money import MAX_BASE_UNITS
from daemon.services.errors import InvalidRequest
from daemon.services.order_requests import confirmations_for
from daemon.services.registry import ChainInfo, ChainRegistry
from daemon.services.request_checks import MAX_METADATA_BYTES

# Whole base units (at most 77 digits: always below 2**256), no leading zeros.
BASE_UNITS = r"^[1-9][0-9]{0,76}$"
# 15m, 2h, 3d, 1w or seconds; each form kept within ten years.
DURATION = (
    r"^(?:[1-9][0-9]{0,7}|[1-9][0-9]{0,5}[sm]|[1-9][0-9]{0,3}h|[1-9][0-9]{0,2}d|[1-9][0-9]?w)$"
)
# http(s), a host name or IPv4 address, an optional port, printable ASCII after it.
CALLBACK_URL = r"^https?://[A-Za-z0-9.-]+(?::[1-9][0-9]{0,3})?(?:[/?#][!-~]*)?$"


def decimal_pattern(decimals: int) -> str:
    """Amounts above zero in asset units, written plainly (``"0.015"``): no sign,
    exponent, leading or trailing zeros, at most ``decimals`` places, below 2**256
    base units."""
    whole = f"[1-9][0-9]{{0,{76 - decimals}}}"
    if decimals == 0:
        return f"^{whole}$"
    frac = f"\\.[0-9]{{0,{decimals - 1}}}[1-9]"
    return f"^(?:{whole}(?:{frac})?|0{frac})$"


@functools.cache
def printable_pattern() -> str:
    """Python's ``str.isprintable``, as a pattern (what order_id must be)."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x110000):
        if not chr(code).isprintable():
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))

    def char(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"

    parts = (char(a) if a == b else f"{char(a)}-{char(b)}" for a, b in ranges)
    return f"^[^{''.join(parts)}]+$"


def _takes_finalized(chain: ChainInfo) -> bool:
    try:  # the order service's own rule
        confirmations_for(chain, "finalized")
    except InvalidRequest:
        return False
    return True


def _variants(chain: ChainInfo) -> list[dict[str, Any]]:
    depth: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": 10000}
    confirmations = [depth, {"type": "null"}]
    if _takes_finalized(chain):
        confirmations.insert(1, {"const": "finalized"})
    found = []
    for asset in chain.assets:
        fixed = {
            "chain": {"const": chain.name},
            "asset": {"const": asset.symbol},
            "confirmations": {"anyOf": confirmations},
        }
        amount = {"type": "string", "pattern": decimal_pattern(asset.decimals)}
        base = {
            "anyOf": [
                {"type": "string", "pattern": BASE_UNITS},
                {"type": "integer", "minimum": 1, "maximum": MAX_BASE_UNITS},
            ]
        }
        null = {"type": "null"}
        found.append(
            {
                "title": f"{asset.symbol} on {chain.name}, by amount",
                "properties": {**fixed, "amount": amount, "amount_base": null},
                "required": ["amount"],
            }
        )
        found.append(
            {
                "title": f"{asset.symbol} on {chain.name}, by amount_base",
                "properties": {**fixed, "amount": null, "amount_base": base},
                "required": ["amount_base"],
            }
        )
    return found


def create_order_schema(registry: ChainRegistry) -> dict[str, Any]:
    schema = CreateOrderBody.model_json_schema()
    fields = schema["properties"]
    chains = list(registry)
    fields["chain"]["enum"] = [chain.name for chain in chains]
    fields["asset"]["enum"] = sorted({a.symbol for chain in chains for a in chain.assets})
    fields["asset"]["description"] = "One of the chain's assets"
    fields["order_id"]["pattern"] = printable_pattern()
    fields["order_id"]["description"] = "Your reference: printable text"
    fields["expires_in"]["anyOf"] = [
        {"type": "string", "pattern": DURATION},
        {"type": "integer", "minimum": 1, "maximum": MAX_SECONDS},
        {"type": "null"},
    ]
    fields["callback_url"]["anyOf"][0]["pattern"] = CALLBACK_URL
    fields["callback_url"]["description"] = (
        "Where this order's webhooks go instead of webhooks.url; only to public "
        "addresses unless webhooks.allow_private_targets"
    )
    fields["metadata"]["description"] = (
        f"Any JSON object, at most {MAX_METADATA_BYTES} bytes as JSON; sent back as is"
    )
    schema["anyOf"] = [v for chain in chains for v in _variants(chain)]
    return schema
