"""The page status a customer sees for each order status and exception."""

from __future__ import annotations

import pytest

from daemon.checkout.state import digest, page_status
from daemon.domain.states import OrderException, OrderStatus

S, X = OrderStatus, OrderException


@pytest.mark.parametrize(
    ("status", "exception", "page"),
    [
        (S.PENDING, X.NONE, "waiting"),
        (S.PENDING, X.UNDERPAID, "underpaid"),
        (S.PROCESSING, X.NONE, "seen"),
        (S.PROCESSING, X.OVERPAID, "seen"),
        (S.PAID, X.NONE, "paid"),
        (S.PAID, X.UNDERPAID, "paid"),  # within the tolerance: paid
        (S.PAID, X.OVERPAID, "overpaid"),
        (S.EXPIRED, X.NONE, "expired"),
        (S.EXPIRED, X.UNDERPAID, "expired"),
        (S.EXPIRED, X.PAID_LATE, "expired"),
        (S.CANCELLED, X.NONE, "cancelled"),
        (S.INVALID, X.NONE, "invalid"),
    ],
)
def test_page_status(status: OrderStatus, exception: OrderException, page: str) -> None:
    assert page_status(status, exception) == page


def test_every_status_and_exception_has_a_page_status() -> None:
    pages = {page_status(s, x) for s in OrderStatus for x in OrderException}
    assert pages == {
        "waiting", "seen", "paid", "expired", "underpaid", "overpaid", "cancelled", "invalid"
    }  # fmt: skip


def test_the_digest_changes_with_everything_the_page_shows() -> None:
    base: list[str | int] = ["pending", "none", 0, 0, 0, 0, 0, 1]
    seen = set()
    for i in range(-1, len(base)):
        changed = list(base)
        if i >= 0:
            value = changed[i]
            changed[i] = value + 1 if isinstance(value, int) else "paid"
        s, x, *numbers = changed
        seen.add(digest(str(s), str(x), *(int(n) for n in numbers)))
    assert len(seen) == len(base) + 1
