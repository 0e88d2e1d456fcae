"""The cron's fan-out (issue 12 §4): one query for the accounts ready to sync, their jobs enqueued in bulk.

The query is :func:`wizard.connect.steps.ready_to_sync_condition`, the SQL form of the wizard's own rule
(:func:`ready_to_sync` of :func:`facts_for`); this test holds the two together for every combination of
facts.
``bench/bench_load.py`` measures the fan-out's speed at 2,000 accounts.
"""

from __future__ import annotations

import itertools

from redis import Redis
from rq import Queue
from sqlmodel import Session, select

from jobs.queue import SYNC_JOB, SYNC_QUEUE
from wizard.connect.service import usable
from wizard.connect.steps import facts_for, ready_to_sync
from wizard.models import Account, AmazonSettings, Connection, ConnectionStatus
from wizard.models.base import utcnow

#: Each fact an account's readiness depends on, with the values it can take (None: no row / no value).
TOKENS = (None, "", "encrypted-token")
PLANS = (None, "INDIVIDUAL", "PROFESSIONAL")
PARTICIPATING = (None, False, True)
SETTINGS = ("no row", "never saved", "saved")
STATUSES = (ConnectionStatus.CONNECTED, ConnectionStatus.NEEDS_REAUTHORIZATION)


def _accounts_in_every_state(db: Session) -> list[Account]:
    now = utcnow()
    accounts = []
    combinations = itertools.product((False, True), (False, True), TOKENS, (False, True), PLANS,
                                     PARTICIPATING, SETTINGS, STATUSES)
    for n, combination in enumerate(combinations):
        acknowledged, has_connection, token, verified, plan, participating, settings, status = combination
        account = Account(name=f"Merchant {n}", prerequisites_acknowledged_at=now if acknowledged else None)
        db.add(account)
        db.flush()
        assert account.id is not None
        if has_connection:
            db.add(Connection(account_id=account.id, status=status, selling_partner_id=f"A{n:012d}",
                              refresh_token_encrypted=token, verified_at=now if verified else None,
                              selling_plan=plan, us_participating=participating))
        if settings != "no row":
            db.add(AmazonSettings(account_id=account.id, saved_at=now if settings == "saved" else None))
        accounts.append(account)
    db.commit()
    return accounts


def _expected(db: Session, accounts: list[Account]) -> list[int]:
    """The accounts the wizard's own rule calls ready, with a usable connection, one account at a time."""
    ready = []
    for account in accounts:
        assert account.id is not None
        connection = db.exec(select(Connection).where(Connection.account_id == account.id)).first()
        if connection is not None and usable(connection) and ready_to_sync(facts_for(db, account)):
            ready.append(account.id)
    return ready


def test_the_cron_enqueues_exactly_the_accounts_the_wizard_calls_ready(
        db: Session, redis_url: str, sync_env: dict[str, str]) -> None:
    from jobs.sync import enqueue_all_syncs

    accounts = _accounts_in_every_state(db)
    expected = _expected(db, accounts)
    assert 0 < len(expected) < len(accounts)  # the combinations include ready and not-ready accounts

    assert enqueue_all_syncs() == len(expected)

    redis = Redis.from_url(redis_url)
    try:
        jobs = Queue(SYNC_QUEUE, connection=redis).get_jobs()
        assert [job.args for job in jobs] == [(account_id, "cron") for account_id in expected]
        assert {job.func_name for job in jobs} == {SYNC_JOB}
        assert all(job.timeout is not None and job.timeout >= 3600 for job in jobs)
    finally:
        redis.close()


def test_the_cron_tick_is_not_queued_behind_a_backlog_of_syncs(redis_url: str) -> None:
    from rq import SimpleWorker

    from jobs.queue import URGENT_QUEUE, cron_scheduler, enqueue_syncs

    redis = Redis.from_url(redis_url)
    try:
        enqueue_syncs(list(range(1, 51)), "change", connection=redis)  # an overrunning cycle's backlog
        cron_scheduler(redis, 60).enqueue_jobs()
        # The worker's queues, in the Procfile's order: it takes the fan-out before any of the 50 syncs.
        worker = SimpleWorker([Queue(name, connection=redis) for name in (URGENT_QUEUE, SYNC_QUEUE)],
                              connection=redis)
        job, queue = worker.dequeue_job_and_maintain_ttl(timeout=1)
        assert job is not None and job.func_name == "jobs.sync.enqueue_all_syncs"
        assert Queue(SYNC_QUEUE, connection=redis).count == 50
    finally:
        redis.close()
