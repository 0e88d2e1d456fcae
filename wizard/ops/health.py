"""Is this process able to serve: the database and Redis answer, within a deadline."""

from __future__ import annotations

import threading
from collections.abc import Callable

from redis import Redis
from sqlalchemy import text

from wizard.db import engine_for

#: The whole check answers within this many seconds, whatever hangs.
DEADLINE = 0.8


def database_reachable(url: str) -> bool:
    """Run ``SELECT 1`` on the database."""
    with engine_for(url).connect() as connection:
        answer: object = connection.execute(text("SELECT 1")).scalar_one()
        return answer == 1


def redis_reachable(redis: Redis) -> bool:
    """Ping Redis."""
    return bool(redis.ping())


def healthy(checks: list[Callable[[], bool]], deadline: float = DEADLINE) -> bool:
    """Run the checks side by side; return whether all said yes before the deadline.

    Each check runs on a daemon thread so that a dead database (a connect time-out of seconds) or a Redis
    that does not answer cannot hold the load balancer's request: past the deadline the answer is no.
    """
    results: list[bool] = []
    lock = threading.Lock()

    def run(check: Callable[[], bool]) -> None:
        try:
            ok = check()
        except Exception:  # noqa: BLE001 - any failure means "not healthy"; the reason is not disclosed
            ok = False
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=run, args=(check,), daemon=True, name="healthz") for check in checks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=deadline)  # the threads run at once, so the total wait stays near the deadline
    with lock:
        return len(results) == len(checks) and all(results)
