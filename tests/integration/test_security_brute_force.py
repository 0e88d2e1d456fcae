"""Attack family: guessing passwords and probing for accounts on the sign-in form (issue 8, item 3).

Five wrong passwords for one email, or twenty from one address, within 15 minutes pause sign-in with a 429
that says when to try again; an unknown email costs the same password check as a known one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis

import wizard.security
from tests.conftest import PASSWORD, Merchant
from tests.helpers import csrf_token
from wizard import create_app
from wizard.accounts.throttle import PREFIX

ATTACKER = "203.0.113.9"
MERCHANT_OFFICE = "198.51.100.7"


def attempt(client: FlaskClient, email: str, password: str, address: str = ATTACKER,
            headers: dict[str, str] | None = None) -> Any:
    """Post the sign-in form from ``address`` and return the response."""
    environ = {"REMOTE_ADDR": address}
    token = csrf_token(client, "/sign-in")
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token},
                       environ_base=environ, headers=headers or {})


def test_five_wrong_passwords_pause_sign_in_for_that_email(client: FlaskClient, merchant: Merchant) -> None:
    email = merchant.user("admin").email
    answers = [attempt(client, email, f"guess-{n}").status_code for n in range(5)]
    assert answers == [400, 400, 400, 400, 429]
    paused = attempt(client, email, PASSWORD)  # the right password no longer helps
    body = paused.get_data(as_text=True)
    assert paused.status_code == 429
    assert "signing in is paused after several wrong passwords. Try again in 15 minutes." in body
    assert 0 < int(paused.headers["Retry-After"]) <= 900
    assert f'value="{email}"' in body  # what was typed is kept
    assert client.get("/").status_code == 302


def test_the_pause_does_not_care_how_the_email_is_written(client: FlaskClient, merchant: Merchant) -> None:
    spellings = ["admin@acme.example", "ADMIN@acme.example", " Admin@Acme.Example", "admin@ACME.EXAMPLE",
                 "aDmIn@acme.example"]
    answers = [attempt(client, email, "wrong-guess").status_code for email in spellings]
    assert answers[-1] == 429
    assert attempt(client, "admin@acme.example", PASSWORD).status_code == 429


def test_one_address_trying_many_emails_is_paused(client: FlaskClient, merchant: Merchant) -> None:
    emails = [f"user{n}@acme.example" for n in range(5)]
    answers = [attempt(client, emails[n % 5], f"guess-{n}").status_code for n in range(20)]
    assert answers[:19] == [400] * 19 and answers[19] == 429
    assert attempt(client, merchant.user("manager").email, PASSWORD).status_code == 429
    # The merchant's own office, another address, still signs in.
    assert attempt(client, merchant.user("manager").email, PASSWORD, MERCHANT_OFFICE).status_code == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_address_limit(client: FlaskClient,
                                                                        merchant: Merchant) -> None:
    answers = [attempt(client, f"user{n % 5}@acme.example", "wrong",
                       headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code for n in range(21)]
    assert answers[-2:] == [429, 429]


def test_behind_a_trusted_proxy_each_client_address_counts_on_its_own(app_config: dict[str, object],
                                                                      merchant: Merchant) -> None:
    client = create_app({**app_config, "TRUSTED_PROXIES": 1}).test_client()
    for n in range(20):
        attempt(client, f"user{n % 5}@acme.example", "wrong", address="10.0.0.2",
                headers={"X-Forwarded-For": ATTACKER})
    paused = attempt(client, merchant.user("staff").email, PASSWORD, address="10.0.0.2",
                     headers={"X-Forwarded-For": ATTACKER})
    assert paused.status_code == 429
    allowed = attempt(client, merchant.user("staff").email, PASSWORD, address="10.0.0.2",
                      headers={"X-Forwarded-For": MERCHANT_OFFICE})
    assert allowed.status_code == 302


def test_unknown_emails_are_paused_like_known_ones(client: FlaskClient, merchant: Merchant) -> None:
    known = [attempt(client, merchant.user("staff").email, "wrong").status_code for _ in range(5)]
    unknown = [attempt(client, "nobody@acme.example", "wrong", MERCHANT_OFFICE).status_code
               for _ in range(5)]
    assert known == unknown == [400, 400, 400, 400, 429]


def test_a_successful_sign_in_resets_the_emails_count(client: FlaskClient, merchant: Merchant) -> None:
    email = merchant.user("admin").email
    for _ in range(4):
        attempt(client, email, "wrong")
    assert attempt(client, email, PASSWORD).status_code == 302
    fresh = [attempt(client, email, "wrong", MERCHANT_OFFICE).status_code for _ in range(4)]
    assert fresh == [400] * 4


def test_the_pause_lasts_one_window_and_names_no_email(client: FlaskClient, merchant: Merchant,
                                                      redis_url: str) -> None:
    for _ in range(5):
        attempt(client, merchant.user("admin").email, "wrong")
    redis = Redis.from_url(redis_url)
    keys = [key.decode() for key in redis.scan_iter(PREFIX + "*")]
    assert len(keys) == 2 and all(0 < int(redis.ttl(key)) <= 900 for key in keys)
    assert not any("acme" in key for key in keys)  # the email is stored only as a hash
    for key in keys:
        redis.delete(key)  # what the window's end does
    assert attempt(client, merchant.user("admin").email, PASSWORD).status_code == 302


def _spy(calls: list[str]) -> Callable[[str, str], bool]:
    real = wizard.security.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        calls.append(pwhash.split("$", 1)[0])  # the method and its cost, e.g. scrypt:32768:8:1
        return real(pwhash, password)

    return counting


@pytest.mark.parametrize("email", ["nobody@acme.example", "NOBODY@elsewhere.example"])
def test_an_unknown_email_costs_the_same_password_check_as_a_known_one(
        app: Flask, client: FlaskClient, merchant: Merchant, monkeypatch: pytest.MonkeyPatch, email: str
) -> None:
    calls: list[str] = []
    # A spy on werkzeug's hash check (it still runs): which hashes each path checks, not how long it takes.
    monkeypatch.setattr(wizard.security, "check_password_hash", _spy(calls))
    attempt(client, merchant.user("admin").email, "wrong")
    attempt(client, email, "wrong", MERCHANT_OFFICE)
    stored_method = merchant.user("admin").password_hash.split("$", 1)[0]
    assert calls == [stored_method, stored_method]
