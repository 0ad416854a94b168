"""``GET /v1/rates?currency=EUR``: the daemon's cached exchange rates (daemon.rates),
each asset's median and each source's answer, its age and whether it counted. Served
and published only when the config has a ``rates:`` section (as Tatum's route only
when its notifications are on)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typing_extensions import TypedDict

from daemon.api.auth import requires_key
from daemon.api.params import query_text
from daemon.rates.errors import RatesUnavailable, UnknownCurrency
from daemon.runtime.container import Container
from daemon.services import json_codec
from daemon.services.order_shape import shape_schemas


class RateSourceAnswer(TypedDict):
    name: str  # kraken, coinbase, bitstamp ... or fixed
    value: str | None  # its latest answer (currency per one unit of the asset)
    age_seconds: int | None
    ok: bool  # the answer counted in the median (fresh, agreeing)


class Rate(TypedDict):
    asset: str
    value: str | None  # the median; null when too few sources count
    sources: list[RateSourceAnswer]


class Rates(TypedDict):
    currency: str
    rates: list[Rate]


def rate_routes(container: Container) -> list[Route]:
    if container.config.rates is None:
        return []

    async def get_rates(request: Request) -> Response:
        book = container.rates
        if book is None:
            raise RatesUnavailable("rates are off: the config has no rates: section")
        asked = query_text(request, "currency", 16)
        currency = book.currencies[0] if asked is None else asked
        if currency.upper() not in book.currencies:  # exactly a configured code, any case
            raise UnknownCurrency(currency)
        view: Rates = book.view(currency)  # type: ignore[assignment]
        return Response(json_codec.dumps_bytes(view), 200, media_type="application/json")

    return [Route("/v1/rates", requires_key(container.db, get_rates), methods=["GET"])]


def currency_pattern(currencies: list[str]) -> str:
    """The configured currency codes in any case (``[Ee][Uu][Rr]``), as JSON Schema says it."""
    codes = ("".join(f"[{c.upper()}{c.lower()}]" for c in code) for code in currencies)
    return f"^({'|'.join(codes)})$"


def rate_paths(
    errors: Any, query: Any, json_content: Any, ref_template: str, currencies: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The OpenAPI path of the route and the schemas it uses (``errors``, ... from
    openapi.py)."""
    (rates,), schemas = shape_schemas(Rates, ref_template=ref_template)
    unavailable = {
        **errors(503)["503"],
        "description": "Rates are off (no rates: in config)",
    }
    paths = {
        "/v1/rates": {
            "get": {
                "summary": "Exchange rates of the configured assets in one currency",
                "description": "Each asset's rate (the median of the fresh source answers "
                "that agree; null when fewer than rates.min_sources do) and each source's "
                "latest answer, its age and whether it counted. 422 unknown_currency for a "
                "currency no source quotes.",
                "operationId": "get_rates",
                "parameters": [
                    query(
                        "currency",
                        {"type": "string", "pattern": currency_pattern(currencies)},
                        "Fiat currency (default: the first of rates.currencies)",
                    )
                ],
                "responses": {
                    "200": json_content(rates, "The rates"),
                    **errors(401, 422),
                    "503": unavailable,
                },
            }
        }
    }
    return paths, schemas
