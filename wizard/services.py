"""Per-app clients (Redis, the token cipher, the Amazon client), created lazily on first use."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app
from redis import Redis

from wizard.amazon.client import AmazonClient
from wizard.crypto import TokenCipher
from wizard.redis_connection import open_redis

T = TypeVar("T")

#: The longest a page waits for a token of Amazon's usage plan before saying Amazon is busy.
WEB_MAX_RATE_WAIT = 5.0


def _extension(name: str, factory: Callable[[], T]) -> T:
    ext = current_app.extensions
    if name not in ext:
        ext[name] = factory()
    value: T = ext[name]
    return value


def get_redis() -> Redis:
    """Return the app's Redis connection (bytes responses, as RQ expects)."""
    return _extension("redis", lambda: open_redis(current_app.config["REDIS_URL"]))


def get_cipher() -> TokenCipher:
    """Return the cipher that encrypts tokens at rest."""
    return _extension("cipher", lambda: TokenCipher(current_app.config["TOKEN_ENCRYPTION_KEYS"]))


def get_amazon() -> AmazonClient:
    """Return the Amazon client, built as the worker's: same retries, shared token cache and rate buckets."""
    return _extension("amazon", lambda: AmazonClient.from_config(current_app.config, get_redis(),
                                                                 max_wait=WEB_MAX_RATE_WAIT))
