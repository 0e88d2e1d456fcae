"""One sync job per account at a time: a Redis lock with an expiry, renewed while the job runs.

Whatever the number of workers or cron processes, only the job holding ``sync:lock:<account id>`` advances an
account's sync. If its worker dies, the lock expires after ``SYNC_LOCK_TTL`` seconds and the next job takes
over.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from redis import Redis

log = logging.getLogger(__name__)

_EXTEND = ("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end "
           "return 0")
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class AccountLock:
    """One sync job per account at a time; the lock expires if its worker dies, and is renewed meanwhile."""

    def __init__(self, redis: Redis, account_id: int, *, ttl: int = 120, name: str = "sync:lock") -> None:
        self.redis = redis
        self.key = f"{name}:{account_id}"
        self.token = uuid.uuid4().hex
        self.ttl = max(ttl, 3)
        self.lost = False

    def acquire(self) -> bool:
        """Take the lock if free."""
        return bool(self.redis.set(self.key, self.token, nx=True, ex=self.ttl))

    def extend(self) -> bool:
        """Push the expiry back; return False if the lock is no longer ours."""
        ok = bool(self.redis.eval(_EXTEND, 1, self.key, self.token, self.ttl))
        if not ok:
            self.lost = True
        return ok

    def release(self) -> None:
        """Let the next job in (only if the lock is still ours)."""
        try:
            self.redis.eval(_RELEASE, 1, self.key, self.token)
        except Exception:  # noqa: BLE001 - the lock expires by itself; never hide the job's own error
            log.warning("could not release %s; it expires in at most %ss", self.key, self.ttl)

    @contextmanager
    def keep_alive(self) -> Iterator[None]:
        """Renew the lock every third of its lifetime while the block runs (waits for Amazon can be long)."""
        stop = threading.Event()

        def _renew() -> None:
            while not stop.wait(self.ttl / 3):
                try:
                    if not self.extend():
                        return
                except Exception:  # noqa: BLE001 - Redis blipped; the next renewal tries again
                    log.warning("could not renew %s", self.key)

        thread = threading.Thread(target=_renew, name=f"renew-{self.key}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)


__all__ = ["AccountLock"]
