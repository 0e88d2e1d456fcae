"""``rq worker`` settings module: ``rq worker -c jobs.worker_config …`` (the Procfile's worker).

RQ imports it before the worker sets up its own log handler, so with ``LOG_FORMAT=json`` every line the
worker and its jobs write, RQ's included, is one JSON object.

It also imports every job module, once, in the worker process. RQ runs each job in a fresh fork of the
worker: a module the worker has not imported is imported again by every job (``jobs.sync`` and what it
pulls in take over a second of CPU), which made that import most of a small merchant's sync. Importing
creates no connection (nothing in the app connects at import time), so every fork starts clean.
"""

from __future__ import annotations

import jobs.catalog_import
import jobs.health
import jobs.reconcile
import jobs.sync
import jobs.urgent  # noqa: F401 - imported for the forks, see above
from wizard.config import from_environment
from wizard.logs import configure_logging

configure_logging(from_environment()["LOG_FORMAT"])
