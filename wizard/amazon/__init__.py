"""The only code that speaks HTTP to Amazon (Login with Amazon and the Selling Partner API)."""

from __future__ import annotations

from wizard.amazon.client import AmazonClient, Participation, SellerAccount, SellerAuth, TokenSet
from wizard.amazon.errors import (
    AccessDenied,
    AmazonError,
    AmazonRequestError,
    AmazonUnavailable,
    AuthorizationRevoked,
    InvalidClient,
    Throttled,
)

__all__ = [
    "AccessDenied",
    "AmazonClient",
    "AmazonError",
    "AmazonRequestError",
    "AmazonUnavailable",
    "AuthorizationRevoked",
    "InvalidClient",
    "Participation",
    "SellerAccount",
    "SellerAuth",
    "Throttled",
    "TokenSet",
]
