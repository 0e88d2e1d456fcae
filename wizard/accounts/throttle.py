"""Sign-in throttling: a few wrong passwords per email and per client address, then a pause.

Counts live in Redis in fixed windows (``SIGN_IN_FAILURE_WINDOW`` seconds, from the first failure). An
unknown email is counted like a known one, so the pause itself does not tell who has an account. Emails
are stored only as hashes.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis import Redis

PREFIX = "sign-in:failures:"


@dataclass(frozen=True)
class Limits:
    """How many failures per email and per client address a window allows."""

    per_email: int
    per_address: int
    window: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """Read the limits from ``SIGN_IN_MAX_FAILURES``, ``…_PER_IP`` and ``SIGN_IN_FAILURE_WINDOW``."""
        return cls(per_email=int(config["SIGN_IN_MAX_FAILURES"]),
                   per_address=int(config["SIGN_IN_MAX_FAILURES_PER_IP"]),
                   window=int(config["SIGN_IN_FAILURE_WINDOW"]))


def _keys(email: str, address: str, limits: Limits) -> list[tuple[str, int]]:
    digest = hashlib.sha256(email.encode()).hexdigest()
    return [(PREFIX + "email:" + digest, limits.per_email),
            (PREFIX + "address:" + address, limits.per_address)]


def retry_after(redis: Redis, email: str, address: str, limits: Limits) -> int | None:
    """Return the seconds until this email or address may try again, or None if it may try now."""
    keys = _keys(email, address, limits)
    pipe = redis.pipeline(transaction=False)
    for key, _limit in keys:
        pipe.get(key)
        pipe.ttl(key)
    answers = pipe.execute()
    waits = [max(int(answers[2 * i + 1]), 1) for i, (_key, limit) in enumerate(keys)
             if answers[2 * i] is not None and int(answers[2 * i]) >= limit]
    return max(waits) if waits else None


def record_failure(redis: Redis, email: str, address: str, limits: Limits) -> int | None:
    """Count a wrong password; return the seconds to wait if that reached a limit, else None."""
    pipe = redis.pipeline(transaction=True)
    for key, _limit in _keys(email, address, limits):
        # SET NX EX starts the window on the first failure; INCR keeps the key's expiry.
        pipe.set(key, 0, ex=limits.window, nx=True)
        pipe.incr(key)
    pipe.execute()
    return retry_after(redis, email, address, limits)


def forget_failures(redis: Redis, email: str, address: str, limits: Limits) -> None:
    """Clear the email's count after a successful sign-in (the address's count stays)."""
    redis.delete(_keys(email, address, limits)[0][0])


def minutes(seconds: int) -> int:
    """Return ``seconds`` as whole minutes, rounded up, for "try again in N minutes"."""
    return max(1, math.ceil(seconds / 60))
