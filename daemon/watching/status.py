"""What a watcher knows about its chain right now, for `chain status`, /readyz and
metrics. Updated by the engine; read by anyone (plain attributes, one event loop)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from chains.watching import BlockHeader


@dataclass
class WatcherStatus:
    chain: str
    tip_height: int | None = None
    tip_hash: str | None = None
    tip_time: datetime | None = None  # the tip block's own timestamp
    tip_seen_at: datetime | None = None
    processed_height: int | None = None
    last_sync_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    reorgs: int = 0
    restarts: int = 0
    last_reorg_fork: int | None = None
    # Why the watcher stopped advancing (a fork it cannot place); None while it runs.
    halted: str | None = None

    def saw_tip(self, tip: BlockHeader, now: datetime) -> None:
        if tip.hash != self.tip_hash:
            self.tip_seen_at = now
        self.tip_height, self.tip_hash = tip.height, tip.hash
        self.tip_time = datetime.fromtimestamp(tip.timestamp, UTC)

    def processed(self, height: int, now: datetime) -> None:
        self.processed_height = height

    def synced(self, height: int, now: datetime) -> None:
        self.processed_height = height
        self.last_sync_at = now
        self.last_error = None
        self.halted = None

    def reorged(self, fork_height: int, now: datetime) -> None:
        self.reorgs += 1
        self.last_reorg_fork = fork_height

    def failed(self, error: str, now: datetime) -> None:
        self.last_error, self.last_error_at = error, now

    def halt(self, reason: str, now: datetime) -> None:
        self.halted = reason
        self.failed(reason, now)

    @property
    def lag(self) -> int | None:
        if self.tip_height is None or self.processed_height is None:
            return None
        return max(self.tip_height - self.processed_height, 0)

    def block_age(self, now: datetime) -> float | None:
        """Seconds since the tip block was made (by its timestamp)."""
        return None if self.tip_time is None else (now - self.tip_time).total_seconds()

    def report(self, now: datetime) -> dict[str, object]:
        age = self.block_age(now)
        return {
            "in_sync": self.in_sync(now),
            "head": self.tip_height,
            "processed": self.processed_height,
            "lag": self.lag,
            "last_block_age_seconds": None if age is None else int(age),
            "reorgs": self.reorgs,
            "restarts": self.restarts,
            "error": self.last_error,
            "halted": self.halted,
        }

    def in_sync(self, now: datetime, *, max_lag: int = 2, max_quiet: float = 120.0) -> bool:
        """Caught up recently, not failing since, not halted."""
        if self.halted is not None:
            return False
        if self.last_sync_at is None or self.lag is None or self.lag > max_lag:
            return False
        if self.last_error_at is not None and self.last_error_at > self.last_sync_at:
            return False
        return (now - self.last_sync_at).total_seconds() <= max_quiet
