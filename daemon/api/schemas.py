"""Request bodies and errors, as the OpenAPI document shows them.

An order's own shape (responses, webhooks) is declared in daemon.services.order_shape;
what a new order may say on this daemon's chains, in daemon.api.order_request.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, StrictStr

from daemon.config.durations import parse_duration
from daemon.domain.states import OrderStatus
from daemon.services.errors import InvalidRequest
from daemon.services.orders import NewOrder


def _whole(value: object) -> object:
    """``2.0`` is the integer 2 in JSON (and to JSON Schema): taken as such where a float
    spells every integer exactly (at most 2**53); a fraction stays refused."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


WholeNumber = Annotated[StrictInt, BeforeValidator(_whole)]


class PriceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: StrictStr = Field(max_length=40, description='Decimal string, e.g. "49.90"')
    currency: StrictStr = Field(min_length=1, max_length=16, description="e.g. EUR")


class OptionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chain: StrictStr = Field(min_length=1, max_length=32, description="A configured chain name")
    asset: StrictStr = Field(min_length=1, max_length=16, description="One of its assets")


class CreateOrderBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: StrictStr = Field(min_length=1, max_length=200, description="Your reference")
    chain: StrictStr | None = Field(
        default=None, min_length=1, max_length=32, description="A configured chain name"
    )
    asset: StrictStr | None = Field(
        default=None, min_length=1, max_length=16, description="BTC, ETH, USDC, ..."
    )
    price: PriceBody | None = Field(
        default=None, description="Priced in a fiat currency instead of an amount"
    )
    accept: list[OptionBody] | None = Field(
        default=None,
        max_length=32,
        description="With price: the assets the customer may pay in (default: every one)",
    )
    amount: StrictStr | None = Field(
        default=None, max_length=100, description='Decimal string in asset units, e.g. "0.015"'
    )
    amount_base: StrictStr | WholeNumber | None = Field(
        default=None, description="Alternatively, the amount in base units (satoshi, wei)"
    )
    expires_in: StrictStr | WholeNumber | None = Field(
        default=None, description="e.g. 15m, 2h, or seconds; defaults to orders.expires_in"
    )
    confirmations: WholeNumber | Literal["finalized"] | None = None
    callback_url: StrictStr | None = Field(default=None, max_length=2048)
    redirect_url: StrictStr | None = Field(
        default=None,
        max_length=2048,
        description="Where the checkout page sends the customer once paid",
    )
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
            redirect_url=self.redirect_url,
            metadata=self.metadata,
            price=None if self.price is None else (self.price.amount, self.price.currency),
            accept=None if self.accept is None else tuple((o.chain, o.asset) for o in self.accept),
        )


STATUSES = tuple(status.value for status in OrderStatus)


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail
