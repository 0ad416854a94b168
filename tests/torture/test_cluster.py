"""Torture of several instances on one PostgreSQL: three `paywatch run` processes, two
anvil chains (so the leases spread), one verifying store.

Orders are made round-robin through the three APIs (some expire soon, unpaid or part
paid, so the jobs lease must work too), payments stream in (native ETH and an ERC-20,
full, part and over), blocks are mined on both chains, and a seeded plan SIGKILLs any
member at a random moment, the leader of a chain included, and starts it again. Each
kill of a leader is timed until a live member names another leader (at most 10 s).
At the end, once quiet: every order's money is the chain's (walked on the node), each
fact reached the store under exactly one webhook-id and every status move was legal,
every member shows the same orders, each chain has exactly one leader by the metric,
and no member's log repeats an error.

Seeds: tests/torture/seeding.py; CI runs the first fixed seed (three daemons are slow),
``./dev torture --seed N --rounds N`` replays or lengthens a run.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.e2e.conftest import Installation
from tests.integration.webhooks.conftest import SECRET, webhooks_yaml
from tests.support.anvil import anvil_available, anvil_node
from tests.support.keys import ETH_XPUB
from tests.support.postgres import free_port
from tests.torture.chain_truth import evm_truth
from tests.torture.cluster import Cluster, leader_metric
from tests.torture.daemon import Daemon
from tests.torture.evm_node import EvmNode
from tests.torture.log_loops import error_loops
from tests.torture.play import decimal_amount
from tests.torture.seeding import rounds, seeds
from tests.torture.store import store_process
from tests.torture.store_log import problems, read_log
from tests.torture.verdict import differences, parse_time, payment_differences

pytestmark = [
    pytest.mark.skipif(not anvil_available(), reason="anvil missing: ./dev setup"),
    pytest.mark.postgres,
]

CHAINS = ("eth", "arb")
MEMBERS = 3
CONFIRMATIONS = 2
SHORT_EXPIRY = 15  # seconds: orders left unpaid or part paid, for the jobs lease
TAKEOVER_LIMIT = 10.0
SHARES = (100, 100, 100, 40, 130)


@dataclass(frozen=True)
class Move:
    kind: str  # create | pay | mine | pause | kill | restart
    chain: str = ""
    asset: str = ""
    pick: int = 0  # an order's ordinal (modulo those made), or a member (kill)
    share: int = 100  # percent of the amount due
    count: int = 0  # blocks
    delay: float = 0.0  # seconds
    target: str = ""  # kill: a chain (its leader) or "" (the member ``pick``)
    short: bool = False  # create: an order that expires soon and is never paid in full


def plan(seed: int, rounds: int) -> list[list[Move]]:
    """Each round: a few bursts of orders, payments, blocks and short pauses, with a
    SIGKILL in one burst (always in round 0, and then of a chain's leader), and every
    member running again at the round's end."""
    rng = random.Random(seed)
    out = []
    for number in range(rounds):
        moves: list[Move] = []
        bursts = rng.randint(2, 4)
        kill_in = rng.randrange(bursts) if number == 0 or rng.random() < 0.75 else -1
        for burst in range(bursts):
            if burst == kill_in:
                leader = number == 0 or rng.random() < 0.6
                target = rng.choice(CHAINS) if leader else ""
                pick, delay = rng.randrange(MEMBERS), rng.uniform(0, 2)
                moves.append(Move("kill", pick=pick, target=target, delay=delay))
            for _ in range(rng.randint(1, 3)):
                chain, asset = rng.choice(CHAINS), rng.choice(("ETH", "USDC"))
                moves.append(Move("create", chain, asset, short=rng.random() < 0.15))
            for _ in range(rng.randint(1, 3)):
                moves.append(Move("pay", pick=rng.randrange(10**6), share=rng.choice(SHARES)))
            moves.append(Move("mine", rng.choice(CHAINS), count=rng.randint(1, 2)))
            moves.append(Move("pause", delay=rng.uniform(0.2, 1.5)))
        moves.append(Move("restart", delay=rng.uniform(0, 3)))
        out.append(moves)
    return out


def config(port: int, metrics: int, nodes: dict[str, EvmNode], store: str, url: str) -> str:
    chains = "".join(
        f"""
  {name}:
    type: evm
    chain_id: 31337
    xpub: {ETH_XPUB}
    confirmations: {CONFIRMATIONS}
    native: {{symbol: ETH, decimals: 18}}
    tokens: {{USDC: {{contract: "{evm.token}", decimals: 6}}}}
    backend: {{kind: rpc, urls: ["{evm.node.url}"], ws_url: "{evm.node.ws_url}", poll_interval: 1s}}
"""
        for name, evm in nodes.items()
    )
    return f"""
database_url: {url}
api: {{listen: "127.0.0.1:{port}", public_url: "https://pay.cluster.example"}}
metrics: {{listen: "127.0.0.1:{metrics}"}}
orders: {{expires_in: 6h, late_window: 24h, underpaid_tolerance_percent: 0}}
chains:{chains}
{webhooks_yaml(store, timeout="5s", poll_interval="1s")}"""


class ClusterPlayer:
    def __init__(self, seed: int, cluster: Cluster, nodes: dict[str, EvmNode], log: Path):
        self.seed = seed
        self.cluster = cluster
        self.nodes = nodes
        self.store_log = log
        self.rng = random.Random(seed + 1)
        self.starts = {name: evm.tip() for name, evm in nodes.items()}
        self.orders: list[dict[str, Any]] = []  # paid at will
        self.short: list[dict[str, Any]] = []  # expire soon, never paid in full
        self.turn = 0
        self.steps: list[str] = []

    def play(self, rounds: list[list[Move]]) -> None:
        for number, moves in enumerate(rounds):
            for move in moves:
                self.steps.append(f"round {number}: {move}")
                self.move(move)

    def move(self, move: Move) -> None:
        cluster = self.cluster
        if move.kind == "create":
            ref = f"cluster-{self.seed}-{len(self.orders) + len(self.short)}"
            body: dict[str, Any] = {"order_id": ref, "chain": move.chain, "asset": move.asset}
            body["amount"] = self.amount(move.asset)
            if move.short:
                self.short.append(self.create({**body, "expires_in": SHORT_EXPIRY}))
                if self.rng.random() < 0.5:
                    self.pay(self.short[-1], 40)
            else:
                self.orders.append(self.create(body))
        elif move.kind == "pay" and self.orders:
            self.pay(self.orders[move.pick % len(self.orders)], move.share)
        elif move.kind == "mine":
            self.nodes[move.chain].mine(move.count)
        elif move.kind == "pause":
            time.sleep(move.delay)
        elif move.kind == "kill" and len(cluster.alive()) == MEMBERS:
            number = cluster.leader_member(move.target) if move.target else move.pick
            cluster.kill_later(number, move.delay)
        elif move.kind == "restart":
            cluster.await_kill()
            time.sleep(move.delay)
            cluster.start_all()

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST the order to the member whose turn it is; if that member dies under the
        request, to the next live one with the same Idempotency-Key (the order may have
        been committed: it is then answered, not made twice)."""
        for attempt in range(10):
            member = self.cluster.next_alive(self.turn)
            self.turn += 1
            try:
                with member.client() as client:
                    answer = client.post("/v1/orders", json=body,
                                         headers={"Idempotency-Key": body["order_id"]})  # fmt: skip
            except httpx.HTTPError as exc:
                self.steps.append(f"create {body['order_id']} (attempt {attempt}): {exc!r}")
                time.sleep(0.2)
                continue
            assert answer.status_code == 201, f"seed {self.seed}: {body}: {answer.text}"
            made: dict[str, Any] = answer.json()
            return made
        raise AssertionError(f"seed {self.seed}: no member made {body}")

    def amount(self, asset: str) -> str:
        if asset == "ETH":
            return decimal_amount(self.rng, 100, 50_000, 6)
        return decimal_amount(self.rng, 100, 99_999, 2)

    def pay(self, order: dict[str, Any], percent: int) -> None:
        evm = self.nodes[order["chain"]]
        base = max(1, int(order["amount_base"]) * percent // 100)
        if order["asset"] == "ETH":
            evm.pay_native(order["address"], base)
        else:
            evm.pay_token(order["address"], base)

    # -- the verdict --------------------------------------------------------------------
    def finish(self) -> None:
        cluster = self.cluster
        cluster.await_kill()
        cluster.start_all()
        cluster.settle()
        for evm in self.nodes.values():
            evm.mine(CONFIRMATIONS + 1)
        everything = self.orders + self.short
        ids = [o["id"] for o in everything]
        first = cluster.members[0]
        self.wait_for_expiry(first)
        tips = {name: evm.tip for name, evm in self.nodes.items()}
        views = first.quiesce(ids, tips)
        found = []
        for chain, evm in self.nodes.items():
            mine = [o for o in everything if o["chain"] == chain]
            where = {o["id"]: str(o["address"]).lower() for o in mine}
            truth = evm_truth(evm.node, self.starts[chain], list(where.values()),
                              {"USDC": evm.token}, "ETH")  # fmt: skip
            chain_views = {i: v for i, v in views.items() if i in where}
            found += differences(self.seed, chain_views, truth, where=where, cancelled=())
            found += payment_differences(self.seed, chain_views, truth, where=where)
        log = read_log(self.store_log, bitcoin=False)
        found += [f"store: {p}" for p in problems(log, orders=ids, vanished=(), moved=())]
        for order_id, view in views.items():
            seen = [d for d in log if d.order_id == order_id]
            if seen and seen[-1].status != view["status"]:
                found.append(f"order {order_id} is {view['status']}, the store last heard "
                             f"{seen[-1].status}")  # fmt: skip
        for number, member in enumerate(cluster.members[1:], start=1):
            if member.views(ids) != views:
                found.append(f"member {number} shows other order views than member 0")
        found += self.leader_differences()
        for number, member in enumerate(cluster.members):
            found += [f"member {number} log: {loop}" for loop in error_loops(member.inst.log())]
        takeovers = ", ".join(f"{t.chain} {t.seconds:.1f}s" for t in cluster.takeovers)
        summary = (
            f"cluster torture seed {self.seed}: {len(ids)} orders ({len(self.short)} expiring "
            f"soon) through {MEMBERS} members, {cluster.kills} SIGKILLs, "
            f"{len(cluster.takeovers)} leader takeovers: {takeovers or 'none'}"
        )
        print(summary)
        slow = [t for t in cluster.takeovers if t.seconds > TAKEOVER_LIMIT]
        found += [f"takeover of {t.chain} after killing {t.killed}: {t.seconds:.1f}s" for t in slow]
        assert not found, (
            summary + "\n" + "\n".join(f"seed {self.seed}: {f}" for f in found)
            + "\nsteps:\n" + "\n".join(self.steps[-60:])
        )  # fmt: skip

    def wait_for_expiry(self, member: Daemon) -> None:
        """Every short order past its expiry must end expired (the jobs lease's work)."""
        if not self.short:
            return
        last = max(parse_time(o["expires_at"]) for o in self.short)
        time.sleep(max(0.0, (last - datetime.now(UTC)).total_seconds()))
        deadline = time.monotonic() + 60
        while True:
            views = member.views([o["id"] for o in self.short])
            waiting = [i for i, v in views.items() if v["status"] == "pending"]
            if not waiting:
                return
            assert time.monotonic() < deadline, f"seed {self.seed}: never expired: {waiting}"
            time.sleep(0.5)

    def leader_differences(self) -> list[str]:
        """Each chain led by exactly one member by ``paywatch_chain_leader``."""
        deadline = time.monotonic() + 15
        while True:
            metrics = [leader_metric(port) for port in self.cluster.metrics_ports]
            sums = {c: sum(m.get(c, 0) for m in metrics) for c in CHAINS}
            if all(total == 1 for total in sums.values()):
                return []
            if time.monotonic() > deadline:
                return [f"paywatch_chain_leader summed over the members: {sums}"]
            time.sleep(0.5)


@pytest.mark.parametrize("seed", seeds()[:1] if len(seeds()) > 1 else seeds())
def test_cluster_torture(seed: int, tmp_path: Path, postgres_server: str) -> None:
    print(f"cluster torture seed {seed}: PAYWATCH_TORTURE_SEED={seed} ./dev torture replays it")
    name = f"cluster_{seed}_{datetime.now(UTC):%H%M%S%f}"
    admin = create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        with (
            anvil_node("--no-mining") as one,
            anvil_node("--no-mining") as two,
            store_process(tmp_path, SECRET) as (store, log),
        ):
            nodes = {}
            for number, (chain, node) in enumerate(zip(CHAINS, (one, two), strict=True)):
                nodes[chain] = EvmNode(node, random.Random(seed + 2 + number))
                nodes[chain].setup()
            members, ports = [], []
            for number in range(MEMBERS):
                workdir = tmp_path / f"member{number}"
                workdir.mkdir()
                inst = Installation(workdir, free_port())
                ports.append(free_port())
                url = f"{postgres_server}/{name}"
                inst.config.write_text(config(inst.port, ports[-1], nodes, store, url))
                members.append(Daemon(inst, seed))
            members[0].prepare()
            for member in members[1:]:
                member.key = members[0].key
            cluster = Cluster(members, ports, CHAINS)
            try:
                player = ClusterPlayer(seed, cluster, nodes, log)
                cluster.start_all()
                player.play(plan(seed, rounds()))
                player.finish()
            finally:
                cluster.stop_all()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
