"""Attack family: open redirects through ``next`` after sign-in (issue 8, item 8).

Browsers drop tabs and newlines inside URLs, so ``/%09/evil.example`` is ``//evil.example``: another site.
Every ``next`` that is not a plain path of this site lands on the home page instead, and never a 500.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, Merchant
from tests.helpers import csrf_token

REFUSED = [
    "//evil.example/x",
    "https://evil.example/x",
    "/\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\r/evil.example",
    "/ /evil.example",
    "/\x0b/evil.example",
    "/\x0c/evil.example",
    "/\x00/evil.example",
    "/\x1f/evil.example",
    "/\x7f/evil.example",
    "/\u00a0/evil.example",
    "/\u2028/evil.example",
    "/\u3000/evil.example",
    "/settings\r\nSet-Cookie: session=stolen",
    "\t//evil.example",
    "javascript:alert(1)",
]


def sign_in_with_next(client: FlaskClient, target: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/sign-in?next=" + quote(target, safe=""))
    return client.post("/sign-in?next=" + quote(target, safe=""),
                       data={"email": "admin@acme.example", "password": PASSWORD, "csrf_token": token})


@pytest.mark.parametrize("target", REFUSED)
def test_sign_in_refuses_a_next_that_leaves_the_site_or_hides_characters(
        client: FlaskClient, merchant: Merchant, target: str) -> None:
    response = sign_in_with_next(client, target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/settings/integrations/amazon/", "/catalog?q=red%20tent&page=2",
                                    "/settings/amazon#rules"])
def test_sign_in_still_returns_to_a_page_of_this_site(client: FlaskClient, merchant: Merchant,
                                                      target: str) -> None:
    assert sign_in_with_next(client, target).headers["Location"] == target
