"""The schema. Migrations in ``migrations/versions`` must produce exactly this
(a test compares them)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from daemon.storage.types import Amount, Seq, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
)

# One row per derivation key: the next index to hand out. Chains that share a
# key (every EVM chain with the same xpub) share the sequence, so no address
# is ever given to two orders, on any chain.
address_counters = Table(
    "address_counters",
    metadata,
    Column("keyspace", String(64), primary_key=True),
    Column("next_index", BigInteger(), nullable=False),
)

# An order. A single-option order (crypto-priced, or priced in fiat for one asset) has
# its chain, asset, amount due and address here. An order priced in fiat
# (``price_minor`` minor units of ``price_currency``) has its options, each with the
# rate locked at creation, in ``order_options``; one with several options has these
# columns empty and its addresses (one per chain, taken at creation or when the
# customer picks an option) in ``order_addresses``. ``received_base`` and
# ``received_confirmed_base`` are in the asset's base units for a single-option order,
# in the price currency's minor units (rounded down) for a multi-option one.
orders = Table(
    "orders",
    metadata,
    Column("seq", Seq(), primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("order_id", String(200), nullable=False, index=True),
    Column("chain", String(32), nullable=True),
    Column("asset", String(16), nullable=True),
    Column("decimals", Integer(), nullable=True),
    Column("amount_base", Amount(), nullable=True),
    Column("address", String(100), nullable=True),
    Column("script", LargeBinary(), nullable=True),
    Column("keyspace", String(64), nullable=True),
    Column("derivation_index", BigInteger(), nullable=True),
    Column("status", String(16), nullable=False),
    Column("exception", String(16), nullable=False),
    Column("confirmations_required", Integer(), nullable=True),
    Column("tolerance_ppm", Integer(), nullable=False),
    Column("received_base", Amount(), nullable=False),
    Column("received_confirmed_base", Amount(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("late_until", UtcDateTime(), nullable=False),
    Column("callback_url", String(2048), nullable=True),
    Column("metadata", Text(), nullable=True),
    Column("api_key_id", String(32), nullable=True),
    Column("idempotency_key", String(255), nullable=True),
    Column("request_hash", String(64), nullable=True),
    Column("price_minor", Amount(), nullable=True),
    Column("price_currency", String(3), nullable=True),
    # The checkout page's URL is {api.public_url}/pay/{checkout_token} (migration 0013).
    Column("checkout_token", String(64), nullable=False),
    Column("redirect_url", String(2048), nullable=True),
    UniqueConstraint("keyspace", "derivation_index"),
    UniqueConstraint("checkout_token", name="uq_orders_checkout_token"),
    UniqueConstraint("api_key_id", "idempotency_key"),
    UniqueConstraint("chain", "script"),
    Index(None, "status", "expires_at"),
    Index(None, "chain", "status"),
)

# The options of an order priced in fiat: each asset it may be paid in, the amount due
# in it (the price at ``rate_value`` rounded up to the base unit) and the rate, locked.
order_options = Table(
    "order_options",
    metadata,
    Column("seq", Seq(), primary_key=True, autoincrement=True),
    Column("order_seq", Seq(), ForeignKey("orders.seq"), nullable=False, index=True),
    Column("position", Integer(), nullable=False),
    Column("chain", String(32), nullable=False),
    Column("asset", String(16), nullable=False),
    Column("decimals", Integer(), nullable=False),
    Column("amount_base", Amount(), nullable=False),
    Column("rate_value", String(100), nullable=False),
    Column("rate_sources", String(200), nullable=False),
    Column("rate_at", UtcDateTime(), nullable=False),
    Column("confirmations_required", Integer(), nullable=True),  # None: finalized
    UniqueConstraint("order_seq", "chain", "asset"),
)

# The addresses of a multi-option order: one per chain it may be paid on (options on
# one chain share it; chains on one key share the index). A script belongs to its
# order forever, here as in ``orders``.
order_addresses = Table(
    "order_addresses",
    metadata,
    Column("seq", Seq(), primary_key=True, autoincrement=True),
    Column("order_seq", Seq(), ForeignKey("orders.seq"), nullable=False, index=True),
    Column("chain", String(32), nullable=False),
    Column("address", String(100), nullable=False),
    Column("script", LargeBinary(), nullable=False),
    Column("keyspace", String(64), nullable=False),
    Column("derivation_index", BigInteger(), nullable=False),
    Column("confirmations_required", Integer(), nullable=True),
    UniqueConstraint("chain", "script"),
    Index(None, "keyspace", "derivation_index"),
)

# Every transfer seen to an order's address, keyed so that none counts twice:
# (tx hash, output index) on Bitcoin-family chains; on EVM chains (tx hash, n) for
# the n-th ERC-20 Transfer log of the configured tokens in the transaction, -1 for
# its own value, -2 - n for its n-th internal transfer (all stable when a reorg
# mines the transaction elsewhere). ``log_index``: the ERC-20 log's block-wide
# index as the node reports it now (None for other kinds). ``block_time``: the
# timestamp (seconds) of the block in ``block_hash``; meaningless when that is None.
transfers = Table(
    "transfers",
    metadata,
    Column("seq", Seq(), primary_key=True, autoincrement=True),
    Column("order_seq", Seq(), ForeignKey("orders.seq"), nullable=False, index=True),
    Column("chain", String(32), nullable=False),
    Column("tx_hash", String(100), nullable=False),
    Column("output_index", Integer(), nullable=False),
    Column("log_index", Integer(), nullable=True),
    Column("asset", String(16), nullable=False),
    Column("amount_base", Amount(), nullable=False),
    Column("block_height", BigInteger(), nullable=True),
    Column("block_hash", String(100), nullable=True),
    Column("confirmations", Integer(), nullable=False),
    Column("finalized", Boolean(), nullable=False),
    Column("removed", Boolean(), nullable=False),
    Column("seen_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("block_time", BigInteger(), nullable=True),
    UniqueConstraint("chain", "tx_hash", "output_index"),
)

# The outbox: one row per order event, written in the transaction that changed
# the order. ``id`` is the webhook-id the store deduplicates on.
#
# Webhook delivery state lives on the event row itself, written by the same
# insert as the event: the target URL resolved at event time (the order's
# callback_url, else webhooks.url), its scheme://host:port (the unit of the
# per-endpoint concurrency cap), the status, and a lease that a dispatcher
# takes while an attempt is under way (a crashed one's lease simply expires).
events = Table(
    "events",
    metadata,
    Column("seq", Seq(), primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("order_seq", Seq(), ForeignKey("orders.seq"), nullable=False, index=True),
    Column("type", String(40), nullable=False),
    Column("payload", Text(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("target_url", String(2048), nullable=True),
    Column("endpoint", String(300), nullable=True),
    Column("delivery_status", String(16), nullable=False, server_default="no_target"),
    Column("attempts", Integer(), nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("lease_owner", String(40), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    Column("last_attempt_at", UtcDateTime(), nullable=True),
    Column("last_status_code", Integer(), nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Column("pruned_at", UtcDateTime(), nullable=True),  # body dropped (webhooks.retention)
    Index("ix_events_delivery_status_next_attempt_at", "delivery_status", "next_attempt_at"),
)
# Partial indexes, small however many events were delivered: the waiting events of an
# order (the per-order rule of every claim), and the delivered bodies not yet pruned.
_WAITING = events.c.delivery_status.in_(["pending", "retrying"])
_UNPRUNED = events.c.delivered_at.is_not(None) & events.c.pruned_at.is_(None)
Index(
    "ix_events_waiting_order_seq",
    events.c.order_seq,
    events.c.seq,
    sqlite_where=_WAITING,
    postgresql_where=_WAITING,
)
Index(
    "ix_events_unpruned_delivered_at",
    events.c.delivered_at,
    sqlite_where=_UNPRUNED,
    postgresql_where=_UNPRUNED,
)

# Each chain watcher's cursor: the last block whose effects are committed. It
# moves in the same transaction as those effects, never before.
chain_cursors = Table(
    "chain_cursors",
    metadata,
    Column("chain", String(32), primary_key=True),
    Column("height", BigInteger(), nullable=False),
    Column("hash", String(100), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# The recent blocks a watcher processed, to find the fork point of a reorg.
chain_blocks = Table(
    "chain_blocks",
    metadata,
    Column("chain", String(32), primary_key=True),
    Column("height", BigInteger(), primary_key=True),
    Column("hash", String(100), nullable=False),
    Column("parent_hash", String(100), nullable=False),
    Column("timestamp", BigInteger(), nullable=False),
)

# Transfers by block, for reorg roll-back and the confirmation refresh.
Index("ix_transfers_chain_block_height", transfers.c.chain, transfers.c.block_height)

# The delivery log: one row per attempt (what was sent where, and what came back).
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("seq", Seq(), primary_key=True, autoincrement=True),
    Column("event_seq", Seq(), ForeignKey("events.seq"), nullable=False, index=True),
    Column("attempt", Integer(), nullable=False),
    Column("attempted_at", UtcDateTime(), nullable=False),
    Column("target_url", String(2048), nullable=False),
    Column("status_code", Integer(), nullable=True),
    Column("latency_ms", Integer(), nullable=False),
    Column("error", String(500), nullable=True),
    Column("response_excerpt", Text(), nullable=True),
    Column("outcome", String(16), nullable=False),
)

# The Tatum address subscriptions paywatch holds (one per open order's address on a chain
# watched through Tatum), so that each is deleted when its order closes.
tatum_subscriptions = Table(
    "tatum_subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),  # Tatum's id
    Column("chain", String(32), nullable=False),
    Column("script", LargeBinary(), nullable=False),
    Column("address", String(100), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("chain", "script"),
)

# Each webhook endpoint's health (scheme://host:port, as ``events.endpoint``): while
# ``failing_since`` is set, its deliveries wait and one probe (a real attempt of its
# oldest waiting delivery) goes at ``next_probe_at``; the first 2xx clears it and makes
# its backlog due. Written in the transactions that claim and record attempts.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("endpoint", String(300), primary_key=True),
    Column("failing_since", UtcDateTime(), nullable=True, index=True),
    Column("next_probe_at", UtcDateTime(), nullable=True),
    Column("failures", Integer(), nullable=False),  # failed attempts since the last 2xx
    Column("last_failed_seq", Seq(), nullable=True),  # the event that failed last
    Column("last_success_at", UtcDateTime(), nullable=True),
    Column("last_failure_at", UtcDateTime(), nullable=True),
    Column("last_status_code", Integer(), nullable=True),
    Column("last_error", String(500), nullable=True),
)

# Each `paywatch run` process, for `paywatch cluster status` and /readyz: its id
# (host:pid:random), and a heartbeat every few seconds (the database's clock on
# PostgreSQL). An instance whose heartbeat is stale is not counted as live.
instances = Table(
    "instances",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("host", String(200), nullable=False),
    Column("pid", Integer(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("heartbeat_at", UtcDateTime(), nullable=False, index=True),
    Column("stopped_at", UtcDateTime(), nullable=True),
)

# Leases on PostgreSQL: ``chain:NAME`` (who watches the chain) and ``jobs`` (who runs
# the cluster's periodic jobs). ``token`` grows on every new holder: a watcher's commit
# checks its token in the same transaction, so a deposed leader can never commit.
leases = Table(
    "leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=True),
    Column("token", BigInteger(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("acquired_at", UtcDateTime(), nullable=True),
)
