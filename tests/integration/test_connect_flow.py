"""The connect flow through the Flask client, against the sandbox over real HTTP."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import inspect, text
from sqlmodel import Session, select
from werkzeug.test import TestResponse

from tests.conftest import Merchant, make_merchant, sign_in
from tests.fixtures.sandbox import SandboxControl
from tests.helpers import csrf_token
from tests.integration.connect_support import (
    GRANT_ACCESS,
    INDIVIDUAL_SELLER,
    NON_US_SELLER,
    OTHER_PRO_SELLER,
    PREFIX,
    PRO_SELLER,
    VERIFY,
    AmazonSide,
    acknowledge,
    authorize,
    connection_of,
    maybe_connection,
    path_of,
    query_of,
    start_grant,
)
from wizard import create_app
from wizard.models import Account, ConnectionStatus, OAuthState, User
from wizard.models.base import utcnow
from wizard.services import get_cipher


def verify(client: FlaskClient) -> TestResponse:
    token = csrf_token(client, VERIFY)
    return client.post(VERIFY, data={"csrf_token": token}, headers={"HX-Request": "true"})


# ---- step 1 ----------------------------------------------------------------------------------------------

def test_prerequisites_renders_a_full_page_and_an_htmx_fragment(
        client: FlaskClient, merchant: Merchant
) -> None:
    sign_in(client, merchant.user("admin"))
    page = client.get(PREFIX + "/prerequisites")
    fragment = client.get(PREFIX + "/prerequisites", headers={"HX-Request": "true"})
    assert page.status_code == fragment.status_code == 200
    assert "<html" in page.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    body = page.get_data(as_text=True)
    assert "You need a Professional selling plan (not Individual) to use the integration." in body
    assert ("If you sell on a different Amazon marketplace, contact Ecommerce support before beginning setup."
            in body)
    assert ("Check your browser&#39;s pop-up blocker. Allow pop-ups for the Ecommerce site and try again."
            in body)


def test_staff_see_why_they_cannot_continue_and_whom_to_ask(client: FlaskClient, merchant: Merchant) -> None:
    sign_in(client, merchant.user("staff"))
    body = client.get(PREFIX + "/prerequisites").get_data(as_text=True)
    assert "An admin or manager needs to finish this setup" in body
    assert merchant.user("admin").name in body and merchant.user("manager").name in body
    assert 'action="/settings/integrations/amazon/prerequisites"' not in body
    token = csrf_token(client, PREFIX + "/prerequisites")
    refused = client.post(PREFIX + "/prerequisites",
                          data={"csrf_token": token, "professional_plan": "y", "us_marketplace": "y"})
    assert refused.status_code == 403
    assert "Admin or manager access needed" in refused.get_data(as_text=True)


def test_acknowledging_needs_both_boxes_and_loses_nothing(
        client: FlaskClient, merchant: Merchant, db: Session
) -> None:
    sign_in(client, merchant.user("manager"))
    token = csrf_token(client, PREFIX + "/prerequisites")
    refused = client.post(PREFIX + "/prerequisites", data={"csrf_token": token, "professional_plan": "y"})
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "Confirm that you sell on Amazon US" in body
    assert re.search(r'<input [^>]*checked[^>]*name="professional_plan"', body)  # what was ticked stays
    assert not re.search(r'<input [^>]*checked[^>]*name="us_marketplace"', body)
    db.expire_all()
    assert db.get(Account, merchant.account.id).prerequisites_acknowledged_at is None
    accepted = client.post(PREFIX + "/prerequisites",
                           data={"csrf_token": token, "professional_plan": "y", "us_marketplace": "y"})
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith(GRANT_ACCESS)
    db.expire_all()
    assert db.get(Account, merchant.account.id).prerequisites_acknowledged_at is not None


def test_later_steps_redirect_back_to_the_current_step(
        client: FlaskClient, merchant: Merchant, db: Session
) -> None:
    sign_in(client, merchant.user("admin"))
    assert client.get(GRANT_ACCESS).headers["Location"].endswith(PREFIX + "/prerequisites")
    assert client.get(VERIFY).headers["Location"].endswith(PREFIX + "/prerequisites")
    assert client.get(PREFIX + "/").headers["Location"].endswith(PREFIX + "/prerequisites")
    acknowledge(db, merchant.account)
    assert client.get(VERIFY).headers["Location"].endswith(GRANT_ACCESS)
    assert client.get(PREFIX + "/").headers["Location"].endswith(GRANT_ACCESS)


# ---- step 2: Grant Access and the callback -------------------------------------------------------------

def test_grant_access_sends_the_browser_to_amazon_with_a_fresh_state(
        client: FlaskClient, admin: User, app: Flask, db: Session
) -> None:
    page = client.get(GRANT_ACCESS)
    assert page.status_code == 200 and "Grant Access" in page.get_data(as_text=True)
    consent = start_grant(client)
    params = query_of(consent)
    assert consent.startswith(app.config["AMAZON_SELLER_CENTRAL_URL"] + "/apps/authorize/consent?")
    assert params["application_id"] == app.config["AMAZON_APP_ID"]
    assert params["version"] == "beta"
    assert params["redirect_uri"] == "http://localhost/amazon/oauth/callback"
    assert len(params["state"]) >= 40
    row = db.exec(select(OAuthState)).one()
    assert row.state_hash != params["state"] and row.user_id == admin.id and row.used_at is None


def test_callback_stores_the_tokens_encrypted_and_moves_on(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session, app: Flask,
        redis_url: str
) -> None:
    response = authorize(client, amazon)
    assert response.status_code == 302 and response.headers["Location"].endswith(VERIFY)
    connection = connection_of(db, merchant.account)
    assert connection is not None
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.selling_partner_id == PRO_SELLER
    assert connection.authorized_by_user_id == admin.id and connection.authorized_at is not None
    with app.app_context():
        assert get_cipher().decrypt(connection.refresh_token_encrypted or "").startswith("Atzr|")
    verified = verify(client)
    assert "Your Amazon Seller ID is verified" in verified.get_data(as_text=True)
    # No refresh or access token in plain text anywhere: every column of every table, and Redis.
    dump = []
    tables = inspect(db.connection()).get_table_names()
    for table in tables:
        rows = db.connection().execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608 - names from the schema
        dump.extend(str(tuple(row)) for row in rows)
    assert dump and not any("Atzr|" in row or "Atza|" in row for row in dump)
    cache = Redis.from_url(redis_url)
    # Strings (the access-token cache) and hashes (the rate buckets the web shares with the workers).
    cached = [cache.get(key) or b"" if cache.type(key) == b"string" else b"".join(cache.hgetall(key).values())
              for key in cache.keys("*")]
    assert cached and not any(b"Atza|" in value or b"Atzr|" in value for value in cached)


def test_callback_in_a_pop_up_tells_the_opener_without_inline_script(
        client: FlaskClient, admin: User, amazon: AmazonSide
) -> None:
    response = authorize(client, amazon, mode="popup")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'data-oauth-result data-type="amazon-connected" data-next="{VERIFY}"' in body
    assert "<script>" not in body and "postMessage" not in body
    assert "js/connect.js" in body


def test_callback_rejects_a_reused_state(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session
) -> None:
    callback = amazon.consent(start_grant(client))
    assert client.get(path_of(callback)).status_code == 302
    replay = client.get(path_of(callback))
    assert replay.status_code == 400
    assert "This authorization was already used" in replay.get_data(as_text=True)


def test_callback_rejects_a_forged_state(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session
) -> None:
    callback = amazon.consent(start_grant(client))
    forged = path_of(callback).replace("state=", "state=forged", 1)
    response = client.get(forged)
    assert response.status_code == 400
    assert "This link did not come from Ecommerce" in response.get_data(as_text=True)
    assert maybe_connection(db, merchant.account) is None
    missing = client.get("/amazon/oauth/callback?spapi_oauth_code=x&selling_partner_id=" + PRO_SELLER)
    assert missing.status_code == 400 and "without the security code" in missing.get_data(as_text=True)


def test_callback_rejects_an_expired_state(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session
) -> None:
    callback = amazon.consent(start_grant(client))
    row = db.exec(select(OAuthState)).one()
    row.created_at = utcnow() - timedelta(minutes=11)
    db.add(row)
    db.commit()
    response = client.get(path_of(callback))
    assert response.status_code == 400
    assert "within 10 minutes" in response.get_data(as_text=True)
    assert maybe_connection(db, merchant.account) is None


def test_callback_rejects_another_users_state(
        app: Flask, client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session
) -> None:
    callback = amazon.consent(start_grant(client))
    other = app.test_client()
    sign_in(other, merchant.user("manager"))
    response = other.get(path_of(callback))
    assert response.status_code == 400
    assert "started somewhere else" in response.get_data(as_text=True)
    assert maybe_connection(db, merchant.account) is None
    # The rightful session can still finish: a refused attempt does not burn the state.
    assert client.get(path_of(callback)).status_code == 302


def test_callback_after_the_session_ended_asks_to_sign_in(
        app: Flask, client: FlaskClient, admin: User, amazon: AmazonSide
) -> None:
    callback = amazon.consent(start_grant(client))
    response = app.test_client().get(path_of(callback))
    assert response.status_code == 401
    assert "Sign in again to finish connecting" in response.get_data(as_text=True)


def test_cancel_on_amazon_shows_a_tip(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session
) -> None:
    response = authorize(client, amazon, decision="cancel")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "You cancelled on Amazon" in body and "Back to Grant Access" in body
    assert maybe_connection(db, merchant.account) is None


def test_an_expired_code_says_try_again(
        client: FlaskClient, admin: User, amazon: AmazonSide, sandbox: SandboxControl, merchant: Merchant, db:
        Session
) -> None:
    callback = amazon.consent(start_grant(client))
    sandbox.expire_codes()
    response = client.get(path_of(callback))
    assert response.status_code == 400
    assert "The authorization code expired — try again" in response.get_data(as_text=True)
    assert maybe_connection(db, merchant.account) is None


def test_invalid_client_is_an_operator_problem_never_the_merchants(
        app_config: dict[str, object], merchant: Merchant, db: Session, amazon: AmazonSide, caplog
) -> None:
    wrong = create_app({**app_config, "AMAZON_LWA_CLIENT_SECRET": "a-rotated-secret"})
    client = wrong.test_client()
    acknowledge(db, merchant.account)
    sign_in(client, merchant.user("admin"))
    with caplog.at_level(logging.ERROR):
        response = authorize(client, amazon)
    body = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "This is a problem on Ecommerce's side, not something you did" in body.replace("&#39;", "'")
    assert "contact Ecommerce support" in body
    assert any("OPERATOR" in record.getMessage() and "AMAZON_LWA_CLIENT_SECRET" in record.getMessage()
               for record in caplog.records)
    assert "a-rotated-secret" not in caplog.text
    assert maybe_connection(db, merchant.account) is None


def test_a_seller_connected_to_another_account_is_refused(
        client: FlaskClient, admin: User, amazon: AmazonSide, app: Flask, merchant: Merchant, db: Session
) -> None:
    other = make_merchant(db, name="Other Shop", domain="other.example")
    acknowledge(db, other.account)
    other_client = app.test_client()
    sign_in(other_client, other.user("admin"))
    assert authorize(other_client, AmazonSide()).status_code == 302
    response = authorize(client, amazon, seller=PRO_SELLER)
    assert response.status_code == 409
    assert "connected to another Ecommerce account" in response.get_data(as_text=True)
    assert maybe_connection(db, merchant.account) is None
    assert connection_of(db, other.account).selling_partner_id == PRO_SELLER


def test_a_different_seller_on_reauthorization_needs_confirmation(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session
) -> None:
    authorize(client, amazon, seller=PRO_SELLER)
    verify(client)
    first = connection_of(db, merchant.account)
    assert first is not None and first.verified_at is not None
    response = authorize(client, amazon, seller=OTHER_PRO_SELLER)
    assert response.headers["Location"].endswith(PREFIX + "/confirm-seller")
    held = connection_of(db, merchant.account)
    assert held.selling_partner_id == PRO_SELLER
    assert held.refresh_token_encrypted == first.refresh_token_encrypted
    assert held.pending_selling_partner_id == OTHER_PRO_SELLER
    page = client.get(PREFIX + "/confirm-seller").get_data(as_text=True)
    assert "Replace the connected Amazon account?" in page and OTHER_PRO_SELLER in page
    assert "Revoke access from within Amazon Seller Central (under Apps &amp; Services &gt;" in page
    token = csrf_token(client, PREFIX + "/confirm-seller")
    assert client.post(PREFIX + "/confirm-seller", data={"csrf_token": token}).status_code == 302
    swapped = connection_of(db, merchant.account)
    assert swapped.selling_partner_id == OTHER_PRO_SELLER and swapped.pending_selling_partner_id is None
    assert swapped.verified_at is None  # the new seller is checked again


def test_cancelling_a_different_seller_discards_its_token(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session
) -> None:
    authorize(client, amazon, seller=PRO_SELLER)
    before = connection_of(db, merchant.account)
    authorize(client, amazon, seller=OTHER_PRO_SELLER)
    token = csrf_token(client, PREFIX + "/confirm-seller")
    assert client.post(PREFIX + "/confirm-seller/cancel", data={"csrf_token": token}).status_code == 302
    after = connection_of(db, merchant.account)
    assert after.selling_partner_id == PRO_SELLER and after.pending_selling_partner_id is None
    assert after.pending_refresh_token_encrypted is None
    assert after.refresh_token_encrypted == before.refresh_token_encrypted


def _settings_row(db: Session, account: Account) -> tuple[object, ...]:
    from wizard.models.catalog import AmazonSettings

    row = AmazonSettings(account_id=account.id, inventory_buffer=6, inventory_ceiling=4, min_price_cents=1299,
                         disable_pricing=True, saved_at=utcnow())
    db.add(row)
    db.commit()
    return (row.inventory_buffer, row.inventory_ceiling, row.min_price_cents, row.disable_pricing,
            row.saved_at)


def _settings_now(db: Session, account: Account) -> tuple[object, ...]:
    from wizard.models.catalog import AmazonSettings

    db.expire_all()
    row = db.get(AmazonSettings, account.id)
    return (row.inventory_buffer, row.inventory_ceiling, row.min_price_cents, row.disable_pricing,
            row.saved_at)


def test_reauthorizing_the_same_seller_keeps_every_setting(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session, sandbox
) -> None:
    authorize(client, amazon)
    verify(client)
    settings = _settings_row(db, merchant.account)
    sandbox.revoke(PRO_SELLER)
    assert "Amazon no longer accepts" in verify(client).get_data(as_text=True)
    assert connection_of(db, merchant.account).status == ConnectionStatus.NEEDS_REAUTHORIZATION
    home = client.get("/").get_data(as_text=True)
    assert "Amazon needs you to re-authorize Ecommerce" in home
    assert ('Click &#34;Re-authorize&#34;, then &#34;Grant Access&#34; on the page it opens. Your '
            'settings will be preserved.') in home
    sandbox.restore(PRO_SELLER)
    token = csrf_token(client, PREFIX + "/")
    started = client.post(PREFIX + "/reauthorize", data={"csrf_token": token})
    assert started.headers["Location"].endswith(GRANT_ACCESS)
    assert authorize(client, amazon).headers["Location"].endswith(VERIFY)
    renewed = connection_of(db, merchant.account)
    assert renewed.status == ConnectionStatus.CONNECTED and renewed.verified_at is not None
    assert _settings_now(db, merchant.account) == settings


def test_disconnect_forgets_the_tokens_and_keeps_settings(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session, redis_url: str
) -> None:
    authorize(client, amazon)
    verify(client)
    settings = _settings_row(db, merchant.account)
    cache = Redis.from_url(redis_url)
    assert cache.keys("amazon:lwa:access:*")
    page = client.get(PREFIX + "/disconnect").get_data(as_text=True)
    assert "Apps &amp; Services &gt; Manage Your Apps" in page
    token = csrf_token(client, PREFIX + "/disconnect")
    response = client.post(PREFIX + "/disconnect", data={"csrf_token": token})
    assert response.headers["Location"].endswith(PREFIX + "/disconnected")
    gone = connection_of(db, merchant.account)
    assert gone.status == ConnectionStatus.NOT_CONNECTED
    assert gone.refresh_token_encrypted is None and gone.selling_partner_id is None
    assert gone.verified_at is None and gone.pending_refresh_token_encrypted is None
    assert not cache.keys("amazon:lwa:access:*")
    assert _settings_now(db, merchant.account) == settings
    assert "Manage Your Apps" in client.get(PREFIX + "/disconnected").get_data(as_text=True)


# ---- the status fragment the Grant Access page polls ----------------------------------------------------

def test_the_status_fragment_waits_then_redirects_once_connected(
        client: FlaskClient, admin: User, amazon: AmazonSide
) -> None:
    waiting = client.get(GRANT_ACCESS + "/status?since=", headers={"HX-Request": "true"})
    assert 'hx-trigger="load delay:2s"' in waiting.get_data(as_text=True)
    assert "HX-Redirect" not in waiting.headers
    authorize(client, amazon)
    done = client.get(GRANT_ACCESS + "/status?since=", headers={"HX-Request": "true"})
    assert done.headers["HX-Redirect"] == VERIFY
    assert "hx-trigger" not in done.get_data(as_text=True)
    assert client.get(GRANT_ACCESS + "/status").headers["Location"].endswith(GRANT_ACCESS)


# ---- step 3 -----------------------------------------------------------------------------------------------

def test_verify_page_renders_fast_and_checks_on_load(
        client: FlaskClient, admin: User, amazon: AmazonSide
) -> None:
    authorize(client, amazon)
    page = client.get(VERIFY)
    body = page.get_data(as_text=True)
    assert PRO_SELLER in body and 'hx-trigger="load"' in body and 'aria-live="polite"' in body
    fragment = client.get(VERIFY, headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True) and PRO_SELLER in fragment.get_data(as_text=True)


def test_verify_confirms_a_professional_us_seller(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session
) -> None:
    authorize(client, amazon)
    body = verify(client).get_data(as_text=True)
    assert "Acme Outdoor Co" in body and "Professional" in body
    connection = connection_of(db, merchant.account)
    assert connection.store_name == "Acme Outdoor Co" and connection.verified_at is not None
    assert connection.us_participating is True and connection.selling_plan == "PROFESSIONAL"
    index = client.get(PREFIX + "/").get_data(as_text=True)
    assert "Acme Outdoor Co" in index
    assert "364 days left" in index or "365 days left" in index


def test_verify_explains_the_individual_plan(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session
) -> None:
    authorize(client, amazon, seller=INDIVIDUAL_SELLER)
    body = verify(client).get_data(as_text=True)
    assert "Your Amazon account is on the Individual selling plan" in body
    assert "upgrade to the Professional plan" in body and "Check again" in body
    connection = connection_of(db, merchant.account)
    assert connection.selling_plan == "INDIVIDUAL" and connection.verified_at is None
    assert client.get(PREFIX + "/").headers["Location"].endswith(VERIFY)


def test_verify_sends_non_us_sellers_to_support(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session
) -> None:
    authorize(client, amazon, seller=NON_US_SELLER)
    body = verify(client).get_data(as_text=True)
    assert "This seller account does not sell on Amazon US" in body
    assert "contact Ecommerce support before beginning setup" in body
    connection = connection_of(db, merchant.account)
    assert connection.us_participating is False and connection.verified_at is None


def test_verify_without_htmx_redirects_to_the_page_with_the_stored_result(
        client: FlaskClient, admin: User, amazon: AmazonSide
) -> None:
    authorize(client, amazon, seller=INDIVIDUAL_SELLER)
    token = csrf_token(client, VERIFY)
    response = client.post(VERIFY, data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(VERIFY)
    assert "Individual selling plan" in client.get(VERIFY).get_data(as_text=True)


# ---- the integration page --------------------------------------------------------------------------------

def test_integration_page_warns_thirty_days_before_reauthorization(
        client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant, db: Session
) -> None:
    authorize(client, amazon)
    verify(client)
    connection = connection_of(db, merchant.account)
    connection.authorized_at = utcnow() - timedelta(days=340)
    db.add(connection)
    db.commit()
    body = client.get(PREFIX + "/").get_data(as_text=True)
    assert "24 days left" in body and "Re-authorize soon" in body
    assert "Re-authorize Amazon within 24 days" in body  # the banner, on every page
    assert "Re-authorize Amazon within" in client.get("/").get_data(as_text=True)


def test_staff_view_the_status_but_cannot_change_it(
        app: Flask, client: FlaskClient, admin: User, amazon: AmazonSide, merchant: Merchant
) -> None:
    authorize(client, amazon)
    verify(client)
    staff = app.test_client()
    sign_in(staff, merchant.user("staff"))
    body = staff.get(PREFIX + "/").get_data(as_text=True)
    assert PRO_SELLER in body and "Connected" in body
    assert "Disconnect" not in body and merchant.user("admin").name in body
    token = csrf_token(staff, PREFIX + "/")
    for path in ("/disconnect", "/reauthorize", "/grant-access", "/verify", "/confirm-seller"):
        assert staff.post(PREFIX + path, data={"csrf_token": token}).status_code == 403, path


# ---- Amazon's Login URI ---------------------------------------------------------------------------------

def test_login_uri_flow_connects_the_seller_amazon_named(
        client: FlaskClient, admin: User, amazon: AmazonSide, sandbox, merchant: Merchant, db: Session, app:
        Flask
) -> None:
    login = amazon.manage_your_apps(sandbox.url, OTHER_PRO_SELLER)
    page = client.get(path_of(login))
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Authorize Ecommerce for seller" in body and OTHER_PRO_SELLER in body
    token = csrf_token(client, path_of(login))
    from tests.integration.connect_support import hidden_fields

    fields = hidden_fields(body)
    fields["csrf_token"] = token
    onward = client.post("/amazon/login", data=fields)
    assert onward.status_code == 302
    target = onward.headers["Location"]
    params = query_of(target)
    assert target.startswith(sandbox.url + "/apps/authorize/confirm/")
    assert params["amazon_state"] == query_of(login)["amazon_state"]
    assert params["redirect_uri"] == "http://localhost/amazon/oauth/callback" and params["version"] == "beta"
    callback = amazon.follow(target)
    finished = client.get(path_of(callback))
    assert finished.status_code == 302 and finished.headers["Location"].endswith(VERIFY)
    assert connection_of(db, merchant.account).selling_partner_id == OTHER_PRO_SELLER


def test_login_uri_asks_anonymous_users_to_sign_in_and_refuses_staff(app: Flask, merchant: Merchant) -> None:
    path = "/amazon/login?amazon_callback_uri=https%3A%2F%2Fx&amazon_state=s&selling_partner_id=" + PRO_SELLER
    anonymous = app.test_client().get(path)
    assert anonymous.status_code == 302 and "/sign-in?next=" in anonymous.headers["Location"]
    assert "amazon_state" in anonymous.headers["Location"]
    staff = app.test_client()
    sign_in(staff, merchant.user("staff"))
    assert staff.get(path).status_code == 403


@pytest.mark.parametrize("callback_uri", [
    "https://evil.example/apps/authorize/confirm/x",
    "{seller_central}.evil.example/apps/authorize/confirm/x",
    "//evil.example/x",
    "javascript:alert(1)",
])
def test_login_uri_refuses_to_redirect_outside_seller_central(
        client: FlaskClient, admin: User, app: Flask, callback_uri: str, db: Session
) -> None:
    callback_uri = callback_uri.format(seller_central=app.config["AMAZON_SELLER_CENTRAL_URL"])
    from urllib.parse import urlencode

    query = urlencode({"amazon_callback_uri": callback_uri, "amazon_state": "s",
                       "selling_partner_id": PRO_SELLER})
    page = client.get("/amazon/login?" + query)
    assert page.status_code == 400
    assert "not an Amazon Seller Central address" in page.get_data(as_text=True)
    token = csrf_token(client, "/")
    posted = client.post("/amazon/login", data={"csrf_token": token, "amazon_callback_uri": callback_uri,
                                                "amazon_state": "s", "selling_partner_id": PRO_SELLER})
    assert posted.status_code == 400 and "Location" not in posted.headers
    assert db.exec(select(OAuthState)).first() is None
