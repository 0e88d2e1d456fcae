"""Amazon throttling past the client's retries is normal operation: the job ends calmly, says when it tries
again, and comes back after a back-off (issue 8, R2). Faults come from the sandbox, over real HTTP.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from redis import Redis
from rq.registry import FailedJobRegistry
from sqlmodel import Session

from jobs.queue import sync_queue
from tests.fixtures.queues import release_scheduled_jobs, run_worker_burst, scheduled_job_count
from tests.fixtures.worker import Seller, add_products, last_run, run_sync
from wizard.models.sync import RunStatus
from wizard.sync.runner import busy_delay


def test_a_throttled_getfeed_ends_the_job_calmly_and_retries_later(
        client: FlaskClient, signed_in_as, seller: Seller, db: Session, redis_url: str,  # type: ignore[no-untyped-def]
        sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMAZON_RETRY_ATTEMPTS", "2")
    add_products(db, seller.account_id, 10)
    sandbox.fault("getFeed", throttle=True)  # every getFeed answers 429
    redis = Redis.from_url(redis_url)

    run_sync(redis_url, seller.account_id)

    assert FailedJobRegistry(queue=sync_queue(redis)).count == 0  # no crash, no traceback
    assert sandbox.stats()["throttled"].get("getFeed", 0) >= 2
    run = last_run(db, seller.account_id)
    assert run.status == RunStatus.PROCESSING
    note = run.error or ""
    assert note.startswith("Amazon is busy, retrying at ")
    at = re.search(r"retrying at (\d\d:\d\d) UTC", note)
    assert at is not None
    assert scheduled_job_count(redis) == 1  # the follow-up, at the time the note gives
    job_id = sync_queue(redis).scheduled_job_registry.get_job_ids()[0]
    scheduled = sync_queue(redis).scheduled_job_registry.get_scheduled_time(job_id)
    # The note was written a moment before the job was scheduled: the same minute, or the one before.
    said = datetime.strptime(at.group(1), "%H:%M").time()
    assert said in {scheduled.time().replace(second=0, microsecond=0),
                    (scheduled - timedelta(minutes=1)).time().replace(second=0, microsecond=0)}
    signed_in_as("staff")
    assert "Amazon is busy, retrying at" in client.get("/sync/").get_data(as_text=True)

    sandbox.fault("getFeed", throttle=False)
    release_scheduled_jobs(redis)
    run_worker_burst(redis)

    finished = last_run(db, seller.account_id)
    assert finished.status == RunStatus.DONE and finished.accepted_count == 10
    assert finished.error is None


def test_the_busy_back_off_doubles_per_busy_job_in_a_row_up_to_a_cap(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)

    delays = [busy_delay(redis, 7, 60.0) for _ in range(7)]

    assert delays == [60, 120, 240, 480, 960, 960, 960]
    assert redis.ttl("sync:amazon-busy:7") > 0
