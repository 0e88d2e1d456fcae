"""The worker imports every job module before it forks a job (issue 12 §4: thousands of merchants).

RQ runs each job in a fork of the worker process; a job module the worker has not imported is imported again
by every job, which the load test (``bench/bench_load.py``) found to be most of a small merchant's sync. The
PostgreSQL driver and the ORM's mapper configuration were the next such cost (``bench/profile_sync_job.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
JOB_MODULES = ["jobs.catalog_import", "jobs.health", "jobs.reconcile", "jobs.sync", "jobs.urgent"]

PROBE = """
import json, sys
import jobs.worker_config
from wizard import db
from wizard.models import Account
registry = Account.__mapper__.registry
print(json.dumps({"modules": sorted(m for m in sys.modules if m.startswith("jobs.")),
                  "driver": "psycopg" in sys.modules,
                  "configured": Account.__mapper__.configured and not registry._new_mappers,
                  "engines": len(db._engines)}))
"""


def test_the_worker_settings_module_imports_every_job_module_and_connects_to_nothing() -> None:
    env = {**os.environ, "APP_ENV": "development", "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/x",
           "REDIS_URL": "redis://127.0.0.1:1/0"}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, check=True, timeout=120)
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(JOB_MODULES) <= set(found["modules"])
    # The driver and the ORM's configuration are ready before the fork, not redone in every job's fork.
    assert found["driver"] is True
    assert found["configured"] is True
    # Forks share nothing that is connected: no database engine exists yet (Redis and the database are
    # unreachable here, so a connection at import time would have failed the import too).
    assert found["engines"] == 0
