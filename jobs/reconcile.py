"""The reconcile jobs: thin wrappers that read the configuration and run :mod:`wizard.reconcile.runner`.

One reconcile job per account at a time (its own Redis lock, apart from the sync's, so reading Amazon never
blocks sending to it). A step with more to do later (a report Amazon is still preparing) re-enqueues itself
with a delay instead of holding a worker. When an account's first full sweep finishes, its first sync is
enqueued (issue 10 §3: the first sync of an account starts after its first full sweep). A step that found a
quantity changed on Amazon outside Ecommerce schedules its correction like a stock change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from jobs.context import account_job
from jobs.queue import (
    enqueue_reconcile,
    enqueue_sync,
    follow_up_pending,
    incremental_started,
    lookup_done,
    schedule_reconcile_follow_up,
)
from wizard.config import from_environment
from wizard.connect.steps import facts_for, ready_to_sync
from wizard.db import session_scope
from wizard.models import Account, Connection, ConnectionStatus
from wizard.models.base import utcnow
from wizard.models.reconcile import SweepKind
from wizard.models.sync import SyncRun
from wizard.reconcile import status as reconcile_status
from wizard.reconcile.runner import due_kind, run_sweep
from wizard.reconcile.store import quantity_drift_since
from wizard.redis_connection import open_redis
from wizard.sync.lock import AccountLock
from wizard.tasks import schedule_sync_soon

log = logging.getLogger(__name__)


#: Outcomes after which nothing Amazon showed was stored: the stored counts stay as they are.
NOTHING_STORED = frozenset({"not_connected", "waiting", "needs_full", "nothing_to_look_up"})


@account_job
def reconcile_account(account_id: int, kind: str = "", skus: list[str] | None = None,
                      follow: bool = False) -> str:
    """Run (or resume) one reconcile step for an account; ``kind`` empty means whichever is due.

    ``follow`` marks the next step of a sweep a job scheduled itself; other jobs leave the account alone
    while such a step is on its way. A targeted look-up is no step of a sweep: it runs whatever sweep is
    on its way, and one that finds the account's reconcile busy (or Amazon unavailable) tries again later
    rather than losing its SKUs; so does an incremental read requested after a sync.
    """
    config = from_environment()
    redis = open_redis(config["REDIS_URL"])
    targeted = kind == SweepKind.TARGETED.value
    try:
        if not targeted and follow_up_pending(account_id, redis, taking_over=follow):
            if kind == SweepKind.INCREMENTAL.value:
                incremental_started(account_id, redis)  # the running sweep reads it; ask again later
            return "scheduled"
        if not kind:
            with session_scope(config["DATABASE_URL"]) as session:
                kind = due_kind(config, session, account_id).value
        lock = AccountLock(redis, account_id, ttl=int(config["SYNC_LOCK_TTL"]))
        lock.key = f"reconcile:lock:{account_id}"
        if not lock.acquire():
            log.info("account %s: a reconcile is already running; this %s step waits", account_id,
                     kind or "scheduled")
            if targeted:
                enqueue_reconcile(account_id, kind, connection=redis, skus=skus,
                                  delay=max(1.0, float(config["RECONCILE_LOOKUP_SPACING"])))
            elif kind == SweepKind.INCREMENTAL.value:
                enqueue_reconcile(account_id, kind, connection=redis,
                                  delay=max(1.0, float(config["SYNC_RETRY_DELAY"])))
            return "busy"
        started = utcnow()
        try:
            with lock.keep_alive():
                if kind == SweepKind.INCREMENTAL.value:
                    incremental_started(account_id, redis)
                outcome = run_sweep(config, redis, account_id, kind, skus)
                # A feed's look-ups are several jobs: the last of them recomputes the counts (a look-up that
                # tries again later is not done yet).
                last = not targeted or (outcome.follow_up_in is None and lookup_done(account_id, redis))
                if outcome.status not in NOTHING_STORED and last:
                    # The home page shows stored counts: recompute them here, never per page view.
                    reconcile_status.refresh(config["DATABASE_URL"], account_id)
        finally:
            lock.release()
        log.info("account %s: %s sweep %s", account_id, kind, outcome.status)
        if _found_quantity_drift(config, account_id, started):
            # Amazon's quantity was changed elsewhere: correct it as a stock change would be (issue 10 §3,
            # issue 11 §1): the urgent lane at once if Amazon now sells more than we decide, else a run soon.
            schedule_sync_soon(account_id)
        if outcome.follow_up_in is not None:
            if targeted:
                enqueue_reconcile(account_id, kind, connection=redis, skus=skus,
                                  delay=max(1.0, outcome.follow_up_in))
            else:
                schedule_reconcile_follow_up(account_id, kind, connection=redis,
                                             delay=max(1.0, outcome.follow_up_in), skus=skus)
        elif outcome.status == "needs_full":
            enqueue_reconcile(account_id, SweepKind.FULL.value, connection=redis)
        elif kind == SweepKind.FULL.value and outcome.status == "done" and _never_synced(config, account_id):
            enqueue_sync(account_id, "cron", connection=redis)
        return outcome.status
    finally:
        redis.close()


def _found_quantity_drift(config: Mapping[str, Any], account_id: int, since: datetime) -> bool:
    with session_scope(str(config["DATABASE_URL"])) as session:
        return quantity_drift_since(session, account_id, since)


def _never_synced(config: dict[str, object], account_id: int) -> bool:
    with session_scope(str(config["DATABASE_URL"])) as session:
        return session.scalar(select(col(SyncRun.id)).where(col(SyncRun.account_id) == account_id)
                              .limit(1)) is None


def enqueue_all_reconciles() -> int:
    """Enqueue a reconcile of every connected account ready to sync (the ``rq cron`` job); return how many."""
    config = from_environment()
    with session_scope(config["DATABASE_URL"]) as session:
        accounts = session.scalars(
            select(Account).join(Connection, col(Connection.account_id) == col(Account.id)).where(
                col(Connection.status) == ConnectionStatus.CONNECTED,
                col(Connection.refresh_token_encrypted).is_not(None),
                col(Connection.selling_partner_id).is_not(None)).order_by(col(Account.id))).all()
        account_ids = [account.id for account in accounts
                       if account.id is not None and ready_to_sync(facts_for(session, account))]
    redis = open_redis(config["REDIS_URL"])
    try:
        for account_id in account_ids:
            enqueue_reconcile(account_id, "", connection=redis)
    finally:
        redis.close()
    return len(account_ids)


__all__ = ["enqueue_all_reconciles", "reconcile_account"]
