"""What asking for a rate can go wrong with.

The two refusals are service errors (the API's table turns their kinds into 422 and
503); :class:`SourceFailure` is one source failing one request, counted by kind and
never passed on: the other sources still answer."""

from __future__ import annotations

from daemon.errors import PaywatchError
from daemon.services.errors import InvalidRequest, Kind, ServiceError


class UnknownCurrency(InvalidRequest):
    """No configured source quotes the currency (and no fixed rate names it)."""

    def __init__(self, currency: str) -> None:
        super().__init__("unknown_currency", f"no rate source quotes {currency[:16]!r}")


class RatesUnavailable(ServiceError):
    """Too few fresh answers for a quote (or rates are off)."""

    kind = Kind.UNAVAILABLE

    def __init__(self, message: str) -> None:
        super().__init__("rates_unavailable", message)


class SourceFailure(PaywatchError):
    """One request to one source failed; ``kind`` is how (for the metrics):
    ``timeout``, ``connect``, ``status`` (an HTTP error), ``malformed`` (a body not in
    the documented format) or ``refused`` (the API's own error answer)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
