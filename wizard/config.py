"""Configuration: safe development defaults, overridden by environment variables.

Every variable is documented in the README's configuration table. The Amazon names are exactly Amazon's
published concepts, so the same build can point at Amazon, at our sandbox, or at any other implementation.
"""

from __future__ import annotations

import os
from typing import Any

#: Development-only secrets. ``create_app`` refuses to start in production while any of them is in use.
DEV_SECRET_KEY = "dev-secret-key-do-not-use-in-production"  # noqa: S105
DEV_TOKEN_KEY = "ZGV2LXRva2VuLWtleS1kby1ub3QtdXNlLWluLXByb2Q="  # noqa: S105 - a development-only Fernet key
DEV_LWA_CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105

#: Variable name -> (default, parser). Read once per app or worker from the environment.
_BOOL = "bool"
_INT = "int"
_FLOAT = "float"
_STR = "str"

ENV_VARS: dict[str, tuple[Any, str]] = {
    "APP_ENV": ("development", _STR),
    "SECRET_KEY": (DEV_SECRET_KEY, _STR),
    "TOKEN_ENCRYPTION_KEYS": (DEV_TOKEN_KEY, _STR),
    "DATABASE_URL": ("sqlite:///var/ecommerce.sqlite", _STR),
    "REDIS_URL": ("redis://127.0.0.1:6379/0", _STR),
    "PUBLIC_BASE_URL": ("http://127.0.0.1:5000", _STR),
    "AMAZON_APP_ID": ("amzn1.sellerapps.app.sandbox-ecommerce", _STR),
    "AMAZON_LWA_CLIENT_ID": ("amzn1.application-oa2-client.sandbox-ecommerce", _STR),
    "AMAZON_LWA_CLIENT_SECRET": (DEV_LWA_CLIENT_SECRET, _STR),
    "AMAZON_SELLER_CENTRAL_URL": ("https://sellercentral.amazon.com", _STR),
    "AMAZON_LWA_TOKEN_URL": ("https://api.amazon.com/auth/o2/token", _STR),
    "AMAZON_SPAPI_ENDPOINT": ("https://sellingpartnerapi-na.amazon.com", _STR),
    "AMAZON_APP_DRAFT": (True, _BOOL),
    "AMAZON_HTTP_TIMEOUT": (15.0, _FLOAT),
    "SYNC_INTERVAL": (900, _INT),
    "SYNC_SOON_DELAY": (60, _INT),
    "SYNC_LOCK_TTL": (120, _INT),
    "SYNC_POLL_INITIAL": (5.0, _FLOAT),
    "SYNC_POLL_MAX": (300.0, _FLOAT),
    "SYNC_POLL_INLINE": (120.0, _FLOAT),
    "SYNC_RETRY_DELAY": (60, _INT),
    "SYNC_FEED_MAX_MESSAGES": (25000, _INT),
    "RECONCILE_INTERVAL": (900, _INT),
    "RECONCILE_FULL_INTERVAL": (86400, _INT),
    "RECONCILE_SAFETY_MARGIN": (300, _INT),
    "RECONCILE_POLL_INITIAL": (15.0, _FLOAT),
    "RECONCILE_POLL_MAX": (300.0, _FLOAT),
    "RECONCILE_BEFORE_SYNC": (True, _BOOL),
    "AMAZON_MODELS_DIR": ("", _STR),
    "AMAZON_RETRY_ATTEMPTS": (5, _INT),
    "AMAZON_RETRY_BASE_DELAY": (0.5, _FLOAT),
    "SESSION_COOKIE_SECURE": (False, _BOOL),
}


def _parse(raw: str, kind: str) -> Any:
    if kind == _BOOL:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind == _INT:
        return int(raw)
    if kind == _FLOAT:
        return float(raw)
    return raw


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the configuration: defaults overridden by the environment."""
    env = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for name, (default, kind) in ENV_VARS.items():
        raw = env.get(name)
        config[name] = default if raw in (None, "") else _parse(raw, kind)
    return config


def development_secrets_in_use(config: dict[str, Any]) -> list[str]:
    """Name the settings that still hold a development secret."""
    found = []
    if config.get("SECRET_KEY") == DEV_SECRET_KEY:
        found.append("SECRET_KEY")
    if DEV_TOKEN_KEY in str(config.get("TOKEN_ENCRYPTION_KEYS", "")).split(","):
        found.append("TOKEN_ENCRYPTION_KEYS")
    if config.get("AMAZON_LWA_CLIENT_SECRET") == DEV_LWA_CLIENT_SECRET:
        found.append("AMAZON_LWA_CLIENT_SECRET")
    return found


class ConfigurationError(RuntimeError):
    """Raised when the configuration is unsafe or incomplete."""


def check_production_safety(config: dict[str, Any]) -> None:
    """Refuse to run in production with development secrets or insecure cookies."""
    if config.get("APP_ENV") != "production":
        return
    unsafe = development_secrets_in_use(config)
    if unsafe:
        raise ConfigurationError(
            "Refusing to start in production with development secrets: " + ", ".join(unsafe)
            + ". Set them in the environment (see the README's configuration table)."
        )
    if not config.get("SESSION_COOKIE_SECURE"):
        raise ConfigurationError("Refusing to start in production without SESSION_COOKIE_SECURE=1.")
