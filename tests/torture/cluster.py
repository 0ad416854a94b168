"""Several `paywatch run` processes on one PostgreSQL, as the cluster torture drives
them: each member is a :class:`~tests.torture.daemon.Daemon` with its own API and
metrics port; who leads each chain is read from a live member's ``/readyz``; a
SIGKILL of a leader starts a watch that times the takeover (the kill until a live
member names another instance as the chain's leader).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field

import httpx

from tests.torture.daemon import Daemon

TAKEOVER_WAIT = 30.0  # seconds a takeover is watched before it counts as never


@dataclass(frozen=True)
class Takeover:
    chain: str
    killed: str  # the killed leader's instance id
    seconds: float  # math.inf: nobody took over within TAKEOVER_WAIT
    new_leader: str | None


def leader_metric(metrics_port: int) -> dict[str, float]:
    """``paywatch_chain_leader`` per chain as one member's /metrics shows it."""
    body = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    found = re.findall(r'^paywatch_chain_leader\{chain="([^"]+)"\} (\S+)$', body, re.M)
    return {chain: float(value) for chain, value in found}


@dataclass
class Cluster:
    members: list[Daemon]
    metrics_ports: list[int]
    chains: tuple[str, ...]
    takeovers: list[Takeover] = field(default_factory=list)
    kills: int = 0
    _watches: list[threading.Thread] = field(default_factory=list)
    _timer: threading.Timer | None = None

    # -- who is who ---------------------------------------------------------------------
    def alive(self) -> list[int]:
        return [n for n, member in enumerate(self.members) if member.running()]

    def instance_id(self, number: int) -> str | None:
        """The running member's instance id (``host:pid:random``), from its /readyz."""
        member = self.members[number]
        if not member.running():
            return None
        answer = httpx.get(f"{member.inst.base_url}/readyz", timeout=5)
        return str(answer.json()["instance"])

    def leaders(self) -> dict[str, str | None]:
        """Each chain's leader as the first live member that answers sees it."""
        for number in self.alive():
            try:
                body = httpx.get(f"{self.members[number].inst.base_url}/readyz", timeout=5).json()
            except (httpx.HTTPError, ValueError):
                continue
            checks = body["checks"]["chains"]
            return {c: checks[c].get("leader") or checks[c].get("followed_by") for c in self.chains}
        return dict.fromkeys(self.chains)

    def member_of(self, instance: str | None) -> int | None:
        if instance is None:
            return None
        for number in self.alive():
            proc = self.members[number].inst.processes[-1]
            if f":{proc.pid}:" in instance:
                return number
        return None

    def leader_member(self, chain: str, seconds: float = 20) -> int:
        """The member leading ``chain`` (waits for a leader among the live members)."""
        deadline = time.monotonic() + seconds
        while True:
            number = self.member_of(self.leaders()[chain])
            if number is not None:
                return number
            if time.monotonic() > deadline:
                raise AssertionError(f"no live member leads {chain} within {seconds:.0f}s")
            time.sleep(0.2)

    # -- kills and restarts -------------------------------------------------------------
    def kill(self, number: int) -> list[str]:
        """SIGKILL member ``number``; the chains it led are watched for their takeover
        (in a thread: the scenario goes on meanwhile). The chains it led."""
        self.settle()
        killed = self.instance_id(number)
        led = [c for c, leader in self.leaders().items() if killed and leader == killed]
        self.members[number].kill()
        self.kills += 1
        began = time.monotonic()
        for chain in led:
            assert killed is not None
            watch = threading.Thread(target=self._watch, args=(chain, killed, began))
            watch.start()
            self._watches.append(watch)
        return led

    def kill_later(self, number: int, delay: float) -> None:
        """SIGKILL member ``number`` ``delay`` seconds from now, while the scenario goes
        on (so the kill lands wherever that member happens to be)."""
        self.await_kill()
        self._timer = threading.Timer(delay, self.kill, args=(number,))
        self._timer.start()

    def await_kill(self) -> None:
        """Wait for a scheduled kill to be done."""
        if self._timer is not None:
            self._timer.join()
            self._timer = None

    def _watch(self, chain: str, killed: str, began: float) -> None:
        while time.monotonic() - began < TAKEOVER_WAIT:
            leader = self.leaders()[chain]
            if leader is not None and leader != killed:
                self.takeovers.append(Takeover(chain, killed, time.monotonic() - began, leader))
                return
            time.sleep(0.1)
        self.takeovers.append(Takeover(chain, killed, float("inf"), None))

    def settle(self) -> None:
        """Wait for the takeovers being watched."""
        for watch in self._watches:
            watch.join()
        self._watches.clear()

    def start_all(self) -> None:
        for member in self.members:
            member.start()

    def stop_all(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.await_kill()
        self.settle()
        for member in self.members:
            member.cancel_kill()
            member.inst.stop_all()

    # -- round-robin --------------------------------------------------------------------
    def next_alive(self, turn: int) -> Daemon:
        """The member whose turn it is, or the next live one after it."""
        count = len(self.members)
        for step in range(count):
            member = self.members[(turn + step) % count]
            if member.running():
                return member
        raise AssertionError("no member is running")
