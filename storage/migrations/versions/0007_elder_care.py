"""关爱空巢老人: each elder's watch and the alerts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "elder_care",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("inactive_hours", sa.Integer(), nullable=False),
        sa.Column("checkin_in_group", sa.Boolean(), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prompted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("watch_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_elder_care_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_elder_care")),
        sa.UniqueConstraint("person_id", name=op.f("uq_elder_care_person_id")),
    )
    op.create_index(op.f("ix_elder_care_watch_at"), "elder_care", ["watch_at"])
    op.create_index(op.f("ix_elder_care_last_active_at"), "elder_care", ["last_active_at"])
    op.create_table(
        "elder_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("elder_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["elder_id"], ["person.id"], name=op.f("fk_elder_alert_elder_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["person.id"], name=op.f("fk_elder_alert_closed_by_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_elder_alert")),
    )
    op.create_index(op.f("ix_elder_alert_elder_id"), "elder_alert", ["elder_id"])
    op.create_index(op.f("ix_elder_alert_next_at"), "elder_alert", ["next_at"])
    op.create_index(
        "uq_elder_alert_open",
        "elder_alert",
        ["elder_id"],
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("elder_alert")
    op.drop_table("elder_care")
