"""What a linked reporter said (words, place, pin, the timeline step their photos hang on),
so that `不是同一件` can make it a report of its own

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("report_follower") as batch:
        batch.add_column(
            sa.Column("text", sa.String(length=1000), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("place", sa.String(length=128), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("longitude", sa.Float(), nullable=True))
        batch.add_column(sa.Column("event_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_report_follower_event_id_report_event"), "report_event", ["event_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("report_follower") as batch:
        batch.drop_constraint(op.f("fk_report_follower_event_id_report_event"), type_="foreignkey")
        for column in ("event_id", "longitude", "latitude", "place", "text"):
            batch.drop_column(column)
