"""The scheduler: APScheduler in the programme's time zone, its jobs kept in the database
(SQLAlchemyJobStore on `apscheduler_jobs`), run by one process at a time.

Any number of processes may run `wx-member scheduler` (or the main job): each renews a
lease row every `renew` seconds; the holder runs the jobs, the others stand by and take
over when the holder stops renewing (killed, host gone). Run times live in the job store,
so a job whose time passed while nobody held the lease runs once when someone takes over
(`misfire_grace_time`, coalesced). A job that a just-deposed holder was still running may
overlap the new holder's: every job is idempotent (delivery occasion keys, claims), so an
overlap sends nothing twice.

Jobs are stored by reference ("module:function" and plain arguments), so they reach the
process's Runtime through `_RUNTIME` rather than pickling it.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from wx_member import metrics
from wx_member.extensions import Runtime
from wx_member.clock import local_day, utcnow
from wx_member.loyalty import birthday_bonus
from wx_member.pushes import campaign_runs
from wx_member.coupons import bulk_issue
from wx_member.coupons import redeeming
from wx_member.pushes import deliveries
from wx_member.pushes import wechat_tags
from wx_member.platform import housekeeping
from wx_member.platform import leases
from wx_member.loyalty import expiry_run
from wx_member.pushes import planners
from wx_member.loyalty import tier_review
from wx_member.payments import paid_memberships, wxpay_settlement

log = logging.getLogger(__name__)

LEASE = "scheduler"
SEND_EVERY_SECONDS = 60  # retries, postponed (quiet hours) and newly planned rows
CAMPAIGN_EVERY_SECONDS = 60  # console campaigns start within a minute of their time
RECONCILE_EVERY_SECONDS = 60  # WeChat Pay orders without a notify (payments/wxpay_settlement)
_RUNTIME: Runtime | None = None


def _rt() -> Runtime:
    if _RUNTIME is None:
        raise RuntimeError("no runtime: jobs run inside a SchedulerRunner")
    return _RUNTIME


# -- jobs (module-level functions: the job store keeps them by name) --------------------
def prune_job() -> None:
    with _rt().sessions() as uow:
        removed = housekeeping.prune_inbound_events(uow)
        counters = housekeeping.prune_rate_limit_counters(uow)
        codes = housekeeping.prune_member_code_uses(uow)
    log.info("pruned %d old inbound events, %d expired rate-limit counters and %d spent "
             "member codes", removed, counters, codes)


def coupon_expiry_job() -> None:
    with _rt().sessions() as uow:
        expired = redeeming.expire_due(uow)
    log.info("expired %d coupons", expired)


def birthday_coupons_job() -> None:
    rt = _rt()
    with rt.sessions() as uow:
        bulk_issue.issue_birthday_coupons(uow, rt.config.tz)


def monthly_gifts_job() -> None:
    """每月礼券: this local month's gift of each member's tier, to those without it yet."""
    rt = _rt()
    with rt.sessions() as uow:
        bulk_issue.issue_monthly_gifts(uow, rt.config.tz)


def expire_points_job() -> None:
    """Just after local midnight: lots whose last day was yesterday lapse."""
    rt = _rt()
    with rt.sessions() as uow:
        r = expiry_run.run(uow, tz=rt.config.tz)
    log.info("points expiry as of %s: %d points of %d members in %.1f s", r.as_of, r.points,
             r.members, r.seconds)


def plan_job(kind: str) -> None:
    """Plan one kind's pushes for today, then send what is due."""
    rt = _rt()
    with rt.sessions() as uow:
        planners.plan(uow, rt.pushes, kind, rt.config)
    send_job()


def campaigns_job() -> None:
    """Plan the console campaigns whose time has come, then send what is due."""
    rt = _rt()
    with rt.sessions() as uow:
        planned = campaign_runs.plan_due(uow, rt.pushes, rt.config)
    if planned:
        log.info("campaigns planned: %s", {cid: r.planned for cid, r in planned.items()})
        send_job()


def send_job() -> None:
    rt = _rt()
    with rt.sessions() as uow:
        stats = deliveries.send_due(uow, rt.gateway, rt.config.tz)
    metrics.count_pushes(stats.counts)
    if stats.counts:
        log.info("pushes: %s%s", dict(stats.counts),
                 f" (stopped: {stats.stopped})" if stats.stopped else "")


def tier_review_job() -> None:
    """The yearly tier review of today's anniversaries (and missed days); nothing while
    the `tier_review` setting is `never`."""
    rt = _rt()
    with rt.sessions() as uow:
        tier_review.review_due(uow, rt.config.tz)


def birthday_points_job() -> None:
    """Birthday points of members whose birthday has come this month (once a year)."""
    rt = _rt()
    with rt.sessions() as uow:
        birthday_bonus.credit(uow, local_day(utcnow(), rt.config.tz))


def tag_rules_job() -> None:
    from wx_member.console import tag_rules

    with _rt().sessions() as uow:
        done = tag_rules.run(uow)
    log.info("preference tags: %s", ", ".join(f"{t.tag} +{t.added} -{t.removed}"
                                              for t in done) or "no rules")


def wechat_untag_job() -> None:
    """Erased members' WeChat user tags untagged at WeChat (pushes/wechat_tags.py step 0),
    so an erasure is complete there within the hour even if nobody syncs the tags."""
    rt = _rt()
    with rt.sessions() as uow:
        if wechat_tags.untag_released(uow, rt.gateway) is None:
            log.info("erased members' WeChat tags: a tag sync is running, it untags them")


def reconcile_payments_job() -> None:
    """WeChat Pay orders unpaid after 5 minutes: queried, credited once if paid (a lost
    notify), closed after 15 minutes."""
    rt = _rt()
    if rt.wxpay is None:
        return
    with rt.sessions() as uow:
        wxpay_settlement.reconcile(uow, rt.wxpay, tz=rt.config.tz)


def paid_tier_expiry_job() -> None:
    """付费会员 whose paid tier ended return to the tier their spend gives, once."""
    rt = _rt()
    with rt.sessions() as uow:
        paid_memberships.expire(uow, tz=rt.config.tz)


def _observe_lag(event: JobSubmissionEvent) -> None:
    """A coalesced run stands in for every missed time: its lag counts from the first."""
    if event.scheduled_run_times:
        first = min(event.scheduled_run_times)
        lag = (datetime.now(first.tzinfo) - first).total_seconds()
        metrics.SCHEDULER_LAG.labels(event.job_id).observe(max(0.0, lag))


def build_scheduler(rt: Runtime, send_every: float = SEND_EVERY_SECONDS) -> BackgroundScheduler:
    global _RUNTIME
    _RUNTIME = rt
    scheduler = BackgroundScheduler(
        timezone=rt.config.tz,
        jobstores={"default": SQLAlchemyJobStore(engine=rt.engine)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})
    scheduler.add_job(prune_job, "cron", hour=4, minute=10, id="prune_inbound_events",
                      replace_existing=True)
    # Coupons: expire just after local midnight; birthday gifts before the 10:00 push.
    scheduler.add_job(coupon_expiry_job, "cron", hour=0, minute=5, id="coupon_expiry",
                      replace_existing=True)
    scheduler.add_job(birthday_coupons_job, "cron", hour=0, minute=10, id="birthday_coupons",
                      replace_existing=True)
    # Monthly gifts: daily, so the 1st gives the month's and a missed day, a new member or
    # one who reached a giving tier is made up the next night (once per member and month).
    scheduler.add_job(monthly_gifts_job, "cron", hour=0, minute=20, id="monthly_gifts",
                      replace_existing=True)
    # Points: lots whose last day was yesterday lapse.
    scheduler.add_job(expire_points_job, "cron", hour=0, minute=5, id="points_expiry_run",
                      replace_existing=True)
    for kind, push in sorted(rt.pushes.items()):
        if push.disabled or kind not in planners.PLANNERS:
            continue
        # Daily at the kind's local hour; a catch-up planner (order_shipped) every N minutes.
        if "every_minutes" in push.options:
            trigger = {"trigger": "interval", "minutes": int(push.options["every_minutes"])}
        else:
            trigger = {"trigger": "cron", "hour": int(push.options.get("hour", 10)), "minute": 0}
        scheduler.add_job(plan_job, **trigger, args=[kind], id=f"plan:{kind}",
                          replace_existing=True)
    # Shortly after local midnight: a review sees the whole anniversary day ahead of the
    # member, birthday points are there before the 10:00 birthday push.
    scheduler.add_job(tier_review_job, "cron", hour=0, minute=30, id="tier_review",
                      replace_existing=True)
    scheduler.add_job(birthday_points_job, "cron", hour=0, minute=20, id="birthday_points",
                      replace_existing=True)
    # Paid tiers that ended: before the tier review, which then sees the spend tier.
    scheduler.add_job(paid_tier_expiry_job, "cron", hour=0, minute=15, id="paid_tier_expiry",
                      replace_existing=True)
    scheduler.add_job(send_job, "interval", seconds=send_every, id="send_due",
                      replace_existing=True)
    scheduler.add_job(campaigns_job, "interval", seconds=CAMPAIGN_EVERY_SECONDS,
                      id="plan_campaigns", replace_existing=True)
    # Preference tags (console/tag_rules.py): after the night's other jobs.
    scheduler.add_job(tag_rules_job, "cron", hour=1, minute=0, id="tag_rules",
                      replace_existing=True)
    # Hourly: an erasure's untagging at WeChat waits for no operator (a failure: next hour).
    scheduler.add_job(wechat_untag_job, "cron", minute=40, id="wechat_untag",
                      replace_existing=True)
    if rt.wxpay is not None:
        scheduler.add_job(reconcile_payments_job, "interval", seconds=RECONCILE_EVERY_SECONDS,
                          id="reconcile_payments", replace_existing=True)
    scheduler.add_listener(_observe_lag, EVENT_JOB_SUBMITTED)
    return scheduler


class SchedulerRunner:
    """Holds the lease while running the jobs; stands by while another process holds it."""

    def __init__(self, rt: Runtime, ttl: float = 30.0, renew: float = 10.0,
                 send_every: float = SEND_EVERY_SECONDS):
        self.rt = rt
        self.ttl = timedelta(seconds=ttl)
        self.renew = renew
        self.me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.scheduler = build_scheduler(rt, send_every)
        self.leading = False
        self._started = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SchedulerRunner:
        self._thread = threading.Thread(target=self.run, name="scheduler-lease", daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        log.info("scheduler %s standing by for the lease", self.me)
        try:
            while not self._stop.is_set():
                self.tick()
                self._stop.wait(self.renew)
        finally:
            self._step_down()
            if self._started:
                self.scheduler.shutdown(wait=False)
            with self.rt.sessions() as uow:
                leases.release(uow, LEASE, self.me)

    def tick(self) -> None:
        try:
            with self.rt.sessions() as uow:
                held = leases.acquire(uow, LEASE, self.me, self.ttl)
        except Exception:  # the database is unreachable: we cannot know we still hold it
            log.exception("scheduler %s: lease check failed", self.me)
            held = False
        if held and not self.leading:
            log.info("scheduler %s leading", self.me)
            if self._started:
                self.scheduler.resume()
            else:
                self.scheduler.start()
                self._started = True
            self.leading = True
        elif not held:
            self._step_down()

    def _step_down(self) -> None:
        if self.leading:
            log.warning("scheduler %s lost the lease, standing by", self.me)
            self.scheduler.pause()
            self.leading = False

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
