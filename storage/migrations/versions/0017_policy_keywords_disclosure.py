"""政策咨询, 关键词 and 三务公开

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "disclosure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "party", "village", "finance", name="disclosurekind", native_enum=False, length=12
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_months", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["person.id"], name=op.f("fk_disclosure_author_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["org_unit.id"], name=op.f("fk_disclosure_village_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure")),
    )
    with op.batch_alter_table("disclosure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disclosure_village_id"), ["village_id"], unique=False)

    op.create_table(
        "kb_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=40), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("imported_from", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_unit.id"], name=op.f("fk_kb_entry_unit_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["person.id"], name=op.f("fk_kb_entry_updated_by_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_entry")),
    )
    with op.batch_alter_table("kb_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kb_entry_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "keyword_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=16), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "reply", "command", "synonym", name="keywordkind", native_enum=False, length=12
            ),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=600), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_keyword_change_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyword_change")),
    )
    op.create_table(
        "question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "policy", "agri", "disclosure", name="questionkind", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("asker_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("disclosure_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("collected_id", sa.Integer(), nullable=True),
        sa.Column("chase_step", sa.Integer(), nullable=False),
        sa.Column("chase_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by"], ["person.id"], name=op.f("fk_question_answered_by_person")
        ),
        sa.ForeignKeyConstraint(
            ["asker_id"], ["person.id"], name=op.f("fk_question_asker_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["collected_id"], ["kb_entry.id"], name=op.f("fk_question_collected_id_kb_entry")
        ),
        sa.ForeignKeyConstraint(
            ["disclosure_id"], ["disclosure.id"], name=op.f("fk_question_disclosure_id_disclosure")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["kb_entry.id"], name=op.f("fk_question_entry_id_kb_entry")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_unit.id"], name=op.f("fk_question_unit_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["org_unit.id"], name=op.f("fk_question_village_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question")),
    )
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_question_asker_id"), ["asker_id"], unique=False)
        batch_op.create_index(
            "ix_question_chase",
            ["chase_at"],
            unique=False,
            sqlite_where=sa.text("answered_at IS NULL"),
            postgresql_where=sa.text("answered_at IS NULL"),
        )
        batch_op.create_index(batch_op.f("ix_question_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_question_village_id"), ["village_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_village_id"))
        batch_op.drop_index(batch_op.f("ix_question_unit_id"))
        batch_op.drop_index(
            "ix_question_chase",
            sqlite_where=sa.text("answered_at IS NULL"),
            postgresql_where=sa.text("answered_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_question_asker_id"))

    op.drop_table("question")
    op.drop_table("keyword_change")
    with op.batch_alter_table("kb_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kb_entry_unit_id"))

    op.drop_table("kb_entry")
    with op.batch_alter_table("disclosure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disclosure_village_id"))

    op.drop_table("disclosure")
