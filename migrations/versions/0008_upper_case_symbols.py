"""asset symbols in one canonical form: upper case

Before this release a chain configured with a lower-case symbol (`tokens: {usdc: …}`,
`native: {symbol: eth}`) stored its transfers under that spelling while its orders
said `USDC`/`ETH`, so those transfers never counted. The config now upper-cases every
symbol at load; this brings the stored rows to the same form. An order whose transfers
were left uncounted counts them at its next evaluation (a new block, the expiry job, or
`paywatch order refresh`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("orders", "transfers"):
        asset = sa.column("asset", sa.String(16))
        op.execute(
            sa.table(table, asset)
            .update()
            .where(asset != sa.func.upper(asset))
            .values(asset=sa.func.upper(asset))
        )


def downgrade() -> None:
    """The old spellings are not kept: upper case stays (it is what the config gives)."""
