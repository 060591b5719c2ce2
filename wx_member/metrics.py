"""Prometheus metrics, served at /metrics (web/observability.py).

Under gunicorn each worker is its own process: with `PROMETHEUS_MULTIPROC_DIR` set (the
shipped gunicorn config sets it), every process, workers and a `wx-member scheduler` on the
same host alike, writes its values to files there and /metrics adds them up. Without it
(`wx-member serve`, tests in one process) the values live in this process.

What the database knows better than any one process (is the scheduler keeping up, does
anyone lead) is read from it at scrape time by `SchedulerCollector`, so every host reports
it, and it keeps growing while no scheduler runs at all.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from wx_member.clock import timestamp, utcnow
from wx_member.db import make_session_factory
from wx_member.models import SchedulerLease

# WeChat waits 5 s: the buckets are finest below that.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)

HTTP_SECONDS = Histogram("wx_member_http_request_duration_seconds",
                         "Time to answer a request, by endpoint (webhook.receive: WeChat events)",
                         ["endpoint"], buckets=LATENCY_BUCKETS)
HTTP_REQUESTS = Counter("wx_member_http_requests_total", "Requests answered, by endpoint and status",
                        ["endpoint", "status"])
HTTP_IN_PROGRESS = Gauge("wx_member_http_requests_in_progress", "Requests being answered now",
                         ["endpoint"], multiprocess_mode="livesum")
EVENTS = Counter("wx_member_webhook_events_total",
                 "WeChat events and messages received with a valid signature, by kind", ["kind"])
LEDGER_WRITES = Counter("wx_member_ledger_writes_total",
                        "Ledger rows committed, by ledger and reason", ["ledger", "reason"])
PUSHES = Counter("wx_member_pushes_total", "Push sends by outcome status (sent, queued for a "
                 "retry, failed, skipped, unknown)", ["status"])
SCHEDULER_LAG = Histogram("wx_member_scheduler_lag_seconds",
                          "How late a scheduled job started, after its planned time", ["job"],
                          buckets=(0.1, 0.5, 1, 2, 5, 15, 60, 300, 900, 3600))
REPLICA_READS = Counter("wx_member_replica_reads_total",
                        "Reads that may be stale (the dashboard's figures), by the server that "
                        "served them: replica, or primary when the replica lags or is away",
                        ["server"])

_PENDING = "wx_member_ledger_writes"


# -- ledger writes: counted when their transaction commits, not when they are attempted --
def note_ledger_write(session: Session, ledger: str, reason: str) -> None:
    """Called by a service after writing a ledger row inside `session`'s transaction."""
    session.info.setdefault(_PENDING, []).append((ledger, reason))


def install_session_hooks(sessions: sessionmaker) -> None:
    @event.listens_for(sessions, "after_commit")
    def _publish(session: Session) -> None:
        for ledger, reason in session.info.pop(_PENDING, ()):
            LEDGER_WRITES.labels(ledger, reason).inc()

    @event.listens_for(sessions, "after_transaction_end")
    def _forget(session: Session, transaction) -> None:
        if transaction.parent is None:  # the outer transaction rolled back: nothing was written
            session.info.pop(_PENDING, None)


def count_pushes(counts: Mapping[str, int]) -> None:
    for status, n in counts.items():
        if n:
            PUSHES.labels(status).inc(n)


def count_replica_read(server: str) -> None:
    REPLICA_READS.labels(server).inc()


# -- read from the database at scrape time ------------------------------------------------
class SchedulerCollector:
    """`wx_member_scheduler_overdue_seconds`: how far the earliest job's run time is in the
    past (0 while the scheduler keeps up; grows while nobody runs the jobs).
    `wx_member_scheduler_lease_seconds_left`: until the leader's lease runs out (negative:
    nobody leads)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.sessions = make_session_factory(engine)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        now = utcnow()
        with self.sessions() as uow, uow.read() as session:  # never waits behind a writer
            # APScheduler keeps next_run_time as a Unix timestamp (float).
            earliest = session.execute(
                text("SELECT MIN(next_run_time) FROM apscheduler_jobs")).scalar()
            expires = session.scalar(select(func.max(SchedulerLease.expires_at))
                                     .where(SchedulerLease.name == "scheduler"))  # scheduler.LEASE
        now_ts = timestamp(now)
        overdue = GaugeMetricFamily("wx_member_scheduler_overdue_seconds",
                                    "Seconds the earliest scheduled job is overdue")
        overdue.add_metric([], max(0.0, now_ts - float(earliest)) if earliest else 0.0)
        yield overdue
        if expires is not None:
            left = GaugeMetricFamily("wx_member_scheduler_lease_seconds_left",
                                     "Seconds until the scheduler leader's lease expires")
            left.add_metric([], (expires - now).total_seconds())
            yield left
