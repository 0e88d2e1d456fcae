"""Per-account API tokens for the JSON API: shown once, stored only as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlmodel import Session, col, select

from wizard.models.base import utcnow
from wizard.models.catalog import ApiToken

#: Every token starts with this, so leaked tokens are easy to recognise (and to scan for).
TOKEN_PREFIX = "ecm_"  # noqa: S105 - a public marker, not a secret
PREFIX_SHOWN = 12
#: Writing ``last_used_at`` on every call would turn reads into writes; once a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest stored for ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, account_id: int, name: str,
                 user_id: int | None) -> tuple[ApiToken, str]:
    """Create a token; return the row and the token itself, which is never stored and shown only once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(account_id=account_id, name=name.strip()[:100] or "API token",
                   token_hash=hash_token(token), prefix=token[:PREFIX_SHOWN], created_by_user_id=user_id)
    session.add(row)
    session.commit()
    return row, token


def authenticate(session: Session, token: str) -> ApiToken | None:
    """Return the live token row for ``token``, or None if it is unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.add(row)
        session.commit()
    return row


def account_tokens(session: Session, account_id: int) -> list[ApiToken]:
    """Return the account's tokens, newest first (revoked ones included, for the record)."""
    return list(session.exec(select(ApiToken).where(ApiToken.account_id == account_id)
                             .order_by(col(ApiToken.id).desc())))


def revoke(session: Session, account_id: int, token_id: int) -> ApiToken | None:
    """Revoke one of the account's tokens; return it, or None if it is not the account's."""
    row = session.get(ApiToken, token_id)
    if row is None or row.account_id != account_id:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()
    return row
