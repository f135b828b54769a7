"""随手拍: the overdue sweep's place on each open report's deadline ladder

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OPEN = "('submitted', 'assigned', 'in_progress', 'reopened', 'escalated')"


def upgrade() -> None:
    with op.batch_alter_table("report") as batch:
        batch.add_column(sa.Column("chase_due", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("chase_step", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("chase_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_report_chase_at", ["chase_at"])
    # open reports made before: chased from their current deadline
    op.execute(
        "UPDATE report SET chase_due = CASE WHEN accepted_at IS NULL THEN accept_due_at "
        f"ELSE resolve_due_at END WHERE status IN {OPEN}"
    )
    op.execute("UPDATE report SET chase_at = chase_due")


def downgrade() -> None:
    with op.batch_alter_table("report") as batch:
        batch.drop_index("ix_report_chase_at")
        batch.drop_column("chase_at")
        batch.drop_column("chase_step")
        batch.drop_column("chase_due")
