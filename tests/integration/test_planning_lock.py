"""The account's planning lock (urgent lane vs feed planner) outlives a dead holder only briefly.

With a fixed 600-s expiry, a worker SIGKILLed while its lane pass held the lock stalled its replacement's
lane and planner for ten minutes (``test_urgent_convergence.py`` timed out on it once jobs ran in the worker's
process). The lock now expires after ``PLANNING_LOCK_TTL`` and is renewed while it is held.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from redis import Redis

from tests.fixtures.services import wait_until
from wizard.sync.urgent import PLANNING_LOCK_TTL, planning_lock

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY = "sync:planning:7"

HOLDER = """
import sys, time
from redis import Redis
from wizard.sync.urgent import PLANNING_LOCK_TTL, planning_lock
with planning_lock(Redis.from_url(sys.argv[1]), 7):
    print("held", flush=True)
    time.sleep(3600)
"""


def test_a_planning_lock_whose_holder_was_killed_expires_within_its_short_ttl(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    with subprocess.Popen([sys.executable, "-c", HOLDER, redis_url], cwd=REPO_ROOT,
                          stdout=subprocess.PIPE) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == b"held"
        finally:
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(timeout=10)

    assert redis.exists(KEY)
    assert 0 < redis.ttl(KEY) <= PLANNING_LOCK_TTL <= 60


def test_a_planning_lock_held_longer_than_its_ttl_is_renewed(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    lowest = [float("inf")]

    def renewed() -> bool:
        left = redis.pttl(KEY)
        if left > lowest[0] + 200:  # the expiry went back up: the holder pushed it back
            return True
        lowest[0] = min(lowest[0], left)
        return False

    with planning_lock(redis, 7, ttl=3):
        wait_until(renewed, timeout=10, message="the lock's expiry to be pushed back")
        assert redis.get(KEY) is not None
    assert not redis.exists(KEY)
