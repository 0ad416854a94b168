"""Keeps Tatum's address subscriptions in step with the open orders.

Each open order on a chain watched through Tatum gets one ``ADDRESS_EVENT`` subscription
(native, token and internal transfers) pointing at ``tatum.notify_url``; it is deleted
when the order closes (each costs credits per day). The keeper wakes whenever the
daemon commits (an order created, paid, expired...) and on a timer.

Reconciling compares what Tatum holds with the ``tatum_subscriptions`` rows: at start-up
and every ``reconcile_interval``. A subscription of ours (same ``notify_url``) that no
row knows is adopted when an open order needs it (a crash between creating and
recording it) and deleted otherwise; a row Tatum no longer has is dropped, so the next
round creates it again. Subscriptions with another URL belong to someone else and are
never touched.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from chains.retry import Backoff, Retry
from chains.tatum.api import TatumApi, TatumError, TatumUnavailable
from chains.tatum.networks import TatumNetwork
from chains.waiting import wait_for_any
from daemon.storage.database import Database
from daemon.tatum import subscription_rows as rows

log = logging.getLogger("paywatch.tatum")

DEBOUNCE = 0.05  # seconds: commits in a burst make one round
RETRY = Retry(initial=1.0, factor=2.0, maximum=300.0)  # after a failure: 1, 2, 4 ... 300 s


def address_key(code: str, address: str) -> tuple[str, str]:
    """How Tatum's listing is matched with orders (EVM addresses in any case)."""
    return code, address.lower() if address[:2].lower() == "0x" else address


@dataclass
class Reconciled:
    adopted: int = 0
    deleted: int = 0
    forgotten: int = 0


class SubscriptionKeeper:
    def __init__(
        self,
        db: Database,
        api: TatumApi,
        networks: Mapping[str, TatumNetwork],  # chain name -> Tatum network, Tatum chains only
        notify_url: str,
        clock: Callable[[], datetime],
        *,
        reconcile_interval: float = 600.0,
        hmac_secret: str | None = None,
    ) -> None:
        self.db = db
        self.api = api
        self.networks = dict(networks)
        self.notify_url = notify_url
        self.clock = clock
        self.reconcile_interval = reconcile_interval
        self.hmac_secret = hmac_secret
        self._wake = asyncio.Event()
        self._reconcile_due = True  # once at start, then when the schedule asks
        self._refused: set[tuple[str, bytes]] = set()  # Tatum refused these addresses

    def wake(self) -> None:
        self._wake.set()

    async def request_reconcile(self) -> None:
        """Reconcile on the next round (the daemon's ``tatum.reconcile`` job)."""
        self._reconcile_due = True
        self._wake.set()

    async def sync(self) -> tuple[int, int]:
        """Delete subscriptions no open order needs, create missing ones: (created, deleted)."""
        chains = list(self.networks)
        deleted = 0
        for sub in await self.db.run_read(lambda c: rows.surplus(c, chains)):
            await self.api.delete_subscription(sub.id)
            await self.db.run(functools.partial(rows.forget, ids=[sub.id]))
            deleted += 1
        created = 0
        for wanted in await self.db.run_read(lambda c: rows.missing(c, chains)):
            if (wanted.chain, wanted.script) not in self._refused:
                created += await self._create(wanted)
        if created or deleted:
            log.info("tatum: %d subscriptions created, %d deleted", created, deleted)
        return created, deleted

    async def _create(self, wanted: rows.Wanted) -> int:
        network = self.networks[wanted.chain]
        try:
            sub_id = await self.api.create_subscription(
                wanted.address, network.code, self.notify_url, testnet=network.testnet
            )
        except TatumError as exc:
            if "exists" in exc.code:  # made by a run that crashed before recording it
                self._refused.add((wanted.chain, wanted.script))  # unless it is adopted now
                await self.reconcile()
                return 0
            if exc.status == 401:
                raise  # the API key is wrong: nothing else will work either
            log.error("tatum: no subscription for %s on %s: %s", wanted.address, wanted.chain, exc)
            self._refused.add((wanted.chain, wanted.script))
            return 0
        try:
            await self.db.run(lambda c: rows.record(c, sub_id, wanted, self.clock()))
        except IntegrityError:  # another instance subscribed it meanwhile
            await self.api.delete_subscription(sub_id)
            return 0
        return 1

    async def reconcile(self) -> Reconciled:
        remote = [s for s in await self.api.subscriptions() if s.url == self.notify_url]
        known = await self.db.run_read(rows.held)
        wanted = await self.db.run_read(lambda c: rows.open_addresses(c, list(self.networks)))
        codes = {name: net.code for name, net in self.networks.items()}
        needs = {address_key(codes[w.chain], w.address): w for w in wanted}
        known_ids = {h.id for h in known}
        taken = {(h.chain, h.script) for h in known}
        report = Reconciled()
        for sub in remote:
            if sub.id in known_ids:
                continue
            need = needs.get(address_key(sub.chain, sub.address))
            if need is not None and (need.chain, need.script) not in taken:
                now = self.clock()
                await self.db.run(
                    functools.partial(rows.record, subscription_id=sub.id, wanted=need, now=now)
                )
                self._refused.discard((need.chain, need.script))
                taken.add((need.chain, need.script))
                report.adopted += 1
            else:
                await self.api.delete_subscription(sub.id)
                report.deleted += 1
        remote_ids = {s.id for s in remote}
        gone = [h.id for h in known if h.id not in remote_ids]
        await self.db.run(lambda c: rows.forget(c, gone))
        report.forgotten = len(gone)
        if report.adopted or report.deleted or report.forgotten:
            log.info(
                "tatum: reconciled: %d adopted, %d deleted at Tatum, %d recreated",
                report.adopted,
                report.deleted,
                report.forgotten,
            )
        return report

    async def run(self, stop: asyncio.Event) -> None:
        """Set the HMAC secret, reconcile, then sync on every wake (reconciling again when
        asked) until ``stop``. Tatum's failures (a wrong API key included) are logged and
        retried with backoff."""
        backoff = Backoff(RETRY)
        hmac_set = self.hmac_secret is None
        while not stop.is_set():
            self._wake.clear()
            try:
                if not hmac_set and self.hmac_secret is not None:
                    await self.api.set_hmac_secret(self.hmac_secret)
                    hmac_set = True
                if self._reconcile_due:
                    self._reconcile_due = False
                    try:
                        await self.reconcile()
                    except BaseException:
                        self._reconcile_due = True
                        raise
                await self.sync()
                backoff.succeeded()
            except Exception as exc:  # Tatum down or refusing, or the database
                pause = backoff.failed()
                if isinstance(exc, TatumUnavailable | TatumError):
                    log.warning("tatum: %s (retrying in %.0fs)", exc, pause)
                else:
                    log.exception("tatum: keeping subscriptions failed (retrying in %.0fs)", pause)
                await wait_for_any(stop, timeout=pause)
                continue
            await wait_for_any(stop, self._wake, timeout=self.reconcile_interval)
            await asyncio.sleep(DEBOUNCE)


__all__ = ["Reconciled", "SubscriptionKeeper", "address_key"]
