"""Views marked ``reads_only``: no transaction round trips on PostgreSQL, and a write in one fails loudly."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, jsonify
from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import Merchant
from tests.fixtures.worker import connect, save_settings
from wizard.db import engine_for, get_session, is_postgresql, reads_only
from wizard.models import Account
from wizard.security import public

MARKED = [("home.index", "/"), ("sync.index", "/sync/"), ("amazon_settings.index", "/settings/amazon/")]


def _add_probe(app: Flask, marked: bool, write: bool = False) -> None:
    def probe() -> Any:
        session = get_session()
        account = session.get(Account, 1)
        if write and account is not None:
            account.name = "Renamed by a page view"
            session.add(account)
            session.commit()
        if not is_postgresql(app.config["DATABASE_URL"]):
            return jsonify(autocommit=None)
        dbapi = session.connection().connection.dbapi_connection
        return jsonify(autocommit=bool(dbapi.autocommit))  # type: ignore[union-attr]

    view = public(probe)
    app.add_url_rule("/_probe", "probe", reads_only(view) if marked else view)


@pytest.mark.parametrize("marked", [True, False])
def test_a_reads_only_view_runs_without_a_transaction_on_postgresql(app: Flask, client: FlaskClient,
                                                                   merchant: Merchant, marked: bool) -> None:
    _add_probe(app, marked)
    answer = client.get("/_probe").get_json()
    if is_postgresql(app.config["DATABASE_URL"]):
        assert answer["autocommit"] is marked  # unmarked views keep their transaction
    else:
        assert answer["autocommit"] is None  # SQLite: the same session as every view


def test_a_write_in_a_reads_only_view_is_refused_and_nothing_is_saved(
        app: Flask, client: FlaskClient, merchant: Merchant, db: Session) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = True
    _add_probe(app, marked=True, write=True)
    with pytest.raises(RuntimeError, match="reads_only"):
        client.get("/_probe")
    db.expire_all()
    account = db.get(Account, merchant.account.id)
    assert account is not None and account.name != "Renamed by a page view"


@pytest.mark.parametrize(("endpoint", "path"), MARKED, ids=[m[0] for m in MARKED])
def test_the_dashboard_pages_are_marked_reads_only_and_open(
        app: Flask, client: FlaskClient, signed_in_as: Any, merchant: Merchant, db: Session, endpoint: str,
        path: str) -> None:
    connect(db, merchant.account.id, "Atzr|refresh-token")
    save_settings(db, merchant.account.id)
    signed_in_as("admin")
    assert client.get(path).status_code == 200  # a write would have raised
    assert getattr(app.view_functions[endpoint], "_reads_only", False)


def test_a_reads_only_view_uses_the_apps_engine_without_per_statement_events(
        app: Flask, client: FlaskClient, merchant: Merchant) -> None:
    # An engine made with execution_options() carries a listener, and SQLAlchemy then dispatches its engine
    # events around every statement: autocommit is set on the connection instead, on the app's own engine.
    seen: dict[str, Any] = {}

    def probe() -> Any:
        session = get_session()
        session.get(Account, 1)
        bind = session.get_bind()
        seen["same_engine"] = bind is engine_for(app.config["DATABASE_URL"])
        seen["events"] = bool(bind.dispatch.before_execute or bind.dispatch.before_cursor_execute)  # type: ignore[union-attr]
        return jsonify(ok=True)

    app.add_url_rule("/_engine_probe", "engine_probe", reads_only(public(probe)))
    assert client.get("/_engine_probe").status_code == 200
    assert seen == {"same_engine": True, "events": False}


def test_a_connection_a_reads_only_view_used_goes_back_to_transactions(
        app: Flask, client: FlaskClient, merchant: Merchant) -> None:
    _add_probe(app, marked=True)

    def unmarked() -> Any:
        session = get_session()
        session.get(Account, 1)
        if not is_postgresql(app.config["DATABASE_URL"]):
            return jsonify(autocommit=None)
        return jsonify(autocommit=bool(session.connection().connection.dbapi_connection.autocommit))  # type: ignore[union-attr]

    app.add_url_rule("/_unmarked", "unmarked", public(unmarked))
    client.get("/_probe")
    # The next view to take the pooled connection (one is pooled after a request), unmarked: a transaction.
    answer = client.get("/_unmarked").get_json()
    if is_postgresql(app.config["DATABASE_URL"]):
        assert answer["autocommit"] is False
    else:
        assert answer["autocommit"] is None
