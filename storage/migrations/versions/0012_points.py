"""积分: the household points ledger (append-only: the database refuses UPDATE and DELETE),
each household's running balance, and the villagers' claims with their photos

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The ledger is appended to, never changed: the database itself refuses UPDATE and DELETE.
APPEND_ONLY = {
    "postgresql": [
        """CREATE FUNCTION point_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'point_entry is append-only'; END $$""",
        """CREATE TRIGGER point_entry_append_only BEFORE UPDATE OR DELETE ON point_entry
        FOR EACH ROW EXECUTE FUNCTION point_entry_append_only()""",
    ],
    "sqlite": [
        """CREATE TRIGGER point_entry_no_update BEFORE UPDATE ON point_entry
        BEGIN SELECT RAISE(ABORT, 'point_entry is append-only'); END""",
        """CREATE TRIGGER point_entry_no_delete BEFORE DELETE ON point_entry
        BEGIN SELECT RAISE(ABORT, 'point_entry is append-only'); END""",
    ],
}
DROP_APPEND_ONLY = {
    "postgresql": [
        "DROP TRIGGER point_entry_append_only ON point_entry",
        "DROP FUNCTION point_entry_append_only()",
    ],
    "sqlite": ["DROP TRIGGER point_entry_no_update", "DROP TRIGGER point_entry_no_delete"],
}


def upgrade() -> None:
    op.create_table(
        "household_points",
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_household_points_household_id_household"),
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["org_unit.id"], name=op.f("fk_household_points_village_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_household_points")),
    )
    with op.batch_alter_table("household_points", schema=None) as batch_op:
        batch_op.create_index(
            "ix_household_points_village_id_balance", ["village_id", "balance"], unique=False
        )

    op.create_table(
        "point_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("chat_is_group", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "approved", "rejected", name="claimstatus", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_point_claim_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_point_claim_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["person.id"], name=op.f("fk_point_claim_reviewer_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["org_unit.id"], name=op.f("fk_point_claim_village_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_claim")),
    )
    with op.batch_alter_table("point_claim", schema=None) as batch_op:
        batch_op.create_index(
            "ix_point_claim_village_id_status", ["village_id", "status"], unique=False
        )

    op.create_table(
        "point_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["person.id"], name=op.f("fk_point_entry_actor_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_point_entry_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["point_entry.id"],
            name=op.f("fk_point_entry_reverses_id_point_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["org_unit.id"], name=op.f("fk_point_entry_village_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_entry")),
        sa.UniqueConstraint("source", name=op.f("uq_point_entry_source")),
    )
    with op.batch_alter_table("point_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_point_entry_household_id_at", ["household_id", "at"], unique=False
        )
        batch_op.create_index("ix_point_entry_village_id_at", ["village_id", "at"], unique=False)
    for statement in APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)

    op.create_table(
        "point_claim_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("media", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["point_claim.id"],
            name=op.f("fk_point_claim_photo_claim_id_point_claim"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_claim_photo")),
    )
    with op.batch_alter_table("point_claim_photo", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_point_claim_photo_claim_id"), ["claim_id"], unique=False
        )


def downgrade() -> None:
    for statement in DROP_APPEND_ONLY[op.get_bind().dialect.name]:
        op.execute(statement)
    with op.batch_alter_table("point_claim_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_point_claim_photo_claim_id"))

    op.drop_table("point_claim_photo")
    with op.batch_alter_table("point_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_point_entry_village_id_at")
        batch_op.drop_index("ix_point_entry_household_id_at")

    op.drop_table("point_entry")
    with op.batch_alter_table("point_claim", schema=None) as batch_op:
        batch_op.drop_index("ix_point_claim_village_id_status")

    op.drop_table("point_claim")
    with op.batch_alter_table("household_points", schema=None) as batch_op:
        batch_op.drop_index("ix_household_points_village_id_balance")

    op.drop_table("household_points")
