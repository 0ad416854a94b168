"""orders priced in fiat: the price, the options with their locked rates, and the
addresses of orders the customer may pay in several assets

`orders` gains `price_minor` and `price_currency`; its chain, asset, amount and address
columns may now be empty (a multi-option order keeps them in `order_options` and
`order_addresses`). Existing orders are unchanged. On SQLite the `orders` table is
rebuilt to drop its NOT NULL constraints (foreign keys are off while migrations run
there and checked over every row before they commit: daemon/storage/migrations.py).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from daemon.storage.types import Amount, Seq, UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

NOW_OPTIONAL = (
    ("chain", sa.String(32)),
    ("asset", sa.String(16)),
    ("decimals", sa.Integer()),
    ("amount_base", Amount()),
    ("address", sa.String(100)),
    ("script", sa.LargeBinary()),
    ("keyspace", sa.String(64)),
    ("derivation_index", sa.BigInteger()),
)


def _orders_columns(nullable: bool) -> None:
    with op.batch_alter_table("orders") as batch:
        for name, kind in NOW_OPTIONAL:
            batch.alter_column(name, existing_type=kind, nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("price_minor", Amount(), nullable=True))
        batch.add_column(sa.Column("price_currency", sa.String(3), nullable=True))
    _orders_columns(nullable=True)
    op.create_table(
        "order_options",
        sa.Column("seq", Seq(), primary_key=True, autoincrement=True),
        sa.Column("order_seq", Seq(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("chain", sa.String(32), nullable=False),
        sa.Column("asset", sa.String(16), nullable=False),
        sa.Column("decimals", sa.Integer(), nullable=False),
        sa.Column("amount_base", Amount(), nullable=False),
        sa.Column("rate_value", sa.String(100), nullable=False),
        sa.Column("rate_sources", sa.String(200), nullable=False),
        sa.Column("rate_at", UtcDateTime(), nullable=False),
        sa.Column("confirmations_required", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_seq"], ["orders.seq"], name="fk_order_options_order_seq_orders"
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_order_options"),
        sa.UniqueConstraint(
            "order_seq", "chain", "asset", name="uq_order_options_order_seq_chain_asset"
        ),
    )
    op.create_index("ix_order_options_order_seq", "order_options", ["order_seq"])
    op.create_table(
        "order_addresses",
        sa.Column("seq", Seq(), primary_key=True, autoincrement=True),
        sa.Column("order_seq", Seq(), nullable=False),
        sa.Column("chain", sa.String(32), nullable=False),
        sa.Column("address", sa.String(100), nullable=False),
        sa.Column("script", sa.LargeBinary(), nullable=False),
        sa.Column("keyspace", sa.String(64), nullable=False),
        sa.Column("derivation_index", sa.BigInteger(), nullable=False),
        sa.Column("confirmations_required", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_seq"], ["orders.seq"], name="fk_order_addresses_order_seq_orders"
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_order_addresses"),
        sa.UniqueConstraint("chain", "script", name="uq_order_addresses_chain_script"),
    )
    op.create_index("ix_order_addresses_order_seq", "order_addresses", ["order_seq"])
    op.create_index(
        "ix_order_addresses_keyspace_derivation_index",
        "order_addresses",
        ["keyspace", "derivation_index"],
    )


def downgrade() -> None:
    op.drop_table("order_addresses")
    op.drop_table("order_options")
    many = op.get_bind().exec_driver_sql("SELECT count(*) FROM orders WHERE script IS NULL")
    if many.scalar_one():
        raise RuntimeError("orders with several options exist; the older schema cannot hold them")
    _orders_columns(nullable=False)
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("price_currency")
        batch.drop_column("price_minor")
