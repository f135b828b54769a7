"""Urgent pushes (an elder's SOS or quiet alert) overtake whatever waits for their target;
when an elder was last heard from (None: never since the registry listed them)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(
            sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("elder_care") as batch:
        batch.add_column(sa.Column("heard_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("elder_care") as batch:
        batch.drop_column("heard_at")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("urgent")
