"""A sync job frees its worker while Amazon processes a feed (issue 12 §4: thousands of merchants).

Amazon takes minutes to process a feed, often more (FACTS.md §h). A job that waited for it inline held one
of a handful of workers for ``SYNC_POLL_INLINE`` seconds per merchant and cycle: at the old default (120 s),
2,000 merchants with changes every 15 minutes needed 267 workers asleep. The job now waits a few seconds at
most (a feed Amazon finishes at once is still followed in the same job), then re-enqueues itself.
"""

from __future__ import annotations

from redis import Redis
from sqlmodel import Session

from tests.fixtures.worker import Seller, add_products
from wizard.config import ENV_VARS, from_environment
from wizard.sync.runner import Syncer

#: The product's own waits for Amazon (the test fixtures shorten them for speed).
POLL_DEFAULTS = {name: ENV_VARS[name][0]
                 for name in ("SYNC_POLL_INITIAL", "SYNC_POLL_MAX", "SYNC_POLL_INLINE")}


class FakeTime:
    """A clock that moves only when the job sleeps, so the test sees how long the job would have waited."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_sync_job_frees_its_worker_while_amazon_takes_minutes_to_process_its_feed(
        seller: Seller, db: Session, redis_url: str, sandbox) -> None:
    add_products(db, seller.account_id, 30)
    sandbox.processing(paused=True)  # Amazon keeps the feed IN_QUEUE, as it does for minutes in production
    config = {**from_environment(), **POLL_DEFAULTS}
    time = FakeTime()
    redis = Redis.from_url(redis_url)
    try:
        outcome = Syncer(config, redis, seller.account_id, sleep=time.sleep, clock=time.clock).run("cron")
    finally:
        redis.close()

    assert outcome.status == "processing"
    assert outcome.follow_up_in is not None  # a follow-up job polls the feed later
    assert "createFeed" in sandbox.stats()["calls"]
    assert sum(time.slept) <= 10, f"the job held its worker {sum(time.slept):.0f} s waiting for Amazon"
