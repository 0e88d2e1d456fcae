"""Database engine and sessions, for the web app and for the jobs alike.

Two databases are supported: PostgreSQL in production (``postgresql+psycopg://…``, psycopg 3) and SQLite, the
embedded default for development. Queries are written in SQLAlchemy Core/ORM so that they run on both; what is
specific to one database (SQLite's pragmas, PostgreSQL's pool) stays in this module.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import Table, event, exc, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, SQLModel, create_engine

#: One engine (and so one connection pool) per database URL and process.
_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def normalize_url(url: str) -> str:
    """Return ``url`` with PostgreSQL spelled for psycopg 3, the driver we install.

    Hosting platforms hand out ``postgres://`` or ``postgresql://`` URLs; SQLAlchemy would read those as
    psycopg2, which is not installed.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def is_postgresql(url: str) -> bool:
    """Tell whether ``url`` names a PostgreSQL database."""
    return make_url(normalize_url(url)).get_backend_name() == "postgresql"


def engine_for(url: str) -> Engine:
    """Return the process-wide engine for ``url``, creating it on first use."""
    engine = _engines.get(url)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(url)
            if engine is None:
                engine = _engines[url] = _create_engine(url)
    return engine


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if is_postgresql(url):
        from wizard.config import from_environment

        config = from_environment(check=False)  # only the pool sizes; the process checks safety itself
        # A web process needs one connection per gunicorn thread, a worker one; the overflow covers bursts.
        # recycle keeps any connection from outliving a proxy's idle timeout.
        engine = create_engine(
            normalize_url(url),
            pool_size=config["DATABASE_POOL_SIZE"],
            max_overflow=config["DATABASE_MAX_OVERFLOW"],
            pool_timeout=30,
            pool_recycle=1800,
            connect_args={"connect_timeout": 10, "application_name": "ecommerce-amazon"},
        )
        idle = float(config["DATABASE_PING_AFTER_IDLE"])
        event.listen(engine, "checkin", _note_return)
        event.listen(engine, "checkout", partial(_ping_if_idle, engine, idle))
        return engine
    return create_engine(url, pool_pre_ping=True)


#: Where a pooled connection's record keeps when it last went back to the pool.
_RETURNED_AT = "returned_at"


def _note_return(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    record.info[_RETURNED_AT] = time.monotonic()


def _ping_if_idle(engine: Engine, idle: float, dbapi_connection: DBAPIConnection,
                  record: ConnectionPoolEntry, _proxy: Any) -> None:
    """Ping a pooled connection that sat idle ``idle`` seconds or more; one in use a moment ago is not.

    A ping drops a connection that PostgreSQL or a proxy closed while it sat idle (a restart, a failover), as
    ``pool_pre_ping`` would; but pinging every checkout costs every page a round trip. A fresh connection has
    no return time and needs no ping. A closed connection makes the pool discard every connection older than
    it and take a new one, as a failed pre-ping does.
    """
    returned = record.info.get(_RETURNED_AT)
    if returned is None or time.monotonic() - returned < idle:
        return
    if not engine.dialect._do_ping_w_event(dbapi_connection):  # noqa: SLF001 - the pre-ping's own ping
        raise exc.InvalidatePoolError()


def preload_driver(url: str) -> None:
    """Import the database driver for ``url`` and configure the ORM's mappers, without connecting.

    For a process that forks a child per job (``rq worker``, ``jobs/worker_config.py``): done once in the
    parent, every child starts with both instead of doing them again on its first query.
    """
    from sqlalchemy.orm import configure_mappers

    dialect = make_url(normalize_url(url)).get_dialect()
    dialect.import_dbapi()
    configure_mappers()


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets the web app read while a worker writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def dispose_engine(url: str) -> None:
    """Close every pooled connection to ``url`` and forget its engine (tests, before dropping a database)."""
    engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def _forget_inherited_connections() -> None:
    # RQ forks a work-horse per job: a connection inherited from the parent shares its socket, so the child
    # must open its own. close=False leaves the parent's connections alone.
    for engine in _engines.values():
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


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
    """Return the session of the current request, opened on first use.

    A view marked :func:`reads_only` gets a session that refuses to write, in autocommit mode on PostgreSQL.
    """
    if "db_session" not in g:
        url = current_app.config["DATABASE_URL"]
        view = current_app.view_functions.get(request.endpoint or "") if has_request_context() else None
        if getattr(view, READS_ONLY, False):
            g.db_session = _reading_session(url)
        else:
            g.db_session = Session(engine_for(url), expire_on_commit=False)
    session: Session = g.db_session
    return session


#: The attribute :func:`reads_only` sets on a view.
READS_ONLY = "_reads_only"

V = TypeVar("V", bound=Callable[..., Any])


def reads_only(view: V) -> V:
    """Declare that a view only reads the database: on PostgreSQL it runs without BEGIN and ROLLBACK.

    Under PostgreSQL's default READ COMMITTED every statement takes its own snapshot, inside a transaction or
    not, so a page that only reads sees the same rows either way; it saves two of a dashboard's eight or so
    round trips. A write in such a view is a bug: its session refuses to flush. Put it right under the
    route decorator (above the access decorator).
    """
    setattr(view, READS_ONLY, True)
    return view


class _ReadingSession(Session):
    """The session of a :func:`reads_only` view: it refuses to flush a change (listener below)."""


def _refuse_to_write(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("A view marked reads_only tried to write; remove the mark or the write.")


# Registered once on the class, not per request on each session: an instance listener costs every request
# a registration and its removal.
event.listen(_ReadingSession, "before_flush", _refuse_to_write)

#: The URLs that name PostgreSQL, by URL (asked once per URL, not per request).
_postgresql_urls: dict[str, bool] = {}


def _reading_session(url: str) -> Session:
    # On PostgreSQL, the session's connection is switched to autocommit as it leaves the pool (psycopg flips a
    # client-side flag, no round trip; SQLAlchemy flips it back when the connection returns). Set on the
    # connection, not with engine.execution_options(): an option engine carries an event listener, and with
    # any listener SQLAlchemy dispatches its engine events around every statement (~50 Python calls each).
    session = _ReadingSession(engine_for(url), expire_on_commit=False)
    postgresql = _postgresql_urls.get(url)
    if postgresql is None:
        postgresql = _postgresql_urls[url] = is_postgresql(url)
    if postgresql:
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask) -> None:
    """Close the request's session when the app context ends."""
    app.teardown_appcontext(_close_session)
