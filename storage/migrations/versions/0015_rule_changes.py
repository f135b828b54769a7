"""积分: the admins' changes to the points rules (积分规则 加 / 删), applied in order

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "point_rule_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("klass", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("how", sa.String(length=8), nullable=False),
        sa.Column("monthly_cap", sa.Integer(), nullable=True),
        sa.Column("black_board", sa.Boolean(), nullable=False),
        sa.Column("what", sa.String(length=100), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_point_rule_change_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_rule_change")),
    )


def downgrade() -> None:
    op.drop_table("point_rule_change")
