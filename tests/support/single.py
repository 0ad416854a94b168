"""A single-option order's own address, for tests that pay one (a multi-option order
has none of its own: its options carry theirs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from daemon.services.order_records import OrderRecord


def address_of(order: Mapping[str, Any] | OrderRecord) -> str:
    found = order.address if isinstance(order, OrderRecord) else order["address"]
    assert isinstance(found, str), f"the order has no address of its own: {found!r}"
    return found


def index_of(order: Mapping[str, Any]) -> int:
    found = order["derivation_index"]
    assert isinstance(found, int), f"the order has no index of its own: {found!r}"
    return found
