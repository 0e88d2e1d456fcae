"""The PostgreSQL pool pings a connection only after it sat idle, and still replaces one the server closed."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from wizard.db import dispose_engine, engine_for, normalize_url


def _engine(url: str, idle: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Engine, list[int]]:
    """Return a new engine for ``url`` made with ``DATABASE_PING_AFTER_IDLE=idle``, and its ping count."""
    dispose_engine(url)
    monkeypatch.setenv("DATABASE_PING_AFTER_IDLE", idle)
    engine = engine_for(url)
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return engine, pings


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        pid = "SELECT pg_backend_pid()" if engine.dialect.name == "postgresql" else "SELECT 1"
        return int(connection.execute(text(pid)).scalar_one())


def test_a_connection_used_a_moment_ago_is_not_pinged(
        database_url: str, database_kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, pings = _engine(database_url, "3600", monkeypatch)
    first = _backend_pid(engine)  # a fresh connection: nothing to ping
    assert _backend_pid(engine) == first  # the same pooled connection, back a moment ago
    assert pings == []  # pool_pre_ping would have cost this page view a round trip
    dispose_engine(database_url)


def test_a_connection_the_server_closed_while_idle_is_replaced_without_an_error(
        database_url: str, database_kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, pings = _engine(database_url, "0", monkeypatch)
    first = _backend_pid(engine)
    if database_kind == "postgresql":
        # A restart or a failover closes the pooled connection while it sits idle.
        admin = make_url(normalize_url(database_url)).set(drivername="postgresql")
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as server:
            server.execute("SELECT pg_terminate_backend(%s, 10000)", (first,))  # waits until it is gone
        assert _backend_pid(engine) != first  # pinged, found closed, replaced: the page works
        assert pings
    else:
        assert _backend_pid(engine) == first  # SQLite: a file, nothing closes it, nothing to ping
        assert pings == []
    dispose_engine(database_url)
