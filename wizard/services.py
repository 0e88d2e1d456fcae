"""Per-app clients (Redis, the token cipher, the Amazon client), created lazily on first use."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from flask import current_app
from redis import Redis

from wizard.amazon.client import AmazonClient, TokenCache
from wizard.crypto import TokenCipher

T = TypeVar("T")


def _extension(name: str, factory: Callable[[], T]) -> T:
    ext = current_app.extensions
    if name not in ext:
        ext[name] = factory()
    value: T = ext[name]
    return value


def get_redis() -> Redis:
    """Return the app's Redis connection (bytes responses, as RQ expects)."""
    return _extension("redis", lambda: Redis.from_url(current_app.config["REDIS_URL"]))


def get_cipher() -> TokenCipher:
    """Return the cipher that encrypts tokens at rest."""
    return _extension("cipher", lambda: TokenCipher(current_app.config["TOKEN_ENCRYPTION_KEYS"]))


def get_amazon() -> AmazonClient:
    """Return the Amazon client, sharing the access-token cache with the workers."""
    # The connection is opened without decode_responses, so get() returns bytes as TokenCache says;
    # redis-py's annotations cannot know that and say ``bytes | str | None``.
    return _extension(
        "amazon", lambda: AmazonClient.from_config(current_app.config, cache=cast(TokenCache, get_redis())),
    )
