"""积分: the 爱心超市's goods per village (price, stock) and redemptions with pickup codes

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "point_good",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["village_id"], ["org_unit.id"], name=op.f("fk_point_good_village_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_good")),
        sa.UniqueConstraint("village_id", "code", name=op.f("uq_point_good_village_id_code")),
    )
    with op.batch_alter_table("point_good", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_point_good_village_id"), ["village_id"], unique=False)

    op.create_table(
        "point_redemption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("good_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "reserved",
                "handed",
                "cancelled",
                name="redemptionstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_by", sa.Integer(), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["good_id"], ["point_good.id"], name=op.f("fk_point_redemption_good_id_point_good")
        ),
        sa.ForeignKeyConstraint(
            ["handled_by"], ["person.id"], name=op.f("fk_point_redemption_handled_by_person")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_point_redemption_household_id_household"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_point_redemption_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["org_unit.id"], name=op.f("fk_point_redemption_village_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_redemption")),
        sa.UniqueConstraint("code", name=op.f("uq_point_redemption_code")),
    )
    with op.batch_alter_table("point_redemption", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_point_redemption_household_id"), ["household_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("point_redemption", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_point_redemption_household_id"))

    op.drop_table("point_redemption")
    with op.batch_alter_table("point_good", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_point_good_village_id"))

    op.drop_table("point_good")
