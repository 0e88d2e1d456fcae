"""The words a merchant reads: no typos, and refusals that say the real reason."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session

from tests.conftest import Merchant
from tests.integration.test_amazon_settings import connect, text_of


def test_the_settings_page_explains_the_buffer_without_a_doubled_word(
        app: Flask, client: FlaskClient, merchant: Merchant, db: Session, signed_in_as) -> None:  # type: ignore[no-untyped-def]
    connect(db, merchant.account, app.config["TOKEN_ENCRYPTION_KEYS"])
    signed_in_as("admin")

    text = text_of(client.get("/settings/amazon/").get_data(as_text=True))

    assert "only if it has at least this many units available" in text
    assert "at at least" not in text


def test_a_manager_on_api_tokens_is_told_only_admins_manage_them(
        client: FlaskClient, merchant: Merchant, signed_in_as) -> None:  # type: ignore[no-untyped-def]
    signed_in_as("manager")

    response = client.get("/catalog/api-tokens")

    assert response.status_code == 403
    text = text_of(response.get_data(as_text=True))
    assert "Only admins manage API tokens" in text
    assert "Admin or manager access needed" not in text
