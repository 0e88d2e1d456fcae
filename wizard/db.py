"""Database engine and sessions, for the web app and for the jobs alike."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import cast

from flask import Flask, current_app, g
from sqlalchemy import Table, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, SQLModel, create_engine


@cache
def engine_for(url: str) -> Engine:
    """Return the process-wide engine for ``url``, creating it on first use."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets the web app read while a worker writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def table_of(model: type[SQLModel]) -> Table:
    """Return the Core table of a table model, for queries and updates that skip the ORM."""
    # SQLModel does not declare ``__table__``; a ``table=True`` model maps exactly one Table.
    return cast(Table, inspect(model).local_table)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """Open a session outside a request (jobs, CLI); the caller commits."""
    with Session(engine_for(url), expire_on_commit=False) as session:
        yield session


def get_session() -> Session:
    """Return the session of the current request, opened on first use."""
    if "db_session" not in g:
        g.db_session = Session(engine_for(current_app.config["DATABASE_URL"]), expire_on_commit=False)
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    """Close the request's session when the app context ends."""
    app.teardown_appcontext(_close_session)
