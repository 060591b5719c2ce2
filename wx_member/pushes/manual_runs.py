"""Pushes run by hand (an admin in the console's 推送与任务): plan one kind's pushes for
today, then send what is due, exactly as the scheduler does (each step idempotent), and
one audit row saying who ran what and what came of it. The scheduler's own runs are not
audited: nobody ran them."""
from __future__ import annotations

from dataclasses import dataclass

from wx_member.config import Config
from wx_member.db import UnitOfWork
from wx_member.platform import audit
from wx_member.pushes import deliveries, planners
from wx_member.pushes.definitions import PushKind
from wx_member.pushes.fanout import PlanResult
from wx_member.wechat.gateway import WeChatGateway

ACTION = "push.run"
SEND_ONLY = "due"  # the audit target of a run that planned nothing, only sent what was due


@dataclass
class ManualRun:
    planned: PlanResult | None  # None: no kind chosen, only what was due was sent
    sent: deliveries.SendStats


def run(uow: UnitOfWork, pushes: dict[str, PushKind], gateway: WeChatGateway, cfg: Config,
        kind: str | None, by: str) -> ManualRun:
    """Use case: plan `kind` for today (None: plan nothing), send what is due, then audit
    the run with its counts: planned, held back by the frequency cap, and each delivery
    status the sending reached (sent, skipped, failed, ...). A refused kind (unknown or
    disabled: PushDisabled) runs nothing and is not audited."""
    if kind and kind not in planners.PLANNERS:
        raise planners.PushDisabled(f"no planner {kind!r}", user_message="请选择推送类型。")
    planned = planners.plan(uow, pushes, kind, cfg) if kind else None
    stats = deliveries.send_due(uow, gateway, cfg.tz)
    after: dict = {"kind": kind} if kind else {}
    if planned is not None:
        after |= {"planned": planned.planned, "capped": planned.capped}
    after["results"] = {status: n for status, n in sorted(stats.counts.items()) if n}
    if stats.stopped:
        after["stopped"] = stats.stopped
    with uow.write() as session:
        audit.record(session, by, ACTION, kind or SEND_ONLY, None, after)
    return ManualRun(planned, stats)
