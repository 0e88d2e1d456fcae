"""Per-app clients (Redis, the token cipher, the Amazon client), created lazily on first use."""

from __future__ import annotations

from typing import Any

from flask import current_app
from redis import Redis

from wizard.amazon.client import AmazonClient
from wizard.crypto import TokenCipher


def _extension(name: str, factory: Any) -> Any:
    ext = current_app.extensions
    if name not in ext:
        ext[name] = factory()
    return ext[name]


def get_redis() -> Redis:
    """Return the app's Redis connection (bytes responses, as RQ expects)."""
    return _extension("redis", lambda: Redis.from_url(current_app.config["REDIS_URL"]))  # type: ignore[no-any-return]


def get_cipher() -> TokenCipher:
    """Return the cipher that encrypts tokens at rest."""
    return _extension("cipher", lambda: TokenCipher(current_app.config["TOKEN_ENCRYPTION_KEYS"]))  # type: ignore[no-any-return]


def get_amazon() -> AmazonClient:
    """Return the Amazon client, sharing the access-token cache with the workers."""
    return _extension(  # type: ignore[no-any-return]
        "amazon", lambda: AmazonClient.from_config(current_app.config, cache=get_redis()),
    )
