"""随手拍 reports

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column("chat_is_group", sa.Boolean(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("place", sa.String(length=128), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accept_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolve_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["person.id"], name=op.f("fk_report_reporter_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["org_unit.id"], name=op.f("fk_report_village_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["org_unit.id"], name=op.f("fk_report_grid_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_unit.id"], name=op.f("fk_report_unit_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["person.id"], name=op.f("fk_report_assignee_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
    )
    op.create_index(
        "ix_report_village_category", "report", ["village_id", "category", "created_at"]
    )
    op.create_index(op.f("ix_report_reporter_id"), "report", ["reporter_id"])
    op.create_index(op.f("ix_report_assignee_id"), "report", ["assignee_id"])
    op.create_table(
        "report_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_report_event_report_id_report")
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["person.id"], name=op.f("fk_report_event_actor_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_event")),
    )
    op.create_index(op.f("ix_report_event_report_id"), "report_event", ["report_id"])
    op.create_table(
        "report_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("media", sa.String(length=80), nullable=False),
        sa.Column("proof", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_report_photo_report_id_report")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["report_event.id"], name=op.f("fk_report_photo_event_id_report_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_photo")),
    )
    op.create_index(op.f("ix_report_photo_report_id"), "report_photo", ["report_id"])


def downgrade() -> None:
    op.drop_table("report_photo")
    op.drop_table("report_event")
    op.drop_table("report")
