"""What Tatum holds for this API key, judged against the open orders (for the CLI)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chains.tatum.api import Subscription, TatumApi
from chains.tatum.networks import TatumNetwork
from daemon.storage.database import Database
from daemon.tatum import subscription_rows as rows
from daemon.tatum.keeper import address_key

NEEDED = "needed"  # ours, and an open order's address
UNNEEDED = "unneeded"  # ours, but no open order needs it (or a second one for an address)
FOREIGN = "foreign"  # notifies another URL: not paywatch's (or another instance's)


@dataclass(frozen=True, slots=True)
class Listed:
    subscription: Subscription
    state: str
    chain: str | None  # the paywatch chain, for needed ones


@dataclass(frozen=True, slots=True)
class Inventory:
    listed: list[Listed]
    without: list[rows.Wanted]  # open orders that have no subscription yet

    def count(self, state: str) -> int:
        return sum(1 for item in self.listed if item.state == state)


def judge(
    remote: Sequence[Subscription],
    wanted: Sequence[rows.Wanted],
    networks: Mapping[str, TatumNetwork],
    notify_url: str | None,
) -> Inventory:
    needs = {address_key(networks[w.chain].code, w.address): w for w in wanted}
    served: set[tuple[str, str]] = set()
    listed = []
    for sub in remote:
        key = address_key(sub.chain, sub.address)
        if notify_url is None or sub.url != notify_url:
            listed.append(Listed(sub, FOREIGN, None))
        elif key in needs and key not in served:
            served.add(key)
            listed.append(Listed(sub, NEEDED, needs[key].chain))
        else:
            listed.append(Listed(sub, UNNEEDED, None))
    without = [w for key, w in needs.items() if key not in served]
    return Inventory(listed, without)


async def take_inventory(
    db: Database, api: TatumApi, networks: Mapping[str, TatumNetwork], notify_url: str | None
) -> Inventory:
    remote = await api.subscriptions()
    wanted = await db.run_read(lambda c: rows.open_addresses(c, list(networks)))
    return judge(remote, wanted, networks, notify_url)


async def prune(db: Database, api: TatumApi, inventory: Inventory) -> int:
    """Delete the unneeded ones at Tatum (and paywatch's rows of them); how many."""
    doomed = [item.subscription.id for item in inventory.listed if item.state == UNNEEDED]
    for sub_id in doomed:
        await api.delete_subscription(sub_id)
    await db.run(lambda c: rows.forget(c, doomed))
    return len(doomed)
