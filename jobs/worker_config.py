"""``rq worker`` settings module: ``rq worker -c jobs.worker_config …`` (the Procfile's worker).

RQ imports it before the worker sets up its own log handler, so with ``LOG_FORMAT=json`` every line the
worker and its jobs write, RQ's included, is one JSON object.

It also prepares, once in the worker process, what every job would otherwise redo in its fork. RQ runs each
job in a fresh fork of the worker: what the worker has not done, each fork does again and throws away.

- Every job module is imported (``jobs.sync`` and what it pulls in take over a second of CPU).
- The PostgreSQL driver is imported: SQLAlchemy imports it only when an engine is created, which happens in
  the fork, so every job imported psycopg again (0.2 s of CPU, a third of a small merchant's no-change sync).
- The ORM's mappers are configured (SQLAlchemy does it on the first query otherwise: in every fork).

Nothing here connects (nothing in the app connects at import time, and no engine is created), so every
fork starts clean.
"""

from __future__ import annotations

import jobs.catalog_import
import jobs.health
import jobs.reconcile
import jobs.sync
import jobs.urgent  # noqa: F401 - imported for the forks, see above
from wizard.config import from_environment
from wizard.db import preload_driver
from wizard.logs import configure_logging

config = from_environment()
configure_logging(config["LOG_FORMAT"])
preload_driver(config["DATABASE_URL"])
