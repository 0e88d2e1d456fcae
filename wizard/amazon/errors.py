"""Typed errors raised by the Amazon client; callers decide what the merchant sees from the type."""

from __future__ import annotations


class AmazonError(Exception):
    """Anything Amazon refused or could not do."""

    def __init__(self, message: str, *, code: str = "", status: int | None = None,
                 request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"code={self.code}")
        if self.status:
            parts.append(f"status={self.status}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)


class AuthorizationRevoked(AmazonError):
    """LWA said ``invalid_grant``: the code expired, or the seller's refresh token is no longer valid.

    During a code exchange the merchant simply tries again; on a refresh the connection needs
    re-authorization.
    """


class InvalidClient(AmazonError):
    """LWA said ``invalid_client`` (or ``unauthorized_client``): our app's credentials are wrong or rotated.

    An operator problem; merchants are told to contact support, never that it is their fault.
    """


class AmazonUnavailable(AmazonError):
    """A time-out, a 5xx or a throttle that outlasted our retries: try again later."""


class Throttled(AmazonUnavailable):
    """Amazon answered 429 ``QuotaExceeded`` and retries did not get through."""


class AmazonRequestError(AmazonError):
    """Amazon rejected the request (4xx other than throttling): retrying as-is will not help."""


class AccessDenied(AmazonRequestError):
    """A 403 that a fresh access token did not cure (missing role, or the authorization was revoked)."""
