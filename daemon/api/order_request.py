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
from daemon.domain.pricing import currency_decimals
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


def decimal_pattern(decimals: int, whole_digits: int | None = None) -> str:
    """Amounts above zero in asset units, written plainly (``"0.015"``): no sign,
    exponent, leading or trailing zeros, at most ``decimals`` places, below 2**256
    base units."""
    whole = f"[1-9][0-9]{{0,{(whole_digits or 77 - decimals) - 1}}}"
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


# Quotable assets per price currency (None: every asset; sources are asked at run time
# and may be unavailable, a documented 503).
Pricing = dict[str, set[str] | None]


def _priced_variants(registry: ChainRegistry, pricing: Pricing) -> list[dict[str, Any]]:
    """Bodies priced in fiat the daemon takes: per currency, one option (chain + asset)
    or several (accept), of the assets with a rate in it."""
    null = {"type": "null"}
    depth = {"type": "integer", "minimum": 0, "maximum": 10000}
    crypto = {"amount": null, "amount_base": null, "confirmations": {"anyOf": [depth, null]}}
    found: list[dict[str, Any]] = []
    for currency, assets in pricing.items():
        amount = {"type": "string", "pattern": decimal_pattern(currency_decimals(currency), 15)}
        price = {
            "type": "object",
            "properties": {"amount": amount, "currency": {"const": currency}},
            "required": ["amount", "currency"],
            "additionalProperties": False,
        }
        pairs = [
            (chain.name, asset.symbol)
            for chain in registry
            for asset in chain.assets
            if assets is None or asset.symbol in assets
        ]
        for chain_name, symbol in pairs:
            found.append(
                {
                    "title": f"{symbol} on {chain_name}, priced in {currency}",
                    "properties": {
                        **crypto,
                        "chain": {"const": chain_name},
                        "asset": {"const": symbol},
                        "price": price,
                        "accept": null,
                    },
                    "required": ["chain", "asset", "price"],
                }
            )
        if not pairs:
            continue
        option = {
            "type": "object",
            "required": ["chain", "asset"],
            "additionalProperties": False,
            "anyOf": [
                {"properties": {"chain": {"const": c}, "asset": {"const": a}}} for c, a in pairs
            ],
        }
        accept = {
            "type": "array",
            "minItems": 1,
            "maxItems": len(pairs),
            "uniqueItems": True,
            "items": option,
        }
        every = len(pairs) == sum(len(chain.assets) for chain in registry)
        found.append(
            {
                "title": f"several options, priced in {currency}",
                "properties": {
                    **crypto,
                    "chain": null,
                    "asset": null,
                    "price": price,
                    "accept": {"anyOf": [accept, null]} if every else accept,
                },
                "required": ["price"] if every else ["price", "accept"],
            }
        )
    return found


def create_order_schema(registry: ChainRegistry, pricing: Pricing | None = None) -> dict[str, Any]:
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
    for variant in schema["anyOf"]:  # priced in crypto: no price, no options list
        variant["properties"].update(price={"type": "null"}, accept={"type": "null"})
    schema["anyOf"] += _priced_variants(registry, pricing or {})
    return schema
