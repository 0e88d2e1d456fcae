"""Signing in and out, the create-account command and the demo users."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from tests.conftest import PASSWORD, Merchant, sign_in
from tests.helpers import csrf_token
from wizard.models import Account, Role, User


def post_sign_in(client: FlaskClient, email: str, password: str, query: str = ""):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/sign-in")
    return client.post("/sign-in" + query, data={"email": email, "password": password, "csrf_token": token})


def test_signing_in_opens_the_home_page(client: FlaskClient, merchant: Merchant) -> None:
    response = post_sign_in(client, "ADMIN@acme.example ", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert merchant.account.name in client.get("/").get_data(as_text=True)


def test_a_wrong_password_is_refused_with_a_clear_message(client: FlaskClient, merchant: Merchant) -> None:
    response = post_sign_in(client, "admin@acme.example", "not-the-password")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "That email and password do not match an account" in body
    assert 'value="admin@acme.example"' in body  # what was typed is kept
    assert client.get("/").status_code == 302


def test_a_malformed_email_is_explained(client: FlaskClient) -> None:
    response = post_sign_in(client, "not-an-email", "whatever")
    assert response.status_code == 400
    assert "Enter an email address like name@example.com." in response.get_data(as_text=True)


def test_signing_in_starts_a_fresh_session(client: FlaskClient, merchant: Merchant) -> None:
    with client.session_transaction() as session:
        session["oauth_states"] = ["left-over"]
        session["user_id"] = 999
    post_sign_in(client, "manager@acme.example", PASSWORD)
    with client.session_transaction() as session:
        assert session["user_id"] == merchant.user("manager").id
        assert "oauth_states" not in session


@pytest.mark.parametrize(("target", "landing"), [
    ("/settings/integrations/amazon/", "/settings/integrations/amazon/"),
    ("//evil.example/x", "/"),
    ("https://evil.example/x", "/"),
    ("/\\evil.example", "/"),
])
def test_sign_in_returns_only_to_pages_of_this_site(client: FlaskClient, merchant: Merchant, target: str,
                                                    landing: str) -> None:
    from urllib.parse import quote

    response = post_sign_in(client, "admin@acme.example", PASSWORD, query="?next=" + quote(target, safe=""))
    assert response.headers["Location"] == landing


def test_signing_out_ends_the_session(client: FlaskClient, merchant: Merchant) -> None:
    sign_in(client, merchant.user("staff"))
    token = csrf_token(client, "/")
    assert client.post("/sign-out", data={"csrf_token": token}).headers["Location"] == "/sign-in"
    assert client.get("/").headers["Location"].startswith("/sign-in")


def test_create_account_makes_an_admin_who_can_sign_in(app: Flask, client: FlaskClient, db: Session) -> None:
    runner = app.test_cli_runner()
    args = ["create-account", "--name", "Trail Co", "--admin-email", "Boss@Trail.example",
            "--admin-name", "Boss", "--admin-password", "long-enough-pw"]
    with app.app_context():
        result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "Created account 'Trail Co'" in result.output
    user = db.exec(select(User).where(User.email == "boss@trail.example")).one()
    assert user.role == Role.ADMIN and user.password_hash != "long-enough-pw"
    assert post_sign_in(client, "boss@trail.example", "long-enough-pw").status_code == 302
    with app.app_context():
        again = runner.invoke(args=args)
    assert again.exit_code != 0 and "already exists" in again.output
    assert len(db.exec(select(Account).where(Account.name == "Trail Co")).all()) == 1


def test_demo_data_prints_an_admin_a_manager_and_a_staff_sign_in(app: Flask, client: FlaskClient) -> None:
    from wizard import demo

    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    for role, email, _name in demo.DEMO_USERS:
        assert role.value in result.output and email in result.output
        fresh = app.test_client()
        assert post_sign_in(fresh, email, demo.DEMO_PASSWORD).status_code == 302, email
