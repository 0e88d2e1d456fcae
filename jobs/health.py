"""The connection health probe (issue 9 §3): notice a revoked connection within ``HEALTH_INTERVAL``.

Thin jobs: the check is ``wizard.connect.service.probe_connection``, shared with the "Check now" button.
"""

from __future__ import annotations

import logging

from sqlmodel import col, select

from jobs.context import account_job
from jobs.queue import enqueue_health_check, redis_connection
from wizard.amazon.client import AmazonClient
from wizard.config import from_environment
from wizard.connect.service import connection_for, probe_connection
from wizard.crypto import TokenCipher
from wizard.db import session_scope
from wizard.models import Connection

log = logging.getLogger(__name__)


def enqueue_all_health_checks() -> int:
    """Enqueue a health check per account with a refresh token (the ``rq cron`` job); return how many."""
    config = from_environment()
    with session_scope(config["DATABASE_URL"]) as session:
        account_ids = list(session.exec(
            select(Connection.account_id).where(
                col(Connection.refresh_token_encrypted).is_not(None),
                col(Connection.selling_partner_id).is_not(None),
            ).order_by(col(Connection.account_id))
        ).all())
    redis = redis_connection(config["REDIS_URL"])
    try:
        for account_id in account_ids:
            enqueue_health_check(account_id, connection=redis)
    finally:
        redis.close()
    return len(account_ids)


@account_job
def check_connection(account_id: int) -> str:
    """Refresh the account's LWA token and ask the Sellers API about it; return what was found."""
    config = from_environment()
    redis = redis_connection(config["REDIS_URL"])
    try:
        # The shared buckets: the probe's Sellers API calls count against the same 0.016 rps, burst 15.
        amazon = AmazonClient.from_config(config, redis)
        with session_scope(config["DATABASE_URL"]) as session:
            connection = connection_for(session, account_id)
            if connection is None:
                return "not_connected"
            result = probe_connection(session, connection, amazon=amazon,
                                      cipher=TokenCipher(config["TOKEN_ENCRYPTION_KEYS"]))
        log.info("connection health of account %s: %s", account_id, result.check.value)
        return result.check.value
    finally:
        redis.close()
