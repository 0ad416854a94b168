"""Cancel, payments and expiry racing on the same orders, on both databases.

Four threads per round, released together over the same fresh orders, each with its
own container (engine and pool), as the API, a watcher and the job runner would be:
one cancels, one applies block observations that pay each order in full (then
confirms them), one sends a second small payment to some orders (a second writer on
the chain, each of its transactions locking orders in descending order over two
statements), one runs the expiry job. Afterwards every order's events must be a legal
path through the transition table, an order the cancel answered for must be
cancelled and never paid afterwards, and what the order received must be what was
sent.

``PAYWATCH_RACE_ROUNDS`` (default 4) and ``PAYWATCH_RACE_SEED`` run it longer or
again; the seed is printed.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Connection, select

from daemon.domain.payments import Transfer, TransferKey
from daemon.domain.states import TRANSITIONS, EventType, OrderStatus
from daemon.runtime.container import Container
from daemon.services.errors import Conflict
from daemon.services.order_changes import Observation
from daemon.services.orders import NewOrder
from daemon.storage.tables import events, orders
from tests.integration.conftest import ContainerFactory
from tests.support.clock import ManualClock

ROUNDS = int(os.environ.get("PAYWATCH_RACE_ROUNDS", "4"))
SEED = int(os.environ.get("PAYWATCH_RACE_SEED", "1313"))
ORDERS = 16
DUE = 1_500_000  # 0.015 BTC
TIP = 1_000
S = OrderStatus
E = EventType
STATUS_OF = {E.PAID: S.PAID, E.EXPIRED: S.EXPIRED, E.CANCELLED: S.CANCELLED, E.INVALID: S.INVALID}
PAYMENT_REPORTS = {E.PAYMENT_DETECTED, E.PAYMENT_CONFIRMED, E.PAYMENT_REVERSED}


@dataclass
class Planned:
    id: str
    seq: int
    script: bytes
    late: bool  # the full payment is first seen after expiry
    tipped: bool  # a second, small payment is sent too
    cancel_answered: bool = False
    sent: int = 0


@dataclass
class Round:
    orders: list[Planned]
    created: datetime
    errors: list[BaseException] = field(default_factory=list)


def reachable(before: OrderStatus, after: OrderStatus) -> bool:
    """In one move, or through an unreported move into pending or processing."""
    if after in TRANSITIONS[before]:
        return True
    return any(
        mid in TRANSITIONS[before] and after in TRANSITIONS[mid]
        for mid in (S.PENDING, S.PROCESSING)
    )


def path_problems(types: Sequence[EventType], final: OrderStatus) -> list[str]:
    """What is wrong with one order's events (no reorgs here, so paid is final too)."""
    if not types or types[0] is not E.CREATED:
        return [f"does not start with order.created: {types}"]
    status = S.PENDING
    problems = []
    for t in types[1:]:
        if t in PAYMENT_REPORTS:
            continue  # a payment is always recorded and reported, even to a closed order
        if t is E.PAID_LATE:
            if status is not S.EXPIRED:
                problems.append(f"paid_late while {status}")
            continue
        after = STATUS_OF[t]
        if status in (S.CANCELLED, S.PAID) or not reachable(status, after):
            problems.append(f"{t} after {status}")
        status = after
    if final != status and not (status is S.PENDING and final is S.PROCESSING):
        problems.append(f"ends {final}, its events say {status}")
    return problems


def new_round(c: Container, clock: ManualClock, rng: random.Random, number: int) -> Round:
    created = clock()
    planned = []
    for i in range(ORDERS):
        request = NewOrder(
            order_id=f"race-{number}-{i}", chain="btc", asset="BTC", amount_base=str(DUE)
        )
        with c.db.transaction() as conn:
            view = c.orders.create(conn, request, created).view
            row = conn.execute(
                select(orders.c.seq, orders.c.script).where(orders.c.id == view["id"])
            ).one()
        late, tipped = rng.random() < 0.25, rng.random() < 0.5
        planned.append(Planned(view["id"], row.seq, row.script, late, tipped))
    # Everything below happens after expiry, inside the late window.
    clock.advance(minutes=20)
    return Round(planned, created)


def observation(order: Planned, tx: str, amount: int, seen_at: datetime, conf: int) -> Observation:
    transfer = Transfer(TransferKey(tx, 0), amount, seen_at, conf)
    return Observation("btc", order.script, "BTC", transfer, 800_000, "00" * 32)


def batches(rng: random.Random, items: list[Planned]) -> list[list[Planned]]:
    shuffled = items[:]
    rng.shuffle(shuffled)
    out = []
    while shuffled:
        size = rng.randint(1, 4)
        out.append(shuffled[:size])
        shuffled = shuffled[size:]
    return out


def record_descending(c: Container, observations: list[Observation], seqs: list[int]) -> None:
    """One transaction, two record() calls: the higher orders first, then the lower."""
    pairs = sorted(zip(seqs, observations, strict=True), key=lambda p: -p[0])
    half = max(1, len(pairs) // 2)

    def work(conn: Connection) -> None:
        now = c.clock()
        c.orders.changes.record(conn, [o for _, o in pairs[:half]], now)
        if pairs[half:]:
            c.orders.changes.record(conn, [o for _, o in pairs[half:]], now)

    c.db.write(work)


def pay(c: Container, rnd: Round, rng: random.Random, tx_prefix: str, tips: bool) -> None:
    targets = [o for o in rnd.orders if o.tipped] if tips else rnd.orders
    for conf in (1, 2):
        for batch in batches(rng, targets):
            observations = []
            for order in batch:
                tx = hashlib.sha256(f"{tx_prefix}-{order.id}".encode()).hexdigest()
                if tips:
                    seen, amount = rnd.created + timedelta(minutes=3), TIP
                else:
                    minutes = 17 if order.late else 5
                    seen, amount = rnd.created + timedelta(minutes=minutes), DUE
                observations.append(observation(order, tx, amount, seen, conf))
            record_descending(c, observations, [o.seq for o in batch])
            time.sleep(rng.random() * 0.002)
    for order in targets:
        order.sent += TIP if tips else DUE


def cancel(c: Container, rnd: Round, rng: random.Random) -> None:
    for order in rng.sample(rnd.orders, len(rnd.orders)):
        try:
            with c.db.transaction() as conn:
                c.orders.cancel(conn, order.id, c.clock())
        except Conflict:
            continue
        order.cancel_answered = True
        time.sleep(rng.random() * 0.002)


def expire(c: Container, done: threading.Event) -> None:
    while True:
        last = done.is_set()
        c.db.write(lambda conn: c.orders.refresh_due(conn, c.clock()))
        if last:
            return
        time.sleep(0.001)


def run_round(containers: list[Container], rnd: Round, rng: random.Random) -> None:
    seeds = [rng.random() for _ in range(3)]
    done = threading.Event()
    barrier = threading.Barrier(4)
    workers: list[Callable[[], None]] = [
        lambda: cancel(containers[0], rnd, random.Random(seeds[0])),
        lambda: pay(containers[1], rnd, random.Random(seeds[1]), "pay", tips=False),
        lambda: pay(containers[2], rnd, random.Random(seeds[2]), "tip", tips=True),
    ]

    def run(work: Callable[[], None]) -> None:
        barrier.wait()
        try:
            work()
        except BaseException as exc:
            rnd.errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    expiry = threading.Thread(target=run, args=(lambda: expire(containers[3], done),))
    for t in [*threads, expiry]:
        t.start()
    for t in threads:
        t.join(120)
    done.set()
    expiry.join(120)


def check_round(c: Container, rnd: Round) -> list[str]:
    problems = [f"a thread failed: {e!r}" for e in rnd.errors]
    for order in rnd.orders:

        def read(conn: Connection, o: Planned = order) -> tuple[list[EventType], str, int]:
            rows = conn.execute(
                select(events.c.type).where(events.c.order_seq == o.seq).order_by(events.c.seq)
            )
            stored = conn.execute(
                select(orders.c.status, orders.c.received_base).where(orders.c.seq == o.seq)
            ).one()
            return [EventType(r.type) for r in rows], stored.status, stored.received_base

        types, stored_status, received = c.db.read(read)
        status = S(stored_status)
        found = [f"{order.id}: {p}" for p in path_problems(types, status)]
        if order.cancel_answered and status is not S.CANCELLED:
            found.append(f"{order.id}: the cancel answered, the order ends {status}")
        if not order.cancel_answered and status is S.CANCELLED:
            found.append(f"{order.id}: cancelled, but every cancel was refused")
        if E.CANCELLED in types and E.PAID in types[types.index(E.CANCELLED) :]:
            found.append(f"{order.id}: paid after it was cancelled")
        if received != order.sent:
            found.append(f"{order.id}: received {received}, sent {order.sent}")
        if found:
            found.append(f"{order.id}: events {[str(t) for t in types]}")
        problems.extend(found)
    return problems


@pytest.mark.parametrize("db_kind", ["postgresql", "sqlite"], indirect=True)
def test_cancel_payments_and_expiry_racing_keep_every_order_on_a_legal_path(
    make_container: ContainerFactory, db_kind: str
) -> None:
    print(f"order races on {db_kind}: PAYWATCH_RACE_SEED={SEED} PAYWATCH_RACE_ROUNDS={ROUNDS}")
    rng = random.Random(SEED)
    clock = ManualClock()
    first = make_container(clock=clock)
    url = first.config.database_url
    containers = [first, *(make_container(clock=clock, url=url) for _ in range(3))]
    problems: list[str] = []
    outcomes: dict[str, int] = {}
    for n in range(ROUNDS):
        rnd = new_round(first, clock, rng, n)
        run_round(containers, rnd, rng)
        problems.extend(f"round {n}: {p}" for p in check_round(first, rnd))
        for order in rnd.orders:
            key = "cancelled" if order.cancel_answered else "not cancelled"
            outcomes[key] = outcomes.get(key, 0) + 1
    print(f"orders: {outcomes}")
    assert problems == [], "\n".join(problems[:40])
