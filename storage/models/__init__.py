"""All ORM models; importing this package registers every table on Base.metadata."""

from storage.models.base import Base
from storage.models.elders import AlertKind, ElderAlert, ElderCare
from storage.models.inbound import InboundLog, InboundResult
from storage.models.notices import Notice, NoticeKind, NoticeTarget, SweepMark
from storage.models.org import PARENT_LEVEL, ChatPurpose, GroupChat, Level, OrgUnit
from storage.models.outbox import OutboxMessage, OutboxStatus
from storage.models.people import (
    CADRE_ROLES,
    ROLE_LEVEL,
    ContactRelation,
    ElderContact,
    Household,
    Identity,
    Person,
    Role,
    RoleAssignment,
)
from storage.models.points import (
    BoardStatus,
    ClaimStatus,
    Good,
    HouseholdPoints,
    PointBoard,
    PointClaim,
    PointClaimPhoto,
    PointEntry,
    Redemption,
    RedemptionStatus,
)
from storage.models.reports import (
    OPEN_STATUSES,
    CategoryCorrection,
    CategoryWord,
    Report,
    ReportEvent,
    ReportFollower,
    ReportPhoto,
    ReportStatus,
)

__all__ = [
    "CADRE_ROLES",
    "OPEN_STATUSES",
    "PARENT_LEVEL",
    "ROLE_LEVEL",
    "AlertKind",
    "Base",
    "BoardStatus",
    "CategoryCorrection",
    "CategoryWord",
    "ChatPurpose",
    "ClaimStatus",
    "ContactRelation",
    "ElderAlert",
    "ElderCare",
    "ElderContact",
    "Good",
    "GroupChat",
    "Household",
    "HouseholdPoints",
    "Identity",
    "InboundLog",
    "InboundResult",
    "Level",
    "Notice",
    "NoticeKind",
    "NoticeTarget",
    "OrgUnit",
    "OutboxMessage",
    "OutboxStatus",
    "Person",
    "PointBoard",
    "PointClaim",
    "PointClaimPhoto",
    "PointEntry",
    "Redemption",
    "RedemptionStatus",
    "Report",
    "ReportEvent",
    "ReportFollower",
    "ReportPhoto",
    "ReportStatus",
    "Role",
    "RoleAssignment",
    "SweepMark",
]
