"""Request and response bodies, as the OpenAPI document shows them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from daemon.config.durations import parse_duration
from daemon.services.errors import InvalidRequest
from daemon.services.orders import NewOrder


class CreateOrderBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: StrictStr = Field(min_length=1, max_length=200, description="Your reference")
    chain: StrictStr = Field(min_length=1, max_length=32, description="A configured chain name")
    asset: StrictStr = Field(min_length=1, max_length=16, description="BTC, ETH, USDC, ...")
    amount: StrictStr | None = Field(
        default=None, max_length=100, description='Decimal string in asset units, e.g. "0.015"'
    )
    amount_base: StrictStr | StrictInt | None = Field(
        default=None, description="Alternatively, the amount in base units (satoshi, wei)"
    )
    expires_in: StrictStr | StrictInt | None = Field(
        default=None, description="e.g. 15m, 2h, or seconds; defaults to orders.expires_in"
    )
    confirmations: StrictInt | Literal["finalized"] | None = None
    callback_url: StrictStr | None = Field(default=None, max_length=2048)
    metadata: dict[str, Any] | None = None

    def to_new_order(self) -> NewOrder:
        expires = None
        if self.expires_in is not None:
            try:
                expires = parse_duration(self.expires_in)
            except ValueError as exc:
                raise InvalidRequest("invalid_expires_in", f"expires_in: {exc}") from None
        if not self.order_id.isprintable():
            raise InvalidRequest("invalid_order_id", "order_id: must be printable text")
        base = self.amount_base
        return NewOrder(
            order_id=self.order_id,
            chain=self.chain,
            asset=self.asset,
            amount=self.amount,
            amount_base=str(base) if isinstance(base, int) else base,
            expires_in=expires,
            confirmations=self.confirmations,
            callback_url=self.callback_url,
            metadata=self.metadata,
        )


STATUSES = ("pending", "processing", "paid", "expired", "cancelled", "invalid")


class Payment(BaseModel):
    tx_hash: str
    index: int = Field(
        description="Bitcoin family: the output index; EVM: n for the transaction's n-th "
        "token transfer, -1 for its own value, -2-n for its n-th internal transfer"
    )
    log_index: int | None = Field(
        description="ERC-20: the log index in its block, as the node says"
    )
    asset: str
    amount: str | None
    amount_base: int
    counted: bool
    status: Literal["detected", "confirmed", "removed"]
    confirmations: int
    block_height: int | None
    block_hash: str | None
    seen_at: str


class Order(BaseModel):
    id: str
    order_id: str
    chain: str
    asset: str
    amount: str
    amount_base: int
    address: str
    derivation_index: int
    payment_uri: str | None
    status: Literal["pending", "processing", "paid", "expired", "cancelled", "invalid"]
    exception: Literal["none", "underpaid", "overpaid", "paid_late"]
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


class OrderList(BaseModel):
    data: list[Order]
    next_cursor: str | None
    has_more: bool


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail
