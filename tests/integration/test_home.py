"""The home page: a setup card until the checklist is complete; connection, sync and catalog at a glance."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import Merchant
from tests.fixtures.worker import add_products, connect, save_settings

SETUP = "Finish setting up Amazon"


def home(client: FlaskClient, **headers: str) -> str:
    response = client.get("/", headers=headers)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script>" not in html and "style=" not in html
    return html


def figure(html: str, label: str) -> str:
    found = re.search(rf"<dt>{re.escape(label)}</dt><dd>([^<]*)</dd>", html)
    assert found, f"no {label!r} figure on the page"
    return found.group(1)


def primary_buttons(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<a class="btn btn-primary[^"]*" href="([^"]+)">([^<]+)</a>', html)


def test_a_fresh_account_shows_the_setup_card_pointing_at_prerequisites(client: FlaskClient,
                                                                         signed_in_as: Any) -> None:
    signed_in_as("admin")
    html = home(client)
    assert SETUP in html and "0 of 4 steps done" in html
    assert "Next: Step 1, Prerequisites." in html
    assert primary_buttons(html) == [("/settings/integrations/amazon/prerequisites", "Start setup")]
    # the stepper marks Prerequisites as the step at hand; later steps are not linked yet
    assert re.search(r'aria-current="step"><span class="step-label">Prerequisites</span>', html)
    assert 'href="/settings/integrations/amazon/grant-access"' not in html
    assert "No products yet." in html


def test_a_connected_account_without_saved_settings_points_at_the_last_step(
        client: FlaskClient, signed_in_as: Any, merchant: Merchant, db: Session) -> None:
    connect(db, merchant.account.id, "Atzr|refresh-token")
    signed_in_as("manager")
    html = home(client)
    assert "3 of 4 steps done" in html and "Next: Step 4, Inventory &amp; pricing." in html
    assert primary_buttons(html) == [("/settings/amazon/", "Continue: Inventory &amp; pricing")]
    # done steps are ticked and lead back to their pages
    verify = '<a href="/settings/integrations/amazon/verify"><span class="step-label">Verify Seller ID</span>'
    assert verify + '<span class="visually-hidden"> (done)</span>' in html


def test_a_fully_set_up_account_shows_no_setup_card_and_the_catalog_counts(
        client: FlaskClient, signed_in_as: Any, merchant: Merchant, db: Session) -> None:
    account_id = merchant.account.id
    connect(db, account_id, "Atzr|refresh-token")
    save_settings(db, account_id, inventory_buffer=5, min_price_cents=500)
    # 40 products at $10 with 0..9 units: the buffer of 5 leaves 5, 6, 7, 8, 9 units in stock (20 products)
    add_products(db, account_id, 40, available=lambda i: i % 10, price_cents=lambda i: 1000)
    # 10 well-stocked products under the $5.00 threshold stay off Amazon
    add_products(db, account_id, 10, start=40, available=lambda i: 50, price_cents=lambda i: 100)
    signed_in_as("admin")
    html = home(client)
    assert SETUP not in html and "steps done" not in html
    assert figure(html, "Products") == "50"
    assert figure(html, "Ecommerce will send as in stock") == "20"
    assert "Under your saved inventory and pricing settings." in html
    assert 'href="/catalog/?outcome=in_stock"' in html
    assert "Seller ID <code>A1PROSELLERUS01</code>" in html
    # Nothing was synced: no figure is labelled as Amazon's (issue 9 §2).
    assert "Nothing sent to Amazon yet." in html and "accepted by Amazon" not in html


def test_the_catalog_card_says_when_counts_use_unsaved_default_settings(
        client: FlaskClient, signed_in_as: Any, merchant: Merchant, db: Session) -> None:
    add_products(db, merchant.account.id, 1234, available=lambda i: i % 2)
    signed_in_as("admin")
    html = home(client)
    assert figure(html, "Products") == "1,234" and figure(html, "Ecommerce will send as in stock") == "617"
    assert "Under the default settings: nothing is sent until you save your own." in html


def test_staff_see_the_setup_progress_without_manage_buttons_and_whom_to_ask(
        client: FlaskClient, signed_in_as: Any) -> None:
    signed_in_as("staff")
    html = home(client)
    assert SETUP in html and "Next: Step 1, Prerequisites." in html
    assert primary_buttons(html) == [] and "Start setup" not in html and "Connect Amazon" not in html
    assert "An admin or manager finishes the setup" in html
    assert 'href="mailto:admin@acme.example"' in html and 'href="mailto:manager@acme.example"' in html
    assert 'href="mailto:staff@acme.example"' not in html


def test_an_htmx_request_gets_the_dashboard_fragment(client: FlaskClient, signed_in_as: Any) -> None:
    signed_in_as("admin")
    response = client.get("/", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert SETUP in html and "<html" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_while_updates_are_paused_home_says_amazon_keeps_what_it_accepted(
        client: FlaskClient, signed_in_as: Any, merchant: Merchant, db: Session) -> None:
    from wizard.models import ConnectionStatus

    connection = connect(db, merchant.account.id, "Atzr|refresh-token")
    save_settings(db, merchant.account.id)
    connection.status = ConnectionStatus.NEEDS_REAUTHORIZATION
    db.add(connection)
    db.commit()
    signed_in_as("admin")

    html = home(client)

    assert "Paused" in html
    assert "Amazon keeps the last quantities and prices it accepted from Ecommerce" in html


def test_the_layouts_facts_come_with_the_sign_in_check_in_one_query(
        app: Any, client: FlaskClient, signed_in_as: Any, merchant: Merchant, db: Session) -> None:
    """User, account, connection, settings and a paused sync: one query, not one round trip each."""
    from sqlalchemy import event

    from wizard.db import engine_for

    connect(db, merchant.account.id, "Atzr|refresh-token")
    save_settings(db, merchant.account.id)
    signed_in_as("admin")
    engine = engine_for(app.config["DATABASE_URL"])
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    for path in ("/", "/sync/", "/settings/amazon/"):
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        sign_in_check = statements[0]
        joined = ("account", "connection", "amazon_settings")
        assert all(f"JOIN {table} " in sign_in_check for table in joined)
        assert "FROM run_hold" in sign_in_check
        later = statements[1:]
        for table in ("connection", "amazon_settings", "run_hold", '"user"', "user"):
            read_again = re.compile(r"^SELECT\b.*\bFROM " + re.escape(table) + r" WHERE")
            assert not [s for s in later if read_again.search(s)], (path, table, later)
