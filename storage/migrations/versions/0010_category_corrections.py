"""改类: each correction of a report's category, kept to grow the understanding corpus

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_category_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("old", sa.String(length=16), nullable=False),
        sa.Column("new", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_report_category_correction_report_id_report"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_report_category_correction_person_id_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_category_correction")),
    )
    op.create_index(
        op.f("ix_report_category_correction_report_id"),
        "report_category_correction",
        ["report_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_report_category_correction_report_id"), table_name="report_category_correction"
    )
    op.drop_table("report_category_correction")
