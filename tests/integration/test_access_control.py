"""Every route of the app, with every role: declared access, sign-in, 403 for staff, CSRF on every POST.

The routes are read from ``app.url_map`` when the test runs, so routes added by any blueprint are covered.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Merchant, sign_in
from tests.helpers import csrf_token
from wizard.security import MANAGE, PUBLIC, SIGNED_IN, TOKEN, access_level

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def routes(app: Flask) -> Iterator[tuple[str, str, str, str | None]]:
    """Yield (endpoint, method, path, access level) for every route but static files."""
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {arg: 1 if type(rule._converters[arg]).__name__ == "IntegerConverter" else "x"
                  for arg in rule.arguments}
        level = access_level(app.view_functions[rule.endpoint])
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, adapter.build(rule.endpoint, values, method=method), level


def call(client: FlaskClient, method: str, path: str, token: str | None = None):  # type: ignore[no-untyped-def]
    data = {"csrf_token": token} if token else {}
    return client.open(path, method=method, data=data)


def test_the_walk_covers_every_blueprint(app: Flask) -> None:
    endpoints = {endpoint for endpoint, *_ in routes(app)}
    assert {"connect.grant_access", "connect.oauth_callback", "connect.login_uri", "auth.sign_in",
            "home.index"} <= endpoints
    assert {endpoint.split(".")[0] for endpoint in endpoints} == set(app.blueprints)


def test_every_route_declares_who_may_use_it(app: Flask) -> None:
    undeclared = [f"{endpoint} {method}" for endpoint, method, _, level in routes(app)
                  if level not in (PUBLIC, SIGNED_IN, MANAGE, TOKEN)]
    assert undeclared == []


def test_anonymous_users_are_sent_to_sign_in_on_every_private_route(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client, "/sign-in")
    wrong = []
    for endpoint, method, path, level in routes(app):
        if level == PUBLIC:
            continue
        response = call(client, method, path, token if method in WRITE_METHODS else None)
        to_sign_in = response.status_code == 302 and "/sign-in" in response.headers["Location"]
        if not (to_sign_in or response.status_code == 401):
            wrong.append(f"{method} {path} ({endpoint}, {level}): {response.status_code}")
    assert wrong == []


def test_staff_get_403_on_every_manage_route(app: Flask, merchant: Merchant) -> None:
    client = app.test_client()
    sign_in(client, merchant.user("staff"))
    token = csrf_token(client, "/")
    wrong = []
    for endpoint, method, path, level in routes(app):
        if level != MANAGE:
            continue
        response = call(client, method, path, token if method in WRITE_METHODS else None)
        if response.status_code != 403:
            wrong.append(f"{method} {path} ({endpoint}): {response.status_code}")
        elif "Admin or manager access needed" not in response.get_data(as_text=True):
            wrong.append(f"{method} {path} ({endpoint}): 403 without the explanation")
    assert wrong == []


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_admins_and_managers_may_open_every_page(app: Flask, merchant: Merchant, role: str) -> None:
    client = app.test_client()
    sign_in(client, merchant.user(role))
    wrong = []
    for endpoint, method, path, level in routes(app):
        if method != "GET" or level == TOKEN:
            continue
        response = call(client, method, path)
        # Some pages are for admins only (API tokens); managers may change every integration setting.
        integration = endpoint.startswith(("connect.", "amazon_settings."))
        refused = (401, 403) if role == "admin" or integration else (401,)
        if response.status_code in refused or response.status_code >= 500:
            wrong.append(f"GET {path} ({endpoint}): {response.status_code}")
    assert wrong == []


@pytest.mark.parametrize("role", [None, "staff", "admin"])
def test_every_post_without_a_csrf_token_is_refused(app: Flask, merchant: Merchant, role: str | None) -> None:
    client = app.test_client()
    if role:
        sign_in(client, merchant.user(role))
    wrong = []
    for endpoint, method, path, level in routes(app):
        if method not in WRITE_METHODS:
            continue
        response = call(client, method, path)
        # API-token routes authenticate each request with a token instead of a session cookie.
        expected = (400, 401) if level == TOKEN else (400,)
        if response.status_code not in expected:
            wrong.append(f"{method} {path} ({endpoint}): {response.status_code}")
    assert wrong == []
