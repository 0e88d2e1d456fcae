"""The token buckets in Redis that keep our calls within Amazon's rates."""

from __future__ import annotations

import pytest
from redis import Redis

from wizard.amazon.ratelimit import Bucket, RedisTokenBuckets


@pytest.fixture
def redis(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


def test_a_bucket_allows_its_burst_then_asks_to_wait_one_refill(redis: Redis) -> None:
    buckets = RedisTokenBuckets(redis, {"createFeed": Bucket(rate=1 / 60, burst=5)})

    waits = [buckets.try_acquire("S1", "createFeed") for _ in range(6)]

    assert waits[:5] == [0, 0, 0, 0, 0]
    assert 60 <= waits[5] <= 67  # one refill at 90% of Amazon's rate


def test_buckets_are_per_seller_and_per_operation(redis: Redis) -> None:
    buckets = RedisTokenBuckets(redis, {"createFeed": Bucket(1 / 60, 1), "getFeed": Bucket(2, 1)})

    assert buckets.try_acquire("S1", "createFeed") == 0
    assert buckets.try_acquire("S1", "createFeed") > 0
    assert buckets.try_acquire("S2", "createFeed") == 0
    assert buckets.try_acquire("S1", "getFeed") == 0


def test_two_workers_share_one_bucket(redis_url: str) -> None:
    plans = {"createFeed": Bucket(1 / 60, 2)}
    first = RedisTokenBuckets(Redis.from_url(redis_url), plans)
    second = RedisTokenBuckets(Redis.from_url(redis_url), plans)

    assert first.try_acquire("S1", "createFeed") == 0
    assert second.try_acquire("S1", "createFeed") == 0
    assert first.try_acquire("S1", "createFeed") > 0
    assert second.try_acquire("S1", "createFeed") > 0


def test_acquire_sleeps_for_the_time_the_bucket_needs(redis: Redis) -> None:
    slept: list[float] = []

    def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        redis.delete("amazon:rate:S1:getFeedDocument")  # as if the time had passed: the bucket refills

    buckets = RedisTokenBuckets(redis, {"getFeedDocument": Bucket(0.0222, 1)}, sleep=fake_sleep)
    buckets.acquire("S1", "getFeedDocument")
    buckets.acquire("S1", "getFeedDocument")

    assert len(slept) == 1 and 45 <= slept[0] <= 51
    assert buckets.waited["getFeedDocument"] == pytest.approx(slept[0])


def test_the_rate_amazon_reports_replaces_the_documented_default(redis: Redis) -> None:
    buckets = RedisTokenBuckets(redis, {"createFeed": Bucket(1 / 60, 1)})
    buckets.try_acquire("S1", "createFeed")

    buckets.observe("S1", "createFeed", 10.0)

    assert buckets.try_acquire("S1", "createFeed") <= 0.12  # one token at 90% of 10 per second
    other_seller_wait = [buckets.try_acquire("S2", "createFeed") for _ in range(2)][1]
    assert other_seller_wait > 50


def test_a_nonsensical_reported_rate_is_ignored(redis: Redis) -> None:
    buckets = RedisTokenBuckets(redis, {"createFeed": Bucket(1 / 60, 1)})
    buckets.observe("S1", "createFeed", 0)
    buckets.try_acquire("S1", "createFeed")

    assert buckets.try_acquire("S1", "createFeed") > 50


def test_the_listings_operations_share_one_budget_per_seller(redis: Redis) -> None:
    buckets = RedisTokenBuckets(redis)

    # Amazon's plan is 5 rps, burst 5; one token of the burst stays in hand against network jitter.
    takes = [buckets.try_acquire("S1", op) for op in
             ("searchListingsItems", "patchListingsItem", "getListingsItem", "searchListingsItems")]

    assert takes == [0, 0, 0, 0]
    assert buckets.try_acquire("S1", "patchListingsItem") > 0
    assert buckets.try_acquire("S2", "patchListingsItem") == 0
    assert buckets.try_acquire("S1", "getFeed") == 0  # other operations keep their own plans


def test_while_the_urgent_lane_sends_other_callers_of_the_budget_wait(redis: Redis) -> None:
    sweep = RedisTokenBuckets(redis)
    lane = RedisTokenBuckets(redis, priority="urgent")

    assert sweep.try_acquire("S1", "searchListingsItems") == 0
    assert lane.try_acquire("S1", "patchListingsItem") == 0

    assert sweep.try_acquire("S1", "searchListingsItems") > 0  # tokens are left, but the lane goes first
    assert lane.try_acquire("S1", "patchListingsItem") == 0
    assert sweep.try_acquire("S2", "searchListingsItems") == 0  # another seller's budget is not held
    redis.delete("amazon:rate:S1:listings:urgent")  # as if URGENT_HOLD had passed since the lane's last call
    assert sweep.try_acquire("S1", "searchListingsItems") == 0


def test_an_unknown_priority_is_refused(redis: Redis) -> None:
    with pytest.raises(ValueError, match="priority"):
        RedisTokenBuckets(redis, priority="vip")
