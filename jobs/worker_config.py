"""``rq worker`` settings module: ``rq worker -c jobs.worker_config …`` (the Procfile's worker).

RQ imports it before the worker sets up its own log handler, so with ``LOG_FORMAT=json`` every line the
worker and its jobs write, RQ's included, is one JSON object.
"""

from __future__ import annotations

from wizard.config import from_environment
from wizard.logs import configure_logging

configure_logging(from_environment()["LOG_FORMAT"])
