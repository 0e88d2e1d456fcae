"""Attack family: a stolen or left-behind session cookie (issue 8, item 2).

A copied cookie must stop working when its owner signs out or changes the password, and every session ends
after ``SESSION_LIFETIME_HOURS`` (12 by default) whatever the cookie says.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import PASSWORD, Merchant, sign_in
from tests.helpers import csrf_token
from wizard import create_app

HOME = "/"


def is_signed_in(client: FlaskClient) -> bool:
    """Return whether the home page opens (a signed-out visitor is sent to the sign-in page)."""
    response = client.get(HOME)
    assert response.status_code in (200, 302)
    return response.status_code == 200


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Return another browser holding a copy of ``client``'s session cookie (what a thief would hold)."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(cookie.key, cookie.value)
    return thief


def sign_out(client: FlaskClient) -> None:
    response = client.post("/sign-out", data={"csrf_token": csrf_token(client, HOME)})
    assert response.status_code == 302


def test_a_copied_cookie_stops_working_when_its_owner_signs_out(app: Flask, client: FlaskClient,
                                                                merchant: Merchant) -> None:
    sign_in(client, merchant.user("admin"))
    thief = copy_of(app, client)
    assert is_signed_in(thief)  # the copy works while the owner is signed in
    sign_out(client)
    assert not is_signed_in(client)
    assert not is_signed_in(thief)
    assert thief.get("/settings/integrations/amazon/").headers["Location"].startswith("/sign-in")


def test_signing_out_ends_the_sessions_on_other_devices_too(app: Flask, client: FlaskClient,
                                                            merchant: Merchant) -> None:
    laptop, phone = client, app.test_client()
    sign_in(laptop, merchant.user("manager"))
    sign_in(phone, merchant.user("manager"))
    sign_out(phone)
    assert not is_signed_in(laptop)


def test_one_users_sign_out_leaves_other_users_signed_in(app: Flask, client: FlaskClient,
                                                         merchant: Merchant) -> None:
    colleague = app.test_client()
    sign_in(client, merchant.user("admin"))
    sign_in(colleague, merchant.user("staff"))
    sign_out(colleague)
    assert is_signed_in(client)


def test_changing_the_password_ends_every_session(app: Flask, client: FlaskClient, merchant: Merchant,
                                                 db: Session) -> None:
    user = merchant.user("staff")
    sign_in(client, user)
    thief = copy_of(app, client)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["set-password", "--email", user.email,
                                                    "--password", "a-brand-new-password"])
    assert result.exit_code == 0, result.output
    assert "signed out" in result.output
    assert not is_signed_in(client) and not is_signed_in(thief)
    fresh = app.test_client()
    token = csrf_token(fresh, "/sign-in")
    assert fresh.post("/sign-in", data={"email": user.email, "password": PASSWORD,
                                        "csrf_token": token}).status_code == 400
    token = csrf_token(fresh, "/sign-in")
    assert fresh.post("/sign-in", data={"email": user.email, "password": "a-brand-new-password",
                                        "csrf_token": token}).status_code == 302


def test_a_session_ends_after_its_lifetime_even_if_the_cookie_is_kept(client: FlaskClient,
                                                                      merchant: Merchant) -> None:
    sign_in(client, merchant.user("admin"))
    with client.session_transaction() as session:
        session["signed_in_at"] = int(time.time()) - 12 * 3600 - 60
    assert not is_signed_in(client)


def test_a_session_within_its_lifetime_stays_signed_in(client: FlaskClient, merchant: Merchant) -> None:
    sign_in(client, merchant.user("admin"))
    with client.session_transaction() as session:
        session["signed_in_at"] = int(time.time()) - 11 * 3600
    assert is_signed_in(client)


def test_the_session_cookie_lasts_twelve_hours_by_default(client: FlaskClient, merchant: Merchant) -> None:
    token = csrf_token(client, "/sign-in")
    response = client.post("/sign-in", data={"email": merchant.user("admin").email, "password": PASSWORD,
                                             "csrf_token": token})
    expires = parsedate_to_datetime(response.headers["Set-Cookie"].split("Expires=")[1].split(";")[0])
    left = expires - datetime.now(UTC)
    assert timedelta(hours=11) < left <= timedelta(hours=12)


def test_a_page_view_does_not_extend_the_cookie_past_the_sign_in(client: FlaskClient,
                                                                  merchant: Merchant) -> None:
    sign_in(client, merchant.user("admin"))
    client.get(HOME)  # the first page stores the CSRF token in the session
    response = client.get(HOME)
    assert response.status_code == 200
    # The lifetime runs from the sign-in: re-sending the cookie would only move its expiry forward.
    assert "Set-Cookie" not in response.headers


def test_the_session_lifetime_is_configurable(app_config: dict[str, object], merchant: Merchant) -> None:
    app = create_app({**app_config, "SESSION_LIFETIME_HOURS": 2})
    client = app.test_client()
    sign_in(client, merchant.user("admin"))
    with client.session_transaction() as session:
        session["signed_in_at"] = int(time.time()) - 3 * 3600
    assert not is_signed_in(client)


@pytest.mark.parametrize("forged", [
    {"user_id": "ADMIN"},  # an old-style cookie: the user id alone
    {"user_id": "ADMIN", "generation": 1, "signed_in_at": "NOW"},  # a generation from the future
    {"user_id": "ADMIN", "generation": 0},  # no sign-in time
    {"user_id": "ADMIN", "generation": 0, "signed_in_at": "later"},  # a sign-in time that is not a number
])
def test_a_session_without_a_current_sign_in_stamp_is_refused(client: FlaskClient, merchant: Merchant,
                                                              forged: dict[str, object]) -> None:
    values = {key: (merchant.user("admin").id if value == "ADMIN" else int(time.time()) if value == "NOW"
                    else value) for key, value in forged.items()}
    with client.session_transaction() as session:
        session.update(values)
    assert not is_signed_in(client)


def change_password_page(client: FlaskClient, current: str, new: str, again: str | None = None,
                         address: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/account/password")
    return client.post("/account/password", environ_base={"REMOTE_ADDR": address},
                       data={"current_password": current, "new_password": new,
                             "confirm_password": new if again is None else again, "csrf_token": token})


def test_changing_the_password_on_its_page_signs_out_every_other_session(app: Flask, client: FlaskClient,
                                                                         merchant: Merchant) -> None:
    user = merchant.user("staff")
    sign_in(client, user)
    thief, other_device = copy_of(app, client), app.test_client()
    sign_in(other_device, user)
    response = change_password_page(client, PASSWORD, "a-brand-new-password")
    assert response.status_code == 302
    assert "Every other device and browser is signed out" in client.get("/account/password").get_data(
        as_text=True)
    assert is_signed_in(client)  # this browser stays signed in
    assert not is_signed_in(thief) and not is_signed_in(other_device)


@pytest.mark.parametrize(("current", "new", "again", "message"), [
    ("not-the-password", "a-brand-new-password", None, "That is not your current password."),
    (PASSWORD, "short", None, "Use between 8 and 200 characters."),
    (PASSWORD, "a-brand-new-password", "a-different-one", "The two new passwords are different."),
])
def test_a_refused_password_change_says_why_and_changes_nothing(
        app: Flask, client: FlaskClient, merchant: Merchant, current: str, new: str, again: str | None,
        message: str) -> None:
    sign_in(client, merchant.user("manager"))
    other_device = app.test_client()
    sign_in(other_device, merchant.user("manager"))
    response = change_password_page(client, current, new, again)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert is_signed_in(client) and is_signed_in(other_device)
    fresh = app.test_client()
    sign_in(fresh, merchant.user("manager"))  # the old password still works


def test_a_stolen_cookie_cannot_guess_the_password_faster_than_the_sign_in_form(
        client: FlaskClient, merchant: Merchant) -> None:
    sign_in(client, merchant.user("admin"))
    answers = [change_password_page(client, f"guess-{n}", "a-brand-new-password").status_code
               for n in range(5)]
    assert answers == [400, 400, 400, 400, 429]
    paused = change_password_page(client, PASSWORD, "a-brand-new-password")
    assert paused.status_code == 429
    assert "Try again in 15 minutes" in paused.get_data(as_text=True)


def test_the_session_cookies_signing_serializer_is_built_once_per_key(app: Flask, client: FlaskClient,
                                                                       merchant: Merchant) -> None:
    # Flask builds one per request by default, at a tenth of a millisecond of every page.
    sign_in(client, merchant.user("admin"))
    interface = app.session_interface
    before = interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert is_signed_in(client)
    assert interface.get_signing_serializer(app) is before  # type: ignore[attr-defined]


def test_a_new_secret_key_refuses_cookies_signed_with_the_old_one_and_a_fallback_keeps_them(
        app: Flask, client: FlaskClient, merchant: Merchant) -> None:
    sign_in(client, merchant.user("admin"))
    assert is_signed_in(client)
    thief = copy_of(app, client)  # a cookie signed with the first key, never re-sent
    first_key = app.secret_key
    app.secret_key = "a rotated secret key of the same strength as the first one"
    assert not is_signed_in(thief)  # the serializer of the first key is not reused
    app.config["SECRET_KEY_FALLBACKS"] = [first_key]
    assert is_signed_in(thief)  # the first key as a fallback: accepted again
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert not is_signed_in(thief)
