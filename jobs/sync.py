"""The sync jobs: thin wrappers that read the configuration, open Redis and run :mod:`wizard.sync.runner`.

Jobs never build the Flask app: they read the configuration from the environment and open their own
database session (inside the runner). A job that has more to do later (a feed Amazon is still processing,
Amazon busy) enqueues its own follow-up here.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlmodel import col

from jobs.context import account_job
from jobs.queue import enqueue_rerun, enqueue_sync, enqueue_syncs, rerun_started
from wizard.config import from_environment
from wizard.connect.service import usable_condition
from wizard.connect.steps import ready_to_sync_condition
from wizard.db import session_scope
from wizard.models import Account, AmazonSettings, Connection
from wizard.models.sync import SyncTrigger
from wizard.redis_connection import open_redis
from wizard.sync.runner import FOLLOW, run_account
from wizard.tasks import changes_pending

log = logging.getLogger(__name__)


#: Outcomes after which changes still pending need a run of their own (value: wait first?): another job held
#: the lock, or the run has finished. After any other outcome a follow-up is on its way, the run waits for
#: the merchant, or it cannot run at all.
RERUN_AFTER = {"busy": True, "done": False, "nothing_to_follow": False}


@account_job
def sync_account(account_id: int, trigger: str = SyncTrigger.CRON.value) -> str:
    """Run (or resume) the sync of one account; return what happened, for RQ's result."""
    config = from_environment()
    redis = open_redis(config["REDIS_URL"])
    try:
        if trigger != FOLLOW:
            rerun_started(account_id, redis)
        if trigger == SyncTrigger.CHANGE.value and not changes_pending(account_id, redis):
            # A run that started after this job's change has planned it already (a burst of changes queues
            # several jobs; one run is enough).
            return "nothing_new"
        outcome = run_account(config, redis, account_id, trigger)
        if outcome.follow_up_in is not None:
            enqueue_sync(account_id, FOLLOW, connection=redis, delay=max(1.0, outcome.follow_up_in))
        if outcome.status in RERUN_AFTER and changes_pending(account_id, redis):
            # A change asked for a run this job could not plan: never lose it. While another job holds the
            # lock, ask again after a short wait (the holder may have died: its lock expires by itself).
            wait = float(config["SYNC_SOON_DELAY"]) if RERUN_AFTER[outcome.status] else None
            enqueue_rerun(account_id, connection=redis, delay=wait)
        if outcome.error is not None:
            raise outcome.error
        return outcome.status
    finally:
        redis.close()


def enqueue_all_syncs() -> int:
    """Enqueue a sync for every account ready to sync whose last one has started; return how many.

    The ``rq cron`` interval job. An account whose sync from an earlier tick is still queued is skipped.

    One query finds them and Redis gets the jobs in pipelined chunks: thousands of accounts are enqueued in
    well under the five seconds issue 12 §4 allows (``bench/bench_load.py`` measures it).
    """
    config = from_environment()
    with session_scope(config["DATABASE_URL"]) as session:
        # Rows read from the database always have an id; the ``is not None`` only narrows ``int | None``.
        account_ids = [account_id for account_id in session.scalars(
            select(col(Account.id))
            .join(Connection, col(Connection.account_id) == col(Account.id))
            .join(AmazonSettings, col(AmazonSettings.account_id) == col(Account.id))
            .where(usable_condition(), ready_to_sync_condition()).order_by(col(Account.id))
        ) if account_id is not None]
    redis = open_redis(config["REDIS_URL"])
    try:
        return enqueue_syncs(account_ids, SyncTrigger.CRON.value, connection=redis)
    finally:
        redis.close()


__all__ = ["enqueue_all_syncs", "sync_account"]
