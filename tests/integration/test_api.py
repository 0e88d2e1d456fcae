"""The JSON API and its tokens: authentication, bulk upsert with per-item errors, the admin token page."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from redis import Redis
from sqlmodel import Session, select

from tests.conftest import Merchant, make_merchant
from tests.helpers import csrf_token
from tests.integration.test_amazon_settings import add_products, text_of
from wizard.catalog import api_tokens
from wizard.models import AmazonSettings, ApiToken, Product

PRODUCTS = "/api/v1/products"
TOKENS = "/catalog/api-tokens"


@pytest.fixture
def token(db: Session, merchant: Merchant) -> str:
    """A live API token of the merchant's account."""
    _, value = api_tokens.create_token(
        db, account_id=merchant.account.id, name="Platform", user_id=merchant.user("admin").id
    )
    return value


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def stored(db: Session, account_id: int) -> dict[str, tuple[int, int]]:
    db.expire_all()
    return {
        p.sku: (p.available, p.price_cents)
        for p in db.exec(select(Product).where(Product.account_id == account_id))
    }


def test_a_request_without_a_token_gets_401_with_a_json_message(client: FlaskClient) -> None:
    response = client.post(PRODUCTS, json={"products": []})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer <token>" in response.get_json()["errors"][0]["message"]


def test_an_unknown_or_revoked_token_gets_401(client, db, merchant, token) -> None:
    assert client.get(PRODUCTS + "/X", headers=bearer("ecm_not-a-real-token")).status_code == 401
    row = db.exec(select(ApiToken)).one()
    api_tokens.revoke(db, merchant.account.id, row.id)
    response = client.post(
        PRODUCTS, json={"products": [{"sku": "A", "available": 1, "price": "1.00"}]}, headers=bearer(token)
    )
    assert response.status_code == 401
    assert "revoked" in response.get_json()["errors"][0]["message"]
    assert stored(db, merchant.account.id) == {}


def test_only_a_hash_of_the_token_is_stored(db, token) -> None:
    row = db.exec(select(ApiToken)).one()
    assert row.token_hash == api_tokens.hash_token(token) and len(row.token_hash) == 64
    assert token not in repr(row.model_dump()) and token.startswith(row.prefix)


def test_a_bulk_upsert_saves_every_good_item_and_answers_200(client, db, merchant, token, redis_url) -> None:
    add_products(db, merchant.account.id, [("OLD-1", 3, 999)])
    body = {
        "products": [
            {"sku": "NEW-1", "title": "Tent", "available": 12, "price": "149.00"},
            {"sku": "NEW-2", "available": 0, "price": 19.99},
            {"sku": "OLD-1", "available": 8},  # stock only: keeps its price
        ]
    }
    response = client.post(PRODUCTS, json=body, headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json() == {"saved": 3, "created": 2, "updated": 1, "errors": []}
    assert stored(db, merchant.account.id) == {"NEW-1": (12, 14900), "NEW-2": (0, 1999), "OLD-1": (8, 999)}
    assert Redis.from_url(redis_url).exists(f"sync:soon:{merchant.account.id}")


def test_bad_items_get_a_422_with_one_error_each_and_good_items_are_still_saved(
    client, db, merchant, token
) -> None:
    body = {
        "products": [
            {"sku": "GOOD-1", "available": 5, "price": "10.00"},
            {"sku": "", "available": 5, "price": "10.00"},
            {"sku": "BAD-QTY", "available": -2, "price": "10.00"},
            {"sku": "BAD-QTY-2", "available": "five", "price": "10.00"},
            {"sku": "BAD-PRICE", "available": 1, "price": "ten"},
            {"sku": "GOOD-1", "available": 9, "price": "1.00"},
            {"sku": "NEW-NO-PRICE", "available": 3},
            "not an object",
            {"sku": "X" * 41, "available": 1, "price": "1"},
            {"sku": "GOOD-2", "available": 1, "price": 0.5},
        ]
    }
    response = client.post(PRODUCTS, json=body, headers=bearer(token))
    assert response.status_code == 422
    answer = response.get_json()
    assert answer["saved"] == 2
    errors = {e["index"]: (e["sku"], e["field"], e["message"]) for e in answer["errors"]}
    assert sorted(errors) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert errors[1][1:] == ("sku", "The SKU is missing.")
    assert errors[2][:2] == ("BAD-QTY", "available") and "can't be negative" in errors[2][2]
    assert errors[3][:2] == ("BAD-QTY-2", "available") and "whole number" in errors[3][2]
    assert errors[4][:2] == ("BAD-PRICE", "price") and "US dollars" in errors[4][2]
    assert errors[5] == (
        "GOOD-1",
        "sku",
        "This SKU is already at index 0 of this request; only that one is saved.",
    )
    assert errors[6] == ("NEW-NO-PRICE", "price", "A new SKU needs price; send it too.")
    assert errors[7][2] == "Each product must be a JSON object."
    assert "at most 40" in errors[8][2]
    assert stored(db, merchant.account.id) == {"GOOD-1": (5, 1000), "GOOD-2": (1, 50)}


def test_a_body_that_is_not_the_expected_json_is_refused_whole(client, db, merchant, token) -> None:
    response = client.post(PRODUCTS, data="sku,available", headers=bearer(token))
    assert response.status_code == 400 and '{"products": [' in response.get_json()["errors"][0]["message"]
    too_many = {"products": [{"sku": f"S{i}", "available": 1, "price": "1"} for i in range(10_001)]}
    response = client.post(PRODUCTS, json=too_many, headers=bearer(token))
    assert response.status_code == 413 and "at most 10,000" in response.get_json()["errors"][0]["message"]
    assert stored(db, merchant.account.id) == {}


def test_a_token_only_reaches_its_own_accounts_catalog(client, db, merchant, token) -> None:
    other = make_merchant(db, name="Other", domain="other.example")
    add_products(db, other.account.id, [("SHARED", 9, 900)])
    assert client.get(PRODUCTS + "/SHARED", headers=bearer(token)).status_code == 404
    client.post(
        PRODUCTS, json={"products": [{"sku": "SHARED", "available": 1, "price": "1"}]}, headers=bearer(token)
    )
    assert stored(db, other.account.id) == {"SHARED": (9, 900)}
    assert stored(db, merchant.account.id) == {"SHARED": (1, 100)}


def test_get_a_product_returns_what_amazon_should_show_and_why(client, db, merchant, token) -> None:
    db.add(AmazonSettings(account_id=merchant.account.id, inventory_buffer=6, inventory_ceiling=4))
    db.commit()
    add_products(db, merchant.account.id, [("TENT/2P", 5, 14900)])
    answer = client.get(PRODUCTS + "/TENT/2P", headers=bearer(token)).get_json()
    assert answer["available"] == 5 and answer["price"] == "149.00"
    assert answer["amazon"] == {
        "quantity": 0,
        "price": "149.00",
        "listed": True,
        "reason": "below_buffer",
        "explanation": "5 available, below the buffer of 6 → 0",
    }


def test_the_api_needs_no_csrf_token_but_the_token_page_does(client, signed_in_as) -> None:
    signed_in_as("admin")
    assert client.post(TOKENS, data={"name": "x"}).status_code == 400


def test_an_admin_creates_a_token_shown_once_and_revokes_it(
    client: FlaskClient, signed_in_as, db, merchant
) -> None:
    signed_in_as("admin")
    created = client.post(
        TOKENS, data={"name": "Ecommerce platform", "csrf_token": csrf_token(client, TOKENS)}
    )
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    value = re.search(r'id="new-token"[^>]*value="(ecm_[^"]+)"', created.get_data(as_text=True))
    assert value, "the new token is shown"
    new_token = value.group(1)
    assert (
        client.post(
            PRODUCTS,
            json={"products": [{"sku": "A", "available": 1, "price": "2"}]},
            headers=bearer(new_token),
        ).status_code
        == 200
    )
    listing = client.get(TOKENS).get_data(as_text=True)
    assert new_token not in listing and "Ecommerce platform" in listing and new_token[:12] in listing
    row = db.exec(select(ApiToken)).one()
    revoke = client.post(f"{TOKENS}/{row.id}/revoke", data={"csrf_token": csrf_token(client, TOKENS)})
    assert revoke.status_code == 302
    assert "Revoked" in text_of(client.get(TOKENS).get_data(as_text=True))
    assert client.get(PRODUCTS + "/A", headers=bearer(new_token)).status_code == 401


def test_a_token_needs_a_name(client, signed_in_as, db) -> None:
    signed_in_as("admin")
    response = client.post(TOKENS, data={"name": " ", "csrf_token": csrf_token(client, TOKENS)})
    assert response.status_code == 422
    assert "Give the token a name" in text_of(response.get_data(as_text=True))
    assert db.exec(select(ApiToken)).all() == []


@pytest.mark.parametrize("role", ["manager", "staff"])
def test_only_admins_manage_api_tokens(client, signed_in_as, role) -> None:
    signed_in_as(role)
    assert client.get(TOKENS).status_code == 403
    token = csrf_token(client, "/catalog/")
    assert client.post(TOKENS, data={"name": "x", "csrf_token": token}).status_code == 403
