"""三务公开: what a village publishes of its party, village and finance affairs."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, IntPk, enum_column


class DisclosureKind(StrEnum):
    PARTY = "party"  # 党务
    VILLAGE = "village"  # 村务
    FINANCE = "finance"  # 财务


class Disclosure(Base):
    """One published disclosure; `period_start` is the first day of the month or quarter
    it covers (a finance disclosure of a month is what the township looks for)."""

    __tablename__ = "disclosure"

    id: Mapped[IntPk]
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    kind: Mapped[DisclosureKind] = mapped_column(enum_column(DisclosureKind, 12))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text, default="")
    photos: Mapped[list[str]] = mapped_column(JSON, default=list)  # stored media names
    period: Mapped[str] = mapped_column(String(20))  # as written: 2026年11月, 2026年第四季度
    period_start: Mapped[date]
    period_months: Mapped[int] = mapped_column(default=1)  # 1 a month, 3 a quarter
    author_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    published_at: Mapped[datetime]
