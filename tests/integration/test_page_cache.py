"""The page cache (``wizard.pagecache``): a repeated view of an unchanged page skips the view, and never
shows a stale figure, another account's page or another session's CSRF token.

Each test first opens the page (so that it is cached), changes one thing the page shows the way the product
changes it, and checks the next view shows the change. Each fails when that input is left out of the key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, event, update
from sqlmodel import Session, col, select

from tests.conftest import Merchant, make_merchant, sign_in
from tests.fixtures.worker import add_products, connect, save_settings
from tests.helpers import csrf_token
from tests.integration.test_amazon_settings import DEFAULTS, text_of
from wizard.catalog import api_tokens
from wizard.db import engine_for
from wizard.models import Account, Connection, ConnectionStatus, Product, Role, User, listing_stats
from wizard.models.base import utcnow
from wizard.models.guard import RunHold
from wizard.models.listing_stats import AMAZON_FIGURES, store_amazon_counts
from wizard.models.reconcile import DriftKind, ListingDrift
from wizard.models.sync import ListingState, ListingStatus, RunStatus, SyncRun

HOME, SETTINGS = "/", "/settings/amazon/"
_TOKENS = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def page(client: FlaskClient, path: str, **headers: str) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.status_code
    return text_of(response.get_data(as_text=True))


def tokens_of(html: str) -> set[str]:
    return {a or b for a, b in _TOKENS.findall(html)}


def change(db: Session, model: type[Any], key: int | None, **values: Any) -> None:
    """Change one row's columns and commit, as another request or process would."""
    row = db.get(model, key)
    assert row is not None
    for name, value in values.items():
        setattr(row, name, value)
    db.add(row)
    db.commit()


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Collect the SQL statements the app runs inside the block."""
    engine = engine_for(app.config["DATABASE_URL"])
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def ready(db: Session, merchant: Merchant) -> Merchant:
    """A merchant with Amazon connected, settings saved and a few products (the pages' full state)."""
    connect(db, merchant.account.id, "Atzr|refresh-token")
    save_settings(db, merchant.account.id, inventory_buffer=2)
    add_products(db, merchant.account.id, 10, available=lambda i: 10, price_cents=lambda i: 1000)
    return merchant


@pytest.mark.parametrize("path", [HOME, SETTINGS])
def test_a_repeated_view_of_an_unchanged_page_runs_only_the_sign_in_query(
        app: Flask, client: FlaskClient, signed_in_as: Any, ready: Merchant, path: str) -> None:
    signed_in_as("admin")
    with statements(app) as first:
        before = client.get(path).get_data(as_text=True)
    with statements(app) as second:
        after = client.get(path).get_data(as_text=True)
    assert len(first) > 1 and len(second) == 1, (len(first), second)
    # The same page, with this session's token (signed afresh: it may carry a newer timestamp).
    assert _TOKENS.sub("", after) == _TOKENS.sub("", before)
    assert tokens_of(after) and tokens_of(before)


# --- Home: each input it shows ---------------------------------------------------------------------------

def test_home_shows_a_product_upserted_through_the_api(client: FlaskClient, signed_in_as: Any,
                                                       ready: Merchant, db: Session, redis_url: str) -> None:
    _, token = api_tokens.create_token(db, account_id=ready.account.id, name="Platform",
                                       user_id=ready.user("admin").id)
    signed_in_as("admin")
    assert "Products 10 Ecommerce will send as in stock 10" in page(client, HOME)
    body = {"products": [{"sku": "SKU-0000003", "available": 0}, {"sku": "NEW-1", "available": 5,
                                                                    "price": "20.00"}]}
    response = client.post("/api/v1/products", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    assert "Products 11 Ecommerce will send as in stock 10" in page(client, HOME)


def test_home_and_settings_show_settings_saved_through_the_form(client: FlaskClient, signed_in_as: Any,
                                                                ready: Merchant, db: Session) -> None:
    signed_in_as("manager")
    assert "will send as in stock 10" in page(client, HOME)
    assert 'name="inventory_buffer" type="text" value="2"' in client.get(SETTINGS).get_data(as_text=True)
    form = {**DEFAULTS, "inventory_buffer": "20", "csrf_token": csrf_token(client, SETTINGS)}
    assert client.post(SETTINGS, data=form).status_code == 302
    assert "Settings saved." in page(client, SETTINGS)  # shows the flash (never from the cache)
    assert "will send as in stock 0" in page(client, HOME)
    html = client.get(SETTINGS).get_data(as_text=True)
    assert 'name="inventory_buffer" type="text" value="20"' in html and "Settings saved." not in html
    # Saved by another process (the wizard's last step), with no flash in this session.
    save_settings(db, ready.account.id, inventory_buffer=4)
    assert 'name="inventory_buffer" type="text" value="4"' in client.get(SETTINGS).get_data(as_text=True)


def test_home_shows_a_sync_run_finishing(client: FlaskClient, signed_in_as: Any, ready: Merchant,
                                         db: Session) -> None:
    run = SyncRun(account_id=ready.account.id, status=RunStatus.PROCESSING, started_at=utcnow())
    db.add(run)
    db.commit()
    signed_in_as("admin")
    assert "Amazon sync Processing" in page(client, HOME)
    run.status, run.sent_count, run.finished_at = RunStatus.DONE, 10, utcnow()
    db.add(run)
    db.commit()
    assert "Amazon sync Up to date" in page(client, HOME)


def test_home_shows_the_feed_results_the_sync_stored(client: FlaskClient, signed_in_as: Any, ready: Merchant,
                                                     db: Session) -> None:
    signed_in_as("admin")
    assert "Nothing sent to Amazon yet." in page(client, HOME)
    db.add_all(ListingState(account_id=ready.account.id, sku=f"SKU-{i:07d}", status=ListingStatus.ACCEPTED)
               for i in range(4))
    db.commit()
    with db.get_bind().begin() as connection:  # type: ignore[union-attr]
        listing_stats.rebuild(connection, ready.account.id)  # what the sync job stores after each step
    assert "4 SKUs accepted by Amazon" in page(client, HOME)


def test_home_shows_a_new_read_back_from_amazon(client: FlaskClient, signed_in_as: Any, ready: Merchant,
                                                db: Session) -> None:
    def store(in_stock: int) -> None:
        with db.get_bind().begin() as connection:  # type: ignore[union-attr]
            figures = dict.fromkeys(AMAZON_FIGURES, 0) | {"amazon_in_stock": in_stock}
            store_amazon_counts(connection, ready.account.id, figures, utcnow().replace(microsecond=0))

    store(3)
    signed_in_as("admin")
    assert "In stock on Amazon 3 " in page(client, HOME)
    store(7)
    assert "In stock on Amazon 7 " in page(client, HOME)


def test_home_shows_the_price_drift_note_come_and_go_with_its_day(client: FlaskClient, signed_in_as: Any,
                                                                  ready: Merchant, db: Session) -> None:
    drift = ListingDrift(account_id=ready.account.id, sku="SKU-0000001", kind=DriftKind.PRICE.value,
                         amazon_value=900, our_value=1000, detected_at=utcnow() - timedelta(hours=23))
    db.add(drift)
    db.commit()
    signed_in_as("admin")
    assert "changed outside Ecommerce (1 SKU in the last day)" in page(client, HOME)
    # As if an hour went by: the same row, now older than a day (no new row, no other change).
    db.execute(update(ListingDrift).where(ListingDrift.id == drift.id)  # type: ignore[arg-type]
               .values(detected_at=utcnow() - timedelta(hours=25)))
    db.commit()
    assert "in the last day" not in page(client, HOME)


def test_home_says_price_drift_keeps_happening_only_while_a_week_holds_two_other_days(
        client: FlaskClient, signed_in_as: Any, ready: Merchant, db: Session) -> None:
    now = utcnow()
    drifts = [ListingDrift(account_id=ready.account.id, sku="SKU-0000001", kind=DriftKind.PRICE.value,
                           amazon_value=900, our_value=1000, detected_at=now - timedelta(days=days, hours=1))
              for days in (0, 2, 6)]
    db.add_all(drifts)
    db.commit()
    signed_in_as("admin")
    assert "This keeps happening" in page(client, HOME)
    # As if a day went by for the oldest: out of the week, so only one other day is left.
    db.execute(update(ListingDrift).where(ListingDrift.id == drifts[2].id)  # type: ignore[arg-type]
               .values(detected_at=now - timedelta(days=7, hours=1)))
    db.commit()
    html = page(client, HOME)
    assert "(1 SKU in the last day)" in html and "This keeps happening" not in html


@pytest.mark.parametrize("path", [HOME, SETTINGS])
def test_both_pages_show_the_signed_in_users_new_name(client: FlaskClient, signed_in_as: Any,
                                                      ready: Merchant, db: Session, path: str) -> None:
    admin = signed_in_as("admin")
    assert "Admin User admin Password" in page(client, path)
    db.execute(update(User).where(User.id == admin.id).values(name="Ada Quinn"))  # type: ignore[arg-type]
    db.commit()
    assert "Ada Quinn admin Password" in page(client, path)


@pytest.mark.parametrize("path", [HOME, SETTINGS])
def test_both_pages_show_the_connection_lost_and_reauthorized(
        client: FlaskClient, signed_in_as: Any, ready: Merchant, db: Session, path: str) -> None:
    signed_in_as("admin")
    assert "Amazon needs you to re-authorize" not in page(client, path)
    db.execute(update(Connection).where(Connection.account_id == ready.account.id)  # type: ignore[arg-type]
               .values(status=ConnectionStatus.NEEDS_REAUTHORIZATION))
    db.commit()
    assert "Amazon needs you to re-authorize" in page(client, path)
    connect(db, ready.account.id, "Atzr|new-refresh-token")
    assert "Amazon needs you to re-authorize" not in page(client, path)


@pytest.mark.parametrize("path", [HOME, SETTINGS])
def test_both_pages_show_a_sync_held_for_approval(client: FlaskClient, signed_in_as: Any, ready: Merchant,
                                                  db: Session, path: str) -> None:
    run = SyncRun(account_id=ready.account.id, status=RunStatus.QUEUED)
    db.add(run)
    db.commit()
    signed_in_as("admin")
    assert "A sync is paused for your approval" not in page(client, path)
    db.add(RunHold(account_id=ready.account.id, run_id=run.id, zero_count=5, in_stock_count=10))
    db.commit()
    assert "A sync is paused for your approval It would set 5 of 10 listings" in page(client, path)


def test_home_follows_a_role_change_and_the_managers_it_names(client: FlaskClient, signed_in_as: Any,
                                                              merchant: Merchant, db: Session) -> None:
    staff = signed_in_as("staff")
    html = page(client, HOME)
    assert "An admin or manager finishes the setup" in html and "Manager User" in html
    change(db, User, merchant.user("manager").id, name="Morgan Lee")
    assert "Morgan Lee" in page(client, HOME)
    change(db, User, staff.id, role=Role.MANAGER)
    html = page(client, HOME)
    assert "An admin or manager finishes the setup" not in html and "Start setup" in html


def test_home_shows_the_account_renamed(client: FlaskClient, signed_in_as: Any, merchant: Merchant,
                                        db: Session) -> None:
    signed_in_as("admin")
    assert "Acme Outdoor Your Amazon integration" in page(client, HOME)
    change(db, Account, merchant.account.id, name="Acme Outdoor & Co")
    assert "Acme Outdoor & Co Your Amazon integration" in page(client, HOME)


# --- Settings: what it shows beyond the sign-in row ------------------------------------------------------

def test_settings_shows_a_changed_product_in_its_impact(client: FlaskClient, signed_in_as: Any,
                                                        ready: Merchant, db: Session) -> None:
    signed_in_as("admin")
    assert "Ecommerce sends 10 of 10 products as in stock" in page(client, SETTINGS)
    product = db.exec(select(Product).where(Product.account_id == ready.account.id)).first()
    assert product is not None
    product.available, product.updated_at = 1, utcnow()
    db.add(product)
    db.commit()
    assert "Ecommerce sends 9 of 10 products as in stock" in page(client, SETTINGS)


def test_settings_follows_a_role_change_and_the_names_in_its_history(client: FlaskClient, signed_in_as: Any,
                                                                     ready: Merchant, db: Session) -> None:
    manager = signed_in_as("manager")
    form = {**DEFAULTS, "inventory_buffer": "3", "csrf_token": csrf_token(client, SETTINGS)}
    assert client.post(SETTINGS, data=form).status_code == 302
    staff = ready.user("staff")
    sign_in(client, staff)
    html = page(client, SETTINGS)
    assert "Manager User" in html and "Save settings" not in html
    change(db, User, manager.id, name="Morgan Lee")
    assert "Morgan Lee" in page(client, SETTINGS)
    change(db, User, staff.id, role=Role.MANAGER)
    assert "Save settings" in page(client, SETTINGS)


# --- What is never shared or cached ----------------------------------------------------------------------

@pytest.mark.parametrize("path", [HOME, SETTINGS])
def test_two_accounts_and_two_users_never_see_each_others_page_or_token(
        app: Flask, db: Session, ready: Merchant, path: str) -> None:
    other = make_merchant(db, name="Birch Supplies", domain="birch.example")
    connect(db, other.account.id, "Atzr|other-refresh-token", seller_id="A2OTHERSELLER01")
    save_settings(db, other.account.id, inventory_buffer=7)
    clients: dict[str, FlaskClient] = {}
    for label, user in (("acme admin", ready.user("admin")), ("acme staff", ready.user("staff")),
                        ("birch admin", other.user("admin"))):
        clients[label] = app.test_client()
        sign_in(clients[label], user)
    seen: dict[str, str] = {}
    for _ in range(2):  # the second round is served from the cache
        for label, client in clients.items():
            seen[label] = client.get(path).get_data(as_text=True)
    if path == HOME:
        acme_shows, birch_shows = "<h1>Acme Outdoor</h1>", "<h1>Birch Supplies</h1>"
    else:
        acme_shows, birch_shows = (f'name="inventory_buffer" type="text" value="{n}"' for n in (2, 7))
    assert acme_shows in seen["acme admin"] and birch_shows not in seen["acme admin"]
    assert birch_shows in seen["birch admin"] and acme_shows not in seen["birch admin"]
    assert "Admin User <span class=\"badge badge-muted\">admin" in seen["acme admin"]
    assert "Staff User <span class=\"badge badge-muted\">staff" in seen["acme staff"]
    tokens = {label: tokens_of(html) for label, html in seen.items()}
    assert all(len(found) == 1 for found in tokens.values()), tokens
    assert len(set.union(*tokens.values())) == 3
    # Each token is its own session's: a form posted with it is accepted (and refused with another's).
    sign_out = "/sign-out"
    acme, birch = clients["acme admin"], clients["birch admin"]
    assert acme.post(sign_out, data={"csrf_token": next(iter(tokens["birch admin"]))}).status_code == 400
    assert acme.post(sign_out, data={"csrf_token": next(iter(tokens["acme admin"]))}).status_code == 302
    assert birch.post(sign_out, data={"csrf_token": next(iter(tokens["birch admin"]))}).status_code == 302


def test_a_flash_message_shows_once_over_a_cached_page(client: FlaskClient, signed_in_as: Any,
                                                       ready: Merchant) -> None:
    signed_in_as("manager")
    page(client, SETTINGS)
    page(client, SETTINGS)
    form = {**DEFAULTS, "inventory_buffer": "2", "csrf_token": csrf_token(client, SETTINGS)}
    assert client.post(SETTINGS, data=form).status_code == 302
    assert "Nothing changed: these are already your settings." in page(client, SETTINGS)
    assert "Nothing changed" not in page(client, SETTINGS)


@pytest.mark.parametrize("path", [HOME, SETTINGS])
def test_htmx_and_plain_views_each_get_their_own_answer(client: FlaskClient, signed_in_as: Any,
                                                        ready: Merchant, path: str) -> None:
    signed_in_as("admin")

    def ask(**headers: str) -> str:
        return client.get(path, headers=headers).get_data(as_text=True)

    for _ in range(2):
        full, fragment = ask(), ask(**{"HX-Request": "true"})
        boosted = ask(**{"HX-Request": "true", "HX-Boosted": "true"})
        assert "<!doctype html>" in full and "<!doctype html>" in boosted
        assert "<!doctype html>" not in fragment and "<body" not in fragment


def test_home_and_settings_show_a_product_deleted_by_the_platform(client: FlaskClient, signed_in_as: Any,
                                                                 ready: Merchant, db: Session) -> None:
    # No code of ours deletes products; the merchant's platform or an operator may (catalog_removals). A
    # delete changes no row's updated_at, so the newest change alone would not see it.
    signed_in_as("admin")
    assert "Products 10 Ecommerce will send as in stock 10" in page(client, HOME)
    settings_before = page(client, SETTINGS)
    db.exec(delete(Product).where(col(Product.account_id) == ready.account.id,  # type: ignore[call-overload]
                                  col(Product.sku) == "SKU-0000003"))
    db.commit()
    assert "Products 9 Ecommerce will send as in stock 9" in page(client, HOME)
    assert page(client, SETTINGS) != settings_before
