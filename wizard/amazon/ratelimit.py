"""Amazon's usage plans as token buckets in Redis, shared by every worker, per seller and operation.

Amazon limits each application–seller pair per operation with a token bucket: ``rate`` tokens a second refill
a bucket of ``burst`` tokens, and a call takes one. We keep the same buckets on our side, in Redis so several
workers share them, and wait for a token before each call: a normal run then never provokes a 429.

Amazon plans the Listings Items operations per seller–app pair at 5 rps (FACTS.md §g, §i: "plan them
together"), so ``getListingsItem``, ``searchListingsItems`` and ``patchListingsItem`` draw from one shared
``listings`` budget here (the smallest of their plans), so reads and writes together stay within what Amazon
allows. Inside that budget the urgent lane goes first: a limiter built with ``priority=URGENT`` marks the
seller's budget as wanted while it sends, and every other caller waits until the mark lapses
(:data:`URGENT_HOLD`), so a stock-out never queues behind a sweep.

The refill is computed inside one Lua script with Redis's own clock, so workers on machines whose clocks
disagree still share one consistent bucket. Amazon reports the rate it applies in ``x-amzn-RateLimit-Limit``;
:meth:`RedisTokenBuckets.observe` adopts it (Amazon can raise a seller's limits, and does not always say so in
the docs).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from redis import Redis

from wizard.amazon.errors import Throttled

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bucket:
    """One usage plan: ``rate`` requests a second, up to ``burst`` at once."""

    rate: float
    burst: int


#: Amazon's documented default plans (FACTS.md §d, §e, §g and §i). ``createFeed`` is the JSON_LISTINGS_FEED
#: plan: five feeds per five minutes (one a minute, burst 5).
DEFAULT_BUCKETS: dict[str, Bucket] = {
    "createFeedDocument": Bucket(0.5, 15),
    "createFeed": Bucket(1 / 60, 5),
    "getFeed": Bucket(2.0, 15),
    "getFeeds": Bucket(0.0222, 10),
    "getFeedDocument": Bucket(0.0222, 10),
    "cancelFeed": Bucket(2.0, 15),
    "getMarketplaceParticipations": Bucket(0.016, 15),
    "getAccount": Bucket(0.016, 15),
    # Listings Items API 2021-08-01 (FACTS.md §g, §i; the model's usage plans).
    "getListingsItem": Bucket(5.0, 10),
    "searchListingsItems": Bucket(5.0, 5),
    "patchListingsItem": Bucket(5.0, 5),
    # Kept under the pseudo seller ``*application*``: previews count 20 rps per application.
    "patchListingsItem:VALIDATION_PREVIEW": Bucket(20.0, 20),
    # Reports API 2021-06-30 (FACTS.md §i; the model's usage plans).
    "createReport": Bucket(0.0167, 15),
    "getReport": Bucket(2.0, 15),
    "getReports": Bucket(0.0222, 10),
    "cancelReport": Bucket(0.0222, 10),
    "getReportDocument": Bucket(0.0167, 15),
}
#: Operations that share one budget per seller (the key of ``DEFAULT_BUCKETS`` they draw from).
FAMILIES: dict[str, str] = {"getListingsItem": "listings", "searchListingsItems": "listings",
                            "patchListingsItem": "listings"}
DEFAULT_BUCKETS["listings"] = Bucket(5.0, 5)
#: Callers' priorities inside a budget.
NORMAL, URGENT = "normal", "urgent"
#: How long the urgent lane's mark holds other callers back after its last token (milliseconds): longer than
#: one call and its bookkeeping, so the lane keeps the budget between two of its calls, and short enough that
#: a sweep resumes at once after the lane is done.
URGENT_HOLD = 1500
#: How long a normal caller waits before looking again while the urgent lane holds the budget (milliseconds).
URGENT_YIELD = 100
#: For an operation we know nothing about: a cautious plan.
FALLBACK_BUCKET = Bucket(0.5, 1)

#: We refill a little slower than Amazon does: a request reaches Amazon some milliseconds after it left our
#: bucket, and with no slack at all two requests whose latencies differ could arrive too close together.
SAFETY_MARGIN = 0.9
#: For buckets refilling at least once a second, we also keep one token of Amazon's burst in hand: on a busy
#: machine two requests can reach Amazon closer together than they left us by more than the 10% slack above
#: (the urgent lane's benchmark saw three 429s without it).
FAST_RATE = 1.0

# KEYS[1] = the bucket hash, KEYS[2] = the adopted rate, KEYS[3] = the urgent lane's mark.
# ARGV = default rate, burst, safety margin, priority, urgent hold (ms), yield (ms).
# Returns 0 when a token was taken, else the milliseconds to wait for one.
_TAKE = """
if ARGV[4] == 'urgent' then
  redis.call('SET', KEYS[3], '1', 'PX', tonumber(ARGV[5]))
elseif redis.call('EXISTS', KEYS[3]) == 1 then
  return tonumber(ARGV[6])
end
local rate = tonumber(redis.call('GET', KEYS[2]) or ARGV[1]) * tonumber(ARGV[3])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return wait
"""


class RedisTokenBuckets:
    """A ``RateLimiter`` for ``AmazonClient``: token buckets in Redis, per seller and operation."""

    def __init__(self, redis: Redis, buckets: Mapping[str, Bucket] | None = None, *,
                 prefix: str = "amazon:rate", sleep: Callable[[float], None] = time.sleep,
                 max_wait: float = 600.0, give_up_after: float | None = None,
                 priority: str = NORMAL) -> None:
        if priority not in (NORMAL, URGENT):
            raise ValueError(f"unknown priority {priority!r}")
        self.redis = redis
        self.priority = priority
        self.buckets = dict(DEFAULT_BUCKETS if buckets is None else buckets)
        self.prefix = prefix
        self._sleep = sleep
        self.max_wait = max_wait
        #: Raise ``Throttled`` instead of waiting longer than this for a token (None: wait as needed).
        self.give_up_after = give_up_after
        self._take = redis.register_script(_TAKE)
        #: Seconds spent waiting, by operation (the benchmark reports it).
        self.waited: dict[str, float] = {}

    def budget(self, operation: str) -> str:
        """Return the name of the budget ``operation`` draws from (its family's, when it has one)."""
        family = FAMILIES.get(operation)
        return family if family is not None and family in self.buckets else operation

    def bucket(self, operation: str) -> Bucket:
        """Return the plan of ``operation`` (its family's, when it has one)."""
        return self.buckets.get(self.budget(operation), FALLBACK_BUCKET)

    def _keys(self, seller_id: str, operation: str) -> list[str]:
        base = f"{self.prefix}:{seller_id}:{self.budget(operation)}"
        return [base, f"{base}:rate", f"{base}:urgent"]

    def try_acquire(self, seller_id: str, operation: str) -> float:
        """Take a token if one is there and return 0, else return the seconds to wait for one."""
        bucket = self.bucket(operation)
        burst = bucket.burst - 1 if bucket.rate >= FAST_RATE and bucket.burst > 1 else bucket.burst
        wait_ms = int(self._take(keys=self._keys(seller_id, operation),
                                 args=[bucket.rate, burst, SAFETY_MARGIN, self.priority, URGENT_HOLD,
                                       URGENT_YIELD]))
        return wait_ms / 1000

    def acquire(self, seller_id: str, operation: str) -> None:
        """Block until a call of ``operation`` for ``seller_id`` fits Amazon's plan."""
        while True:
            wait = self.try_acquire(seller_id, operation)
            if wait <= 0:
                return
            if self.give_up_after is not None and wait > self.give_up_after:
                raise Throttled(f"{operation}: Amazon's usage plan allows the next call in {wait:.0f} s",
                                code="rate_limited")
            wait = min(wait, self.max_wait)
            self.waited[operation] = self.waited.get(operation, 0.0) + wait
            self._sleep(wait)

    def observe(self, seller_id: str, operation: str, rate: float) -> None:
        """Adopt the rate Amazon reported for this seller and operation (kept a day)."""
        if rate <= 0:
            log.warning("ignoring a non-positive rate %s reported for %s", rate, operation)
            return
        key = self._keys(seller_id, operation)[1]
        current = self.redis.get(key)
        if current is None or abs(float(current) - rate) > 1e-9:
            self.redis.set(key, repr(rate), ex=86400)


__all__ = ["DEFAULT_BUCKETS", "FAMILIES", "NORMAL", "URGENT", "Bucket", "RedisTokenBuckets"]
