"""Configuration: safe development defaults, overridden by environment variables.

Every variable is documented in the README's configuration table. The Amazon names are exactly Amazon's
published concepts, so the same build can point at Amazon, at our sandbox, or at any other implementation.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

#: The values ``APP_ENV`` may take. Only the first two may use the development secrets below; an unset
#: ``APP_ENV`` counts as production, so a deployment that forgets it fails safe.
DEVELOPMENT_ENVS = ("development", "test")
APP_ENVS = (*DEVELOPMENT_ENVS, "production")
#: Sessions and CSRF tokens are signed with SECRET_KEY: below this many bytes it can be guessed offline.
MIN_SECRET_KEY_BYTES = 32

#: Development-only secrets. Every process refuses to start outside development while one is in use.
DEV_SECRET_KEY = "dev-secret-key-do-not-use-in-production"  # noqa: S105
DEV_TOKEN_KEY = "ZGV2LXRva2VuLWtleS1kby1ub3QtdXNlLWluLXByb2Q="  # noqa: S105 - a development-only Fernet key
DEV_LWA_CLIENT_SECRET = "sandbox-client-secret"  # noqa: S105

#: Variable name -> (default, parser). Read once per app or worker from the environment.
_BOOL = "bool"
_INT = "int"
_FLOAT = "float"
_STR = "str"

ENV_VARS: dict[str, tuple[Any, str]] = {
    "APP_ENV": ("", _STR),
    "SECRET_KEY": (DEV_SECRET_KEY, _STR),
    "TOKEN_ENCRYPTION_KEYS": (DEV_TOKEN_KEY, _STR),
    "DATABASE_URL": ("sqlite:///var/ecommerce.sqlite", _STR),
    "DATABASE_POOL_SIZE": (5, _INT),
    "DATABASE_MAX_OVERFLOW": (10, _INT),
    "DATABASE_PING_AFTER_IDLE": (1.0, _FLOAT),
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
    "AMAZON_DOCUMENT_URL_PREFIXES": ("", _STR),
    "AMAZON_REPORT_MAX_BYTES": (200 * 1024 * 1024, _INT),
    "SYNC_INTERVAL": (900, _INT),
    "PAGE_CACHE_SIZE": (256, _INT),
    "SYNC_SOON_DELAY": (60, _INT),
    "SYNC_LOCK_TTL": (120, _INT),
    "SYNC_POLL_INITIAL": (5.0, _FLOAT),
    "SYNC_POLL_MAX": (300.0, _FLOAT),
    "SYNC_POLL_INLINE": (10.0, _FLOAT),
    "SYNC_RETRY_DELAY": (60, _INT),
    "SYNC_FEED_MAX_MESSAGES": (25000, _INT),
    "RECONCILE_INTERVAL": (900, _INT),
    "HEALTH_INTERVAL": (3600, _INT),
    "RECONCILE_FULL_INTERVAL": (86400, _INT),
    "RECONCILE_SAFETY_MARGIN": (300, _INT),
    "RECONCILE_POLL_INITIAL": (15.0, _FLOAT),
    "RECONCILE_POLL_MAX": (300.0, _FLOAT),
    "RECONCILE_BEFORE_SYNC": (True, _BOOL),
    "RECONCILE_LOOKUP_MAX": (500, _INT),
    "RECONCILE_LOOKUP_CHUNK": (100, _INT),
    "RECONCILE_LOOKUP_SPACING": (5.0, _FLOAT),
    "CHECK_BEFORE_FIRST_SYNC": (True, _BOOL),
    "URGENT_LANE": (True, _BOOL),
    "URGENT_DROP": (0.5, _FLOAT),
    "URGENT_MIN_UNITS": (5, _INT),
    "URGENT_MAX_PER_MINUTE": (200, _INT),
    "GUARD_ZERO_SHARE": (0.20, _FLOAT),
    "GUARD_PRICE_SHARE": (0.10, _FLOAT),
    "GUARD_PRICE_DROP": (0.30, _FLOAT),
    "AMAZON_MODELS_DIR": ("", _STR),
    "AMAZON_RETRY_ATTEMPTS": (5, _INT),
    "AMAZON_RETRY_BASE_DELAY": (0.5, _FLOAT),
    "SESSION_COOKIE_SECURE": (False, _BOOL),
    "SESSION_LIFETIME_HOURS": (12, _INT),
    "TRUSTED_PROXIES": (0, _INT),
    "SIGN_IN_MAX_FAILURES": (5, _INT),
    "SIGN_IN_MAX_FAILURES_PER_IP": (20, _INT),
    "SIGN_IN_FAILURE_WINDOW": (900, _INT),
    "METRICS_TOKEN": ("", _STR),
    "LOG_FORMAT": ("text", _STR),
    # Request bodies: Flask's MAX_CONTENT_LENGTH for every route (Werkzeug enforces it while reading, chunked
    # bodies too), raised per route where larger bodies are allowed (``wizard.limits.body_limit``).
    "MAX_CONTENT_LENGTH": (1024 * 1024, _INT),
    "API_MAX_BODY_BYTES": (10 * 1024 * 1024, _INT),
    "IMPORT_MAX_BYTES": (50 * 1024 * 1024, _INT),
    "IMPORT_DIR": ("var/imports", _STR),
}


def _parse(raw: str, kind: str) -> Any:
    if kind == _BOOL:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind == _INT:
        return int(raw)
    if kind == _FLOAT:
        return float(raw)
    return raw


def from_environment(environ: Mapping[str, str] | None = None, *, check: bool = True) -> dict[str, Any]:
    """Return the configuration: defaults overridden by the environment, refused if unsafe.

    Every process reads its configuration here (web, worker jobs, cron), so every process runs
    ``check_production_safety``. ``create_app`` passes ``check=False`` and checks after its overrides.
    """
    env = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for name, (default, kind) in ENV_VARS.items():
        raw = env.get(name)
        config[name] = default if raw in (None, "") else _parse(raw, kind)
    if check:
        check_production_safety(config)
    return config


def development_secrets_in_use(config: Mapping[str, Any]) -> list[str]:
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


def check_production_safety(config: Mapping[str, Any]) -> None:
    """Refuse to run outside development with development secrets, a short key or insecure cookies.

    Only ``APP_ENV=development`` or ``test`` relaxes the checks; an unset ``APP_ENV`` is production, and a
    value we do not know (``prod``, ``Production``) is refused rather than guessed.
    """
    app_env = str(config.get("APP_ENV") or "")
    if app_env in DEVELOPMENT_ENVS:
        return
    if app_env and app_env not in APP_ENVS:
        raise ConfigurationError(
            f"Refusing to start: APP_ENV={app_env!r} is not one of {', '.join(APP_ENVS)} (exactly, in "
            "lower case). Use production for a deployment and development on your own machine."
        )
    where = "in production" if app_env else "with APP_ENV unset (that counts as production)"
    unsafe = development_secrets_in_use(config)
    if unsafe:
        raise ConfigurationError(
            f"Refusing to start {where} with development secrets: " + ", ".join(unsafe)
            + ". Set them in the environment (see the README's configuration table), or set "
            "APP_ENV=development on your own machine."
        )
    if len(str(config.get("SECRET_KEY") or "").encode()) < MIN_SECRET_KEY_BYTES:
        raise ConfigurationError(
            f"Refusing to start {where} with a SECRET_KEY under {MIN_SECRET_KEY_BYTES} bytes. Generate one "
            "with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if not config.get("SESSION_COOKIE_SECURE"):
        raise ConfigurationError(f"Refusing to start {where} without SESSION_COOKIE_SECURE=1.")


def main() -> int:
    """Check the environment's configuration (``python -m wizard.config``); exit 1 with the reason if unsafe.

    The worker runs this before ``rq worker`` starts (see the Procfile), so a worker with development
    secrets refuses to start instead of failing on its first job.
    """
    try:
        config = from_environment()
    except ConfigurationError as exc:
        print(f"ConfigurationError: {exc}", file=sys.stderr)
        return 1
    print(f"Configuration checked for APP_ENV={config['APP_ENV'] or '(unset: production)'}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
