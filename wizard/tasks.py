"""The one door from ``wizard`` to the background jobs: enqueue a sync, now, soon or later.

Views and services call these functions; they never import ``jobs`` themselves. This module imports
``jobs.queue`` (where every ``rq`` import lives) lazily, inside the functions, so importing ``wizard`` never
imports RQ and ``jobs`` may import ``wizard`` freely without a cycle. The import-rules test allows
``wizard.tasks -> jobs.queue`` and no other import of ``jobs`` from ``wizard``.

The "soon" guard (a Redis key per account) coalesces a burst of catalog changes into one delayed run; the sync
runner clears it when a run starts planning (:func:`clear_soon_guard`), so changes arriving after that point
schedule the next run.

A change's run can find the account's sync busy (another job holds its lock, or a run is still following its
feeds): the run it asked for must not be lost. So every change also sets a "changes pending" mark, cleared
only when a run starts planning; a sync job that ends while the mark is set asks for another run
(:func:`changes_pending`, used by ``jobs/sync.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from wizard.redis_connection import open_redis

log = logging.getLogger(__name__)


def _config() -> Mapping[str, Any]:
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.config
    from wizard.config import from_environment

    return from_environment()


def enqueue_sync(account_id: int, trigger: str, *, redis: Redis | None = None,
                 delay: float | None = None) -> None:
    """Enqueue a sync of ``account_id`` now, or in ``delay`` seconds, on ``redis`` (default ``REDIS_URL``)."""
    from jobs.queue import enqueue_sync as _enqueue

    if redis is not None:
        _enqueue(account_id, trigger, connection=redis, delay=delay)
        return
    connection = open_redis(_config()["REDIS_URL"])
    try:
        _enqueue(account_id, trigger, connection=connection, delay=delay)
    finally:
        connection.close()


def _soon_key(account_id: int) -> str:
    return f"sync:soon:{account_id}"


def schedule_sync_soon(account_id: int) -> bool:
    """Schedule a sync of ``account_id`` in ``SYNC_SOON_DELAY`` seconds, coalescing a burst of changes.

    Called after the settings are saved and after stock or price changes arrive through the API. The first
    call of a burst enqueues one delayed run and sets a guard key that lives as long as the delay; the calls
    that follow while it is set add nothing. Return whether a run was enqueued.

    If Redis is down the change is still safe in the database and the next scheduled run (every
    ``SYNC_INTERVAL``) sends it, so the caller's request does not fail: the problem is logged for the
    operator.
    """
    config = _config()
    delay = int(config["SYNC_SOON_DELAY"])
    connection = open_redis(config["REDIS_URL"])
    try:
        if config.get("URGENT_LANE", True):
            # Stock-outs do not wait for the feed (issue 11 §1): the lane decides which changes are urgent.
            from jobs.queue import enqueue_urgent

            enqueue_urgent(account_id, connection=connection)
        mark_changes_pending(account_id, connection)
        if not connection.set(_soon_key(account_id), "1", nx=True, ex=max(delay, 1)):
            return False
        enqueue_sync(account_id, "change", redis=connection, delay=delay)
        return True
    except RedisError:
        log.exception("could not schedule a sync for account %s; the next scheduled run will send the change",
                      account_id)
        return False
    finally:
        connection.close()


#: The "changes pending" mark outlives any run; the scheduled run (every ``SYNC_INTERVAL``) is the backstop.
PENDING_TTL = 86400


def _pending_key(account_id: int) -> str:
    return f"sync:pending:{account_id}"


def request_run(account_id: int, *, redis: Redis | None = None, delay: float | None = None) -> None:
    """Ask for a run that plans what changed (now, or in ``delay`` seconds), even when no catalog change did.

    For the catch-up after a re-authorization and for what the urgent lane leaves to a feed: it sets the
    "changes pending" mark a change-triggered job looks for (a change job that finds it clear does nothing: a
    run that started after its change already planned it).
    """
    connection = redis or open_redis(_config()["REDIS_URL"])
    try:
        mark_changes_pending(account_id, connection)
        enqueue_sync(account_id, "change", redis=connection, delay=delay)
    finally:
        if redis is None:
            connection.close()


def request_urgent_pass(account_id: int, redis: Redis) -> bool:
    """Enqueue a pass of the urgent lane unless one is waiting to start; return whether one was enqueued."""
    from jobs.queue import enqueue_urgent

    return enqueue_urgent(account_id, connection=redis)


def mark_changes_pending(account_id: int, redis: Redis) -> None:
    """Say that something changed that no run has planned yet (a change-triggered job looks for it)."""
    redis.set(_pending_key(account_id), "1", ex=PENDING_TTL)


def clear_soon_guard(account_id: int, redis: Redis) -> None:
    """A run starts planning: it sees every change so far, and the next change schedules a new run."""
    redis.delete(_soon_key(account_id), _pending_key(account_id))


def changes_pending(account_id: int, redis: Redis) -> bool:
    """Return whether changes arrived that no run has planned yet."""
    return bool(redis.exists(_pending_key(account_id)))


def request_full_sweep(account_id: int, redis: Redis) -> bool:
    """Enqueue a full read of the account's Amazon listings unless one is on its way; return if enqueued."""
    from jobs.queue import request_full_sweep as _request

    return _request(account_id, redis)


def request_incremental_sweep(account_id: int, redis: Redis) -> bool:
    """Enqueue an incremental read of Amazon's listings unless one is on its way; return if enqueued."""
    from jobs.queue import request_incremental_sweep as _request

    return _request(account_id, redis)


def request_lookups(account_id: int, skus: list[str], redis: Redis, *, chunk: int, spacing: float) -> int:
    """Enqueue targeted look-ups of ``skus`` (``chunk`` a job, spread ``spacing`` s apart); return jobs."""
    from jobs.queue import enqueue_lookups

    return enqueue_lookups(account_id, skus, connection=redis, chunk=chunk, spacing=spacing)


def enqueue_import(import_id: int) -> None:
    """Enqueue the stored CSV import ``import_id`` on the imports queue."""
    from jobs.queue import enqueue_import as _enqueue

    _enqueue(import_id)


def sync_queue_depth(redis: Redis) -> int:
    """Return how many sync jobs wait, queued or scheduled (the metrics' queue depth)."""
    from jobs.queue import sync_queue

    queue = sync_queue(redis)
    return int(queue.count + queue.scheduled_job_registry.count)


__all__ = [
    "changes_pending",
    "clear_soon_guard",
    "enqueue_import",
    "enqueue_sync",
    "mark_changes_pending",
    "request_full_sweep",
    "request_incremental_sweep",
    "request_lookups",
    "request_run",
    "request_urgent_pass",
    "schedule_sync_soon",
    "sync_queue_depth",
]
