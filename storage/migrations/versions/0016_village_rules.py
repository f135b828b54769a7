"""积分: a rule change may be one village's (the registry import's points_rules)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("point_rule_change") as batch:
        batch.add_column(sa.Column("village_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_point_rule_change_village_id_org_unit"), "org_unit", ["village_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("point_rule_change") as batch:
        batch.drop_constraint(op.f("fk_point_rule_change_village_id_org_unit"), type_="foreignkey")
        batch.drop_column("village_id")
