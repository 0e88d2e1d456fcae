"""Logging set-up: plain text by default, one JSON object per line with ``LOG_FORMAT=json``.

Every job binds what it is working on with :func:`log_context` (``account_id`` and the RQ ``job_id``, see
``jobs/context.py``), the sync adds its ``run_id`` and ``feed_id``, a reconcile its ``sweep_id``; every record
logged meanwhile, by any module, carries those fields, so a log search for one account, run, feed or job
finds every line about it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

#: The fields a record may carry about the work it belongs to, in the order they are written.
CONTEXT_FIELDS = ("account_id", "run_id", "feed_id", "sweep_id", "job_id")
_context: ContextVar[dict[str, Any] | None] = ContextVar("log_context", default=None)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Attach ``fields`` (e.g. ``account_id=7``) to every record logged inside the block."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: Any) -> None:
    """Add ``fields`` to the current context until the enclosing :func:`log_context` block ends.

    Outside any block it does nothing: a field set for good would follow the thread (a web request's, or
    the next job's) into lines about something else.
    """
    current = _context.get()
    if current is not None:
        current.update(fields)


class ContextFilter(logging.Filter):
    """Copy the bound context onto each record (fields passed with ``extra=`` win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_context.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


_HANDLER_NAME = "ecommerce"


def configure_logging(log_format: str, *, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send this process's logs to ``stream`` (stderr) as JSON lines when ``log_format`` is ``json``.

    Idempotent: the web app and each job may call it; the handler is installed once per process. With any
    other format nothing changes (Flask, gunicorn and RQ keep their own text logs).
    """
    if log_format.strip().lower() != "json":
        return
    root = logging.getLogger()
    if any(handler.get_name() == _HANDLER_NAME for handler in root.handlers):
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    # One line per event: other handlers (RQ's own text lines) would print the same event twice.
    for other in list(root.handlers):
        root.removeHandler(other)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("rq.worker", "rq.job", "rq.queue", "rq.scheduler", "gunicorn.error", "gunicorn.access"):
        logger = logging.getLogger(name)
        for other in list(logger.handlers):
            logger.removeHandler(other)
        logger.propagate = True
