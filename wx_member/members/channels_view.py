"""What the channel QR codes brought, for operators (`wx-member channel stats`)."""
from __future__ import annotations

from wx_member.db import UnitOfWork
from wx_member.members import channels
from wx_member.members.channels import ChannelStats


def stats(uow: UnitOfWork) -> list[ChannelStats]:
    """Use case (read): scans, distinct scanners and joins per channel."""
    with uow.read() as session:
        return channels.stats(session)
