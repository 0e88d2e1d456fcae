"""Helpers shared by the table modules."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time in UTC, without tzinfo (SQLite stores naive datetimes)."""
    return datetime.now(UTC).replace(tzinfo=None)
