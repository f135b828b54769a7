"""积分: each village's monthly 红榜/黑榜, drafted for its cadres and published by them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "point_board",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("draft", "published", name="boardstatus", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["published_by"], ["person.id"], name=op.f("fk_point_board_published_by_person")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["org_unit.id"], name=op.f("fk_point_board_village_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_board")),
        sa.UniqueConstraint("village_id", "month", name=op.f("uq_point_board_village_id_month")),
    )


def downgrade() -> None:
    op.drop_table("point_board")
