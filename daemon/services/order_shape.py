"""The public shape of an order, declared once.

These types are what ``GET /v1/orders/{id}`` returns and webhooks carry. The view
(:class:`daemon.services.order_views.OrderViews`) builds plain dicts typed by them,
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

    chain: str
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
        str | None,
        Field(description="In asset units; null for an asset the order does not take"),
    ]
    amount_base: int
    counted: Annotated[bool, Field(description="Whether it counts towards the order's amount")]
    status: PaymentState
    confirmations: int
    block_height: int | None
    block_hash: str | None
    seen_at: str


class Money(TypedDict):
    """An amount in a fiat currency."""

    amount: Annotated[str, Field(description='Decimal string, e.g. "49.90"')]
    currency: Annotated[str, Field(description="ISO 4217 code, e.g. EUR")]


class Rate(TypedDict):
    """A rate locked when the order was made."""

    value: Annotated[str, Field(description="Units of the currency per one unit of the asset")]
    currency: str
    sources: Annotated[list[str], Field(description="The sources whose answers made the median")]
    at: Annotated[str, Field(description="When the oldest of those answers was made")]


class Option(TypedDict):
    """One asset the order may be paid in."""

    chain: str
    asset: str
    amount: Annotated[
        str, Field(description="Due in asset units: the price at the rate, rounded up")
    ]
    amount_base: int
    address: Annotated[str | None, Field(description="null until picked (orders.addresses: lazy)")]
    payment_uri: str | None
    rate: Annotated[Rate | None, Field(description="null for a crypto-priced order")]


class Order(TypedDict):
    """An order with its payments. An order with several options has no single chain,
    asset, amount or address: those fields are null and its options say them."""

    id: Annotated[str, Field(description="paywatch's id (ord_…)")]
    order_id: Annotated[str, Field(description="Your reference")]
    chain: str | None
    asset: str | None
    amount: Annotated[str | None, Field(description='Decimal string in asset units, e.g. "0.015"')]
    amount_base: Annotated[int | None, Field(description="The amount in base units (satoshi, wei)")]
    address: str | None
    derivation_index: int | None
    payment_uri: Annotated[
        str | None, Field(description="null once the order's chain is no longer configured")
    ]
    price: Annotated[Money | None, Field(description="null for a crypto-priced order")]
    options: list[Option]
    received_value: Annotated[
        Money | None,
        Field(description="What the payments are worth at the locked rates, rounded down"),
    ]
    status: OrderStatus
    exception: OrderException
    created_at: str
    updated_at: str
    expires_at: str
    late_until: str
    confirmations_required: int | Literal["finalized"]
    received: str | None
    received_base: int | None
    received_confirmed: str | None
    received_confirmed_base: int | None
    payments: list[Payment]
    checkout_url: Annotated[
        str, Field(description="The page the customer pays from; no API key needed to open it")
    ]
    redirect_url: Annotated[
        str | None, Field(description="Where the checkout page sends the customer once paid")
    ]
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
