"""The urgent lane's job (issue 11 §1): send an account's stock-outs now with ``patchListingsItem``.

Enqueued by every stock, price or settings change (``wizard.tasks.schedule_sync_soon``) and by a reconcile
that found drift; one pass reads the newest state, so a burst of changes needs one pass. Workers take the
``urgent`` queue before ``sync`` and ``reconcile``. What the lane leaves (over the per-minute bound, or
stopped by the guard) goes into a feed run enqueued at once.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlmodel import col

from jobs.context import account_job
from jobs.queue import enqueue_urgent, urgent_started
from wizard.amazon.client import AmazonClient
from wizard.amazon.errors import AmazonError, AuthorizationRevoked
from wizard.amazon.ratelimit import URGENT
from wizard.config import from_environment
from wizard.crypto import TokenCipher
from wizard.db import session_scope
from wizard.models import Connection
from wizard.reconcile import status as reconcile_status
from wizard.reconcile.runner import seller_for
from wizard.redis_connection import open_redis
from wizard.sync import urgent
from wizard.tasks import request_run

log = logging.getLogger(__name__)


@account_job
def urgent_account(account_id: int) -> str:
    """Run one pass of the urgent lane for ``account_id``; return what happened, for RQ's result."""
    config = from_environment()
    redis = open_redis(config["REDIS_URL"])
    try:
        urgent_started(account_id, redis)
        with session_scope(config["DATABASE_URL"]) as session:
            connection = session.scalars(
                select(Connection).where(col(Connection.account_id) == account_id)).first()
            seller = seller_for(connection, TokenCipher(config["TOKEN_ENCRYPTION_KEYS"]))
            if seller is None:
                return "not_connected"
            # The lane goes first in the seller's Listings budget: reconcile reads wait while it sends.
            client = AmazonClient.from_config(config, redis, priority=URGENT)
            sent = 0
            try:
                while True:
                    # The lock is taken per chunk, so a feed can be planned between two chunks.
                    with urgent.planning_lock(redis, account_id):
                        outcome = urgent.run_lane(session, config, account_id, seller, client)
                    sent += outcome.sent
                    if not outcome.more:
                        break
            except AuthorizationRevoked:
                return "not_connected"  # the sync job marks the connection and tells the merchant
            except AmazonError as exc:
                # What was answered is recorded; the rest goes again in a moment, and the feed has it too.
                log.warning("account %s: urgent lane paused, Amazon answered %s", account_id, exc)
                urgent.mark_deferred(redis, account_id)
                enqueue_urgent(account_id, connection=redis)
                request_run(account_id, redis=redis, delay=float(config["SYNC_SOON_DELAY"]))
                return "retrying"
        if sent:
            # What Amazon accepted changed (a drift corrected, a rejection cleared): the stored counts too.
            reconcile_status.refresh(config["DATABASE_URL"], account_id)
        if outcome.deferred:
            urgent.mark_deferred(redis, account_id)  # the feed takes what the lane left
            request_run(account_id, redis=redis)
        if outcome.stopped_by_guard:
            log.warning("account %s: %s stock-outs at once; left to a feed run for the guard", account_id,
                        outcome.deferred)
            return "held_for_guard"
        result = f"sent {outcome.sent} ({outcome.accepted} accepted, {outcome.invalid} invalid)"
        log.info("account %s: urgent lane %s", account_id, result)
        return result
    finally:
        redis.close()


__all__ = ["urgent_account"]
