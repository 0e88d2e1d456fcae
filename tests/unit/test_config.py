"""Configuration: environment variables, secure cookies in production, no start with development secrets."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from wizard import create_app
from wizard.config import (
    ConfigurationError,
    check_production_safety,
    development_secrets_in_use,
    from_environment,
)

PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "a-real-secret-key-from-the-vault",
    "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "AMAZON_LWA_CLIENT_SECRET": "amzn1.oa2-cs.v1.real",
    "SESSION_COOKIE_SECURE": True,
}


def test_amazon_settings_come_from_exactly_amazons_names() -> None:
    config = from_environment({"AMAZON_SELLER_CENTRAL_URL": "https://sc.example", "AMAZON_APP_DRAFT": "0",
                               "AMAZON_LWA_TOKEN_URL": "https://lwa.example/token", "APP_ENV": "test"})
    assert config["AMAZON_SELLER_CENTRAL_URL"] == "https://sc.example"
    assert config["AMAZON_LWA_TOKEN_URL"] == "https://lwa.example/token"
    assert config["AMAZON_APP_DRAFT"] is False
    defaults = from_environment({}, check=False)
    assert defaults["AMAZON_SELLER_CENTRAL_URL"] == "https://sellercentral.amazon.com"
    assert defaults["AMAZON_SPAPI_ENDPOINT"] == "https://sellingpartnerapi-na.amazon.com"


@pytest.mark.parametrize("name", ["SECRET_KEY", "TOKEN_ENCRYPTION_KEYS", "AMAZON_LWA_CLIENT_SECRET"])
def test_production_refuses_to_start_with_a_development_secret(name: str) -> None:
    config = {**PRODUCTION, name: from_environment({}, check=False)[name]}
    assert development_secrets_in_use(config) == [name]
    with pytest.raises(ConfigurationError, match=name):
        check_production_safety(config)
    with pytest.raises(ConfigurationError, match=name):
        create_app(config)


def test_production_refuses_insecure_cookies() -> None:
    with pytest.raises(ConfigurationError, match="SESSION_COOKIE_SECURE"):
        check_production_safety({**PRODUCTION, "SESSION_COOKIE_SECURE": False})


def test_development_may_use_development_secrets() -> None:
    check_production_safety({**from_environment({}, check=False), "APP_ENV": "development"})


def test_production_cookies_are_secure_http_only_and_lax(database_url: str) -> None:
    app = create_app({**PRODUCTION, "DATABASE_URL": database_url})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    client = app.test_client()
    response = client.get("/sign-in", base_url="https://shop.example")
    cookie = response.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
