"""orders.checkout_token and orders.redirect_url: the checkout page customers pay from

`checkout_token`: the unguessable part of an order's checkout_url
(`{api.public_url}/pay/{token}`): 32 random bytes, base64url, unique. Orders made
before this revision get one here, each drawn from the operating system's random
source like new ones. `redirect_url`: where the page sends the customer once paid.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BATCH = 1000


def upgrade() -> None:
    op.add_column("orders", sa.Column("checkout_token", sa.String(64), nullable=True))
    op.add_column("orders", sa.Column("redirect_url", sa.String(2048), nullable=True))
    conn = op.get_bind()
    orders = sa.table("orders", sa.column("seq"), sa.column("checkout_token"))
    while True:  # every existing order gets its own token, a batch at a time
        seqs = conn.execute(
            sa.select(orders.c.seq).where(orders.c.checkout_token.is_(None)).limit(BATCH)
        ).scalars()
        rows = [{"s": seq, "t": secrets.token_urlsafe(32)} for seq in seqs]
        if not rows:
            break
        conn.execute(
            orders.update().where(orders.c.seq == sa.bindparam("s")),
            [{"s": r["s"], "checkout_token": r["t"]} for r in rows],
        )
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("checkout_token", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint("uq_orders_checkout_token", ["checkout_token"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("uq_orders_checkout_token", type_="unique")
        batch.drop_column("redirect_url")
        batch.drop_column("checkout_token")
