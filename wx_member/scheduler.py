"""The scheduler process: APScheduler running jobs in the programme's time zone."""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from wx_member.extensions import Runtime
from wx_member.services import housekeeping

log = logging.getLogger(__name__)


def _prune(rt: Runtime) -> None:
    with rt.sessions() as session:
        removed = housekeeping.prune_inbound_events(session)
    log.info("pruned %d old inbound events", removed)


def build_scheduler(rt: Runtime) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=rt.config.tz)
    scheduler.add_job(_prune, "cron", hour=4, minute=10, args=[rt], id="prune_inbound_events",
                      coalesce=True, max_instances=1, replace_existing=True)
    return scheduler
