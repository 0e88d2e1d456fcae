"""The Prometheus metrics, read at scrape time from the database and Redis.

Web and worker processes run on several machines and only the web answers HTTP, so nothing here lives in a
process's memory: sync runs, feeds and rejected SKUs are counted in the database, the queue depth is read
from Redis, and the events that leave no row (Amazon's 429s, failed token refreshes) are counters in Redis
that any process increments with :func:`wizard.amazon.events.count_event` (the Amazon client does).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import Redis
from sqlalchemy import func, select
from sqlmodel import Session, col

from wizard.amazon.events import EVENTS, count_event, event_count
from wizard.models.sync import FeedBatch, ListingState, ListingStatus, RunStatus, SyncRun

#: Feed latency (submitted → processed) is measured over this many of the newest processed feeds.
LATENCY_SAMPLE = 1000
LATENCY_BUCKETS: Sequence[float] = (60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 12 * 3600)


class StoreCollector(Collector):
    """Collect the metrics from the database session and Redis given."""

    def __init__(self, session: Session, redis: Redis, queue_depth: int) -> None:
        self.session = session
        self.redis = redis
        self.queue_depth = queue_depth

    def collect(self) -> Iterator[Metric]:
        runs = GaugeMetricFamily("ecommerce_sync_runs", "Sync runs by status", labels=["status"])
        by_status = dict(self.session.execute(
            select(col(SyncRun.status), func.count()).group_by(col(SyncRun.status))).all())
        for status in RunStatus:
            runs.add_metric([status.value], by_status.get(status, 0))
        yield runs

        yield self._latency()

        yield GaugeMetricFamily("ecommerce_sync_queue_depth",
                                "Sync jobs waiting in the queue (now or scheduled)", value=self.queue_depth)

        rejected = self.session.scalar(select(func.count()).select_from(ListingState)
                                       .where(col(ListingState.status) == ListingStatus.REJECTED)) or 0
        yield GaugeMetricFamily("ecommerce_rejected_skus", "SKUs whose last update Amazon rejected",
                                value=rejected)

        for name, documentation in EVENTS.items():
            yield CounterMetricFamily(f"ecommerce_{name}", documentation, value=event_count(self.redis, name))

    def _latency(self) -> HistogramMetricFamily:
        rows: Sequence[tuple[datetime, datetime]] = self.session.execute(
            select(col(FeedBatch.submitted_at), col(FeedBatch.processed_at))
            .where(col(FeedBatch.submitted_at).is_not(None), col(FeedBatch.processed_at).is_not(None))
            .order_by(col(FeedBatch.processed_at).desc()).limit(LATENCY_SAMPLE)
        ).all()
        seconds = [(processed - submitted).total_seconds() for submitted, processed in rows]
        buckets = [(str(float(bound)), sum(1 for s in seconds if s <= bound)) for bound in LATENCY_BUCKETS]
        buckets.append(("+Inf", len(seconds)))
        return HistogramMetricFamily(
            "ecommerce_feed_latency_seconds",
            f"Seconds from createFeed to Amazon's processing report, over the newest {LATENCY_SAMPLE} feeds",
            buckets=buckets, sum_value=sum(seconds))


def render(session: Session, redis: Redis, queue_depth: int) -> bytes:
    """Return the metrics in Prometheus' text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(session, redis, queue_depth))
    text: bytes = generate_latest(registry)
    return text


__all__ = ["EVENTS", "StoreCollector", "count_event", "render"]
