"""``rq cron`` configuration: ``rq cron jobs/cron_config.py --url $REDIS_URL``.

Interval jobs: every ``SYNC_INTERVAL`` seconds (default 900) a sync for every connected account, and every
``RECONCILE_INTERVAL`` seconds (default 900) a read of Amazon's listings (a full one when due, daily by
``RECONCILE_FULL_INTERVAL``, otherwise an incremental one). ``rq cron`` also enqueues both at once when it
starts, so a fresh ``make run`` reads Amazon and syncs within a minute. Every ``HEALTH_INTERVAL`` seconds
(default 3600) a connection health check per connected account (``jobs/health.py``).
"""

from __future__ import annotations

from jobs.queue import register_cron, register_health_cron, register_reconcile_cron
from wizard.config import from_environment

_config = from_environment()
register_cron(int(_config["SYNC_INTERVAL"]))
register_reconcile_cron(int(_config["RECONCILE_INTERVAL"]))
register_health_cron(int(_config["HEALTH_INTERVAL"]))
