"""Console campaigns: a message (and optionally a coupon) for a segment of members at a
scheduled time.

Rules live in `pushes/campaigns.py` and `insights/segments.py`; this class holds data
only. What each member received is in `delivery` (occasion `campaign:<id>`) and `coupon`
(cause `campaign:seg-<id>:<member>`), not here.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wx_member.clock import utcnow
from wx_member.models.core import Base, BigId

# scheduled → running (the planner took it) → done; scheduled → cancelled; running →
# failed (its push kind was disabled meanwhile: nothing planned).
STATUSES = ("scheduled", "running", "done", "cancelled", "failed")


class Campaign(Base):
    __tablename__ = "campaign"
    # The scheduler's look-up: due campaigns by status and time.
    __table_args__ = (Index("ix_campaign_due", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    segment: Mapped[dict] = mapped_column(JSON)  # insights/segments.py criteria
    kind: Mapped[str] = mapped_column(String(40))  # a push kind (templates_msg/)
    message: Mapped[str | None] = mapped_column(String(300))  # the kind's `message` value
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_template.id"))
    scheduled_at: Mapped[datetime] = mapped_column(DateTime)  # UTC
    status: Mapped[str] = mapped_column(String(12), default="scheduled")
    members: Mapped[int | None] = mapped_column(Integer)  # segment size when planned
    note: Mapped[str | None] = mapped_column(String(200))  # why it failed
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(60))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)


# A campaign's progress counts its delivery rows by occasion and status: the unique key
# (openid, kind, occasion) starts with the openid, so this index (migration 0014) serves it.
def _campaign_indexes() -> None:
    from wx_member.models.pushes import Delivery

    Index("ix_delivery_kind_occasion", Delivery.kind, Delivery.occasion, Delivery.status)


_campaign_indexes()
