"""``rq cron`` configuration: ``rq cron jobs/cron_config.py --url $REDIS_URL``.

One interval job, every ``SYNC_INTERVAL`` seconds (default 900), enqueues a sync for every connected account.
``rq cron`` also enqueues it at once when it starts, so a fresh ``make run`` syncs within a minute.
"""

from __future__ import annotations

from jobs.queue import register_cron
from wizard.config import from_environment

register_cron(int(from_environment()["SYNC_INTERVAL"]))
