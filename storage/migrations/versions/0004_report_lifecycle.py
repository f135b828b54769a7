"""随手拍 lifecycle: the reporter's verdict, duplicate reporters, the auto-close index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("report") as batch:
        batch.add_column(sa.Column("satisfied", sa.Boolean(), nullable=True))
    op.create_index("ix_report_status_resolved", "report", ["status", "resolved_at"])
    op.create_table(
        "report_follower",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("chat_is_group", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_report_follower_report_id_report")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_report_follower_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_follower")),
        sa.UniqueConstraint(
            "report_id", "person_id", name=op.f("uq_report_follower_report_id_person_id")
        ),
    )
    op.create_index(op.f("ix_report_follower_report_id"), "report_follower", ["report_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_report_follower_report_id"), table_name="report_follower")
    op.drop_table("report_follower")
    op.drop_index("ix_report_status_resolved", table_name="report")
    with op.batch_alter_table("report") as batch:
        batch.drop_column("satisfied")
