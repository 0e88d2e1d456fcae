"""Four real ``rq worker`` processes share one database and one Redis, as on two machines in production, and
some are SIGKILLed mid-run: the per-account lock, batch claiming and "never submit a feed twice" still hold,
and every account's catalog reaches Amazon exactly as the rules engine says.

This runs in both passes of ``make test``; on PostgreSQL it is the production set-up (several worker
processes, one PostgreSQL, one Redis).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from rq import Queue
from rq.registry import FinishedJobRegistry
from sqlalchemy import func
from sqlmodel import Session, select

from jobs.queue import SYNC_QUEUE, enqueue_sync
from tests.conftest import make_merchant
from tests.fixtures.services import wait_until
from tests.fixtures.worker import Seller, add_products, connect, kill_worker, save_settings, start_worker
from tests.integration.test_convergence import assert_converged
from wizard.models.sync import BatchStatus, FeedBatch, RunStatus, SyncRun
from wizard.rules import Rules

WORKERS = 4
PRODUCTS = 3_000
#: 300 messages a feed: 10 feeds per account, so kills land between feeds.
FEED_MESSAGES = 300
SECOND_SELLER = "A2PROSELLERUS02"


def _feeds_out(db: Session) -> int:
    db.expire_all()
    return db.exec(select(func.count()).select_from(FeedBatch)
                   .where(FeedBatch.feed_id.is_not(None))).one()  # type: ignore[union-attr]


def _settled(db: Session, account_ids: list[int]) -> bool:
    """Return whether every account's newest run is done and nothing is left to send."""
    db.expire_all()
    unfinished = db.exec(select(func.count()).select_from(FeedBatch).where(
        FeedBatch.status.in_((BatchStatus.PLANNED, BatchStatus.UPLOADED,  # type: ignore[attr-defined]
                              BatchStatus.SUBMITTING, BatchStatus.SUBMITTED)))).one()
    if unfinished:
        return False
    for account_id in account_ids:
        newest = db.exec(select(SyncRun).where(SyncRun.account_id == account_id)
                         .order_by(SyncRun.id.desc())).first()  # type: ignore[union-attr]
        if newest is None or newest.status != RunStatus.DONE:
            return False
    return True


@pytest.mark.slow
def test_four_workers_with_sigkills_never_submit_a_feed_twice_and_converge(
        db: Session, seller: Seller, sandbox: Any, redis_url: str, sync_env: dict[str, str],
        worker_processes: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    second = make_merchant(db, "Second Outdoor", "second.example")
    assert second.account.id is not None
    connect(db, second.account.id, sandbox.grant(SECOND_SELLER), seller_id=SECOND_SELLER)
    save_settings(db, second.account.id)
    sellers = {seller.account_id: seller.seller_id, second.account.id: SECOND_SELLER}
    for account_id in sellers:
        add_products(db, account_id, PRODUCTS)
    env = {**sync_env, "SYNC_FEED_MAX_MESSAGES": str(FEED_MESSAGES)}
    monkeypatch.setenv("SYNC_FEED_MAX_MESSAGES", str(FEED_MESSAGES))
    sandbox.processing(delay=2.0)  # feeds stay in flight a while, so kills land mid-run
    redis = Redis.from_url(redis_url)

    def start(n: int) -> None:
        worker_processes.append(start_worker(env, log=tmp_path / f"worker-{n}.log"))

    for n in range(WORKERS):
        start(n)
    # Several jobs per account at once (the cron, "Sync now", changes): only one may work at a time.
    for _ in range(3):
        for account_id in sellers:
            enqueue_sync(account_id, "cron", connection=redis)
            enqueue_sync(account_id, "manual", connection=redis)

    # Kill two workers (and their work-horses) once feeds are out, then another one later; start replacements.
    wait_until(lambda: _feeds_out(db) >= 4, timeout=60, message="four feeds to be submitted")
    for victim in (worker_processes[0], worker_processes[2]):
        kill_worker(victim)
    start(WORKERS)
    start(WORKERS + 1)
    # The first worker started holds RQ's scheduler, and it was just killed: the runs' delayed follow-ups wait
    # until a live worker takes the scheduler over, at its next maintenance after the dead one's lock expires
    # (jobs.queue.MAINTENANCE_INTERVAL 60 s + RQ's lock, 61 s). So allow three minutes, not one. A kill can
    # also land on both accounts' jobs before either scheduled its follow-up: then, as in production, the
    # cron's next tick starts them again (test_worker_class checks the scheduler's takeover on its own).
    def as_the_cron_until(done: Callable[[], bool], message: str) -> None:
        # What the cron does every SYNC_INTERVAL: enqueue each account again (once the queue is empty) until
        # ``done``.
        def done_or_enqueue() -> bool:
            if done():
                return True
            if Queue(SYNC_QUEUE, connection=redis).count == 0:
                for account_id in sellers:
                    enqueue_sync(account_id, "cron", connection=redis)
            return False

        wait_until(done_or_enqueue, timeout=180, interval=0.5, message=message)

    as_the_cron_until(lambda: _feeds_out(db) >= 10, "ten feeds to be submitted")
    kill_worker(worker_processes[1])
    start(WORKERS + 2)
    sandbox.processing(delay=0.5)

    as_the_cron_until(lambda: _settled(db, list(sellers)), "every account's sync to settle")

    for account_id, seller_id in sellers.items():
        assert_converged(db, sandbox, Seller(account_id, seller_id), Rules())
    # Never a feed twice: no document was submitted as two feeds, and every feed Amazon has is one batch's.
    feeds = [f for f in sandbox.stats()["feeds"] if f["feedType"] == "JSON_LISTINGS_FEED"]
    assert [h for h, n in Counter(f["content_sha256"] for f in feeds).items() if n > 1] == []
    db.expire_all()
    ours = db.exec(select(FeedBatch.account_id, FeedBatch.feed_id)
                   .where(FeedBatch.feed_id.is_not(None))).all()  # type: ignore[union-attr]
    assert sorted(feed_id for _, feed_id in ours) == sorted(f["feedId"] for f in feeds)
    by_seller = {f["feedId"]: f["sellerId"] for f in feeds}
    assert all(by_seller[feed_id] == sellers[account_id] for account_id, feed_id in ours)
    # The per-account lock turned jobs away while another job held the account.
    queue = Queue(SYNC_QUEUE, connection=redis)
    jobs = [queue.fetch_job(job_id) for job_id in FinishedJobRegistry(queue=queue).get_job_ids()]
    outcomes = Counter(job.return_value() for job in jobs if job is not None)
    assert outcomes["busy"] > 0, outcomes
