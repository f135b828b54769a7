"""通知 and 督办: notices, tasks and each receiving unit; marks of what sweeps did once

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweep_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep_mark")),
        sa.UniqueConstraint("job", "key", name=op.f("uq_sweep_mark_job_key")),
    )
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("photo", sa.String(length=200), nullable=False),
        sa.Column("ack_required", sa.Boolean(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("publish_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["person.id"], name=op.f("fk_notice_author_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_unit.id"], name=op.f("fk_notice_unit_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice")),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(
            "ix_notice_unpublished",
            ["publish_at"],
            unique=False,
            sqlite_where=sa.text("published_at IS NULL"),
            postgresql_where=sa.text("published_at IS NULL"),
        )

    op.create_table(
        "notice_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("via_id", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.String(length=500), nullable=False),
        sa.Column("photo", sa.String(length=200), nullable=False),
        sa.Column("split_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("chase_step", sa.Integer(), nullable=False),
        sa.Column("chase_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["done_by"], ["person.id"], name=op.f("fk_notice_target_done_by_person")
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notice.id"], name=op.f("fk_notice_target_notice_id_notice")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_unit.id"], name=op.f("fk_notice_target_unit_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["via_id"], ["notice_target.id"], name=op.f("fk_notice_target_via_id_notice_target")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_target")),
        sa.UniqueConstraint(
            "notice_id", "unit_id", name=op.f("uq_notice_target_notice_id_unit_id")
        ),
    )
    with op.batch_alter_table("notice_target", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_target_chase_at"), ["chase_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notice_target_notice_id"), ["notice_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notice_target_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_target_via_id"), ["via_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notice_target", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_target_via_id"))
        batch_op.drop_index(batch_op.f("ix_notice_target_unit_id"))
        batch_op.drop_index(batch_op.f("ix_notice_target_notice_id"))
        batch_op.drop_index(batch_op.f("ix_notice_target_chase_at"))

    op.drop_table("notice_target")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notice_unpublished",
            sqlite_where=sa.text("published_at IS NULL"),
            postgresql_where=sa.text("published_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_notice_unit_id"))

    op.drop_table("notice")
    op.drop_table("sweep_mark")
