"""Counters in Redis for the Amazon events that leave no row: 429s and failed token refreshes.

Web and worker processes run on several machines and only the web answers ``/metrics``, so these counts
cannot live in a process's memory: any process adds to them with :func:`count_event`, and
``wizard.ops.metrics`` reads them at scrape time with :func:`event_count`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

#: The call Amazon answered with 429 Too Many Requests (each answer counts, retried or not).
THROTTLED = "amazon_throttled"
#: A Login with Amazon refresh that did not give an access token (counted once, after its retries).
REFRESH_FAILED = "token_refresh_failures"
#: Events counted in Redis: name -> help text.
EVENTS = {
    THROTTLED: "Calls Amazon answered with 429 Too Many Requests",
    REFRESH_FAILED: "Failed Login with Amazon token refreshes",
}
_KEY = "metrics:events:{}"

#: What the Amazon client calls with an event's name (``redis_counter(redis)`` in the web and the worker).
EventSink = Callable[[str], None]


def count_event(redis: Redis, name: str) -> None:
    """Add one to the event counter ``name`` (one of :data:`EVENTS`); never fail the caller."""
    try:
        redis.incr(_KEY.format(name))
    except RedisError:
        log.warning("could not count the %s event: Redis is unreachable", name)


def event_count(redis: Redis, name: str) -> int:
    """Return the event counter ``name`` (0 when it was never counted)."""
    raw = redis.get(_KEY.format(name))
    return int(raw or 0)


def redis_counter(redis: Redis) -> EventSink:
    """Return an :data:`EventSink` that counts events in ``redis``, shared by every process."""

    def sink(name: str) -> None:
        count_event(redis, name)

    return sink


def ignore_event(name: str) -> None:
    """Count nothing (a client built without Redis)."""


__all__ = ["EVENTS", "REFRESH_FAILED", "THROTTLED", "EventSink", "count_event", "event_count",
           "ignore_event", "redis_counter"]
