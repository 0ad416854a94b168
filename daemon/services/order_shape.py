"""The public shape of an order, declared once.

These types are what ``GET /v1/orders/{id}`` returns and webhooks carry. The view
(:class:`daemon.services.order_records.OrderViews`) builds plain dicts typed by them,
so mypy refuses a field missing, extra or of another type there; ``/openapi.json``
publishes the JSON Schema pydantic generates from the same types
(:func:`shape_schemas`). Nothing here runs per order: a TypedDict is a dict.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field, TypeAdapter
from typing_extensions import TypedDict

from daemon.domain.states import EventType, OrderException, OrderStatus

PaymentState = Literal["detected", "confirmed", "removed"]


class Payment(TypedDict):
    """One transfer to the order's address."""

    tx_hash: str
    index: Annotated[
        int,
        Field(
            description="Bitcoin family: the output index; EVM: n for the transaction's n-th token "
            "transfer, -1 for its own value, -2-n for its n-th internal transfer"
        ),
    ]
    log_index: Annotated[int | None, Field(description="ERC-20: the log index in its block")]
    asset: str
    amount: Annotated[
        str | None, Field(description="In asset units; null for another asset than the order's")
    ]
    amount_base: int
    counted: Annotated[bool, Field(description="Whether it counts towards the order's amount")]
    status: PaymentState
    confirmations: int
    block_height: int | None
    block_hash: str | None
    seen_at: str


class Order(TypedDict):
    """An order with its payments."""

    id: Annotated[str, Field(description="paywatch's id (ord_…)")]
    order_id: Annotated[str, Field(description="Your reference")]
    chain: str
    asset: str
    amount: Annotated[str, Field(description='Decimal string in asset units, e.g. "0.015"')]
    amount_base: Annotated[int, Field(description="The amount in base units (satoshi, wei)")]
    address: str
    derivation_index: int
    payment_uri: Annotated[
        str | None, Field(description="null once the order's chain is no longer configured")
    ]
    status: OrderStatus
    exception: OrderException
    created_at: str
    updated_at: str
    expires_at: str
    late_until: str
    confirmations_required: int | Literal["finalized"]
    received: str
    received_base: int
    received_confirmed: str
    received_confirmed_base: int
    payments: list[Payment]
    callback_url: str | None
    metadata: dict[str, Any] | None


class EventOrder(Order):
    """A webhook's ``data``: the order, and for ``order.payment_*`` events the payment."""

    payment: NotRequired[Payment]


class OrderList(TypedDict):
    """A page of orders, newest first."""

    data: list[Order]
    next_cursor: Annotated[str | None, Field(description="Pass as cursor for the next page")]
    has_more: bool


class OrderEvent(TypedDict):
    """The body of a webhook."""

    type: EventType
    timestamp: str
    data: EventOrder


def shape_schemas(*shapes: Any, ref_template: str) -> tuple[list[Any], dict[str, Any]]:
    """The JSON Schema of each shape (a ``$ref`` into the definitions) and the
    definitions they use, every type under its own name."""
    refs, found = TypeAdapter.json_schemas(
        [(shape, "serialization", TypeAdapter(shape)) for shape in shapes],
        ref_template=ref_template,
    )
    return [refs[(shape, "serialization")] for shape in shapes], dict(found.get("$defs", {}))
