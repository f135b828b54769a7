"""政策咨询 and 关键词: the knowledge base's entries, the questions it could not answer (for
the cadres, with the 24-hour rule), and the admins' keywords."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, IntPk, enum_column


class KbEntry(Base):
    """One answer of the knowledge base. `unit_id` is its scope: a county's, a township's
    or a village's own entry (None: every unit's); the narrowest one of a title wins."""

    __tablename__ = "kb_entry"

    id: Mapped[IntPk]
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    title: Mapped[str] = mapped_column(String(40))
    variants: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(200), default="")
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    removed: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    imported_from: Mapped[str] = mapped_column(String(200), default="")  # a file's name


class QuestionKind(StrEnum):
    POLICY = "policy"  # the knowledge base had no answer
    AGRI = "agri"  # farming: the township's agricultural technician answers
    DISCLOSURE = "disclosure"  # about a published 三务公开


class Question(Base):
    """A villager's question for the cadres, to be answered by `due_at` (按期回复). The unit
    holding it is reminded at the deadline and the units above told, a step each
    scheduler.report_grace_hours (chase_step: 0 none, 1 reminded, 2 township, 3 county)."""

    __tablename__ = "question"
    __table_args__ = (
        Index(
            "ix_question_chase",
            "chase_at",
            sqlite_where=text("answered_at IS NULL"),
            postgresql_where=text("answered_at IS NULL"),
        ),
    )

    id: Mapped[IntPk]
    kind: Mapped[QuestionKind] = mapped_column(enum_column(QuestionKind, 16))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)  # who answers
    asker_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("kb_entry.id"))  # answered, "2"
    disclosure_id: Mapped[int | None] = mapped_column(ForeignKey("disclosure.id"))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    collected_id: Mapped[int | None] = mapped_column(ForeignKey("kb_entry.id"))  # 收录
    chase_step: Mapped[int] = mapped_column(default=0)
    chase_at: Mapped[datetime | None]


class KeywordKind(StrEnum):
    REPLY = "reply"  # the word alone (or to the bot): this answer
    COMMAND = "command"  # another name for a command (查分 -> 我的积分)
    SYNONYM = "synonym"  # the same as another word, for ranking answers


class KeywordChange(Base):
    """An admin's 关键词 加 / 删, applied in order, never edited (a category's words are
    CategoryWord rows, the same mechanism)."""

    __tablename__ = "keyword_change"

    id: Mapped[IntPk]
    word: Mapped[str] = mapped_column(String(16))
    kind: Mapped[KeywordKind] = mapped_column(enum_column(KeywordKind, 12))
    value: Mapped[str] = mapped_column(String(600), default="")
    removed: Mapped[bool] = mapped_column(default=False)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    at: Mapped[datetime]
