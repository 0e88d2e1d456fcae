"""``rq cron`` configuration for ``bench/bench_load.py``: the sync's interval job only.

The Procfile's ``jobs/cron_config.py`` also registers the reconcile and the connection health check, and
``rq cron`` enqueues every interval job once when it starts: 2,000 full reads of Amazon's listings and 2,000
health probes at once would measure those, not the sync. The load test turns the reconcile off
(``RECONCILE_BEFORE_SYNC=0``) and measures the sync's cycle alone.
"""

from __future__ import annotations

from jobs.queue import register_cron
from wizard.config import from_environment

register_cron(int(from_environment()["SYNC_INTERVAL"]))
