"""Amazon's authorization URLs and our OAuth ``state``: issued, bound, checked, used once.

Amazon's OAuth is not standard (``application_id`` instead of ``client_id``, ``spapi_oauth_code`` instead of
``code``, ``version=beta`` for Draft apps), so the URLs are built by hand. A ``state`` is random, single use,
bound to the user's session and account, and expires after 10 minutes. Only its SHA-256 hash is stored in
the ``OAuthState`` table; the value itself lives in the session.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import MutableMapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from wizard.models import OAuthState
from wizard.models.base import utcnow

STATE_LIFETIME = timedelta(minutes=10)
#: Where the session keeps the values of the states it was issued.
SESSION_KEY = "oauth_states"
#: A few tabs may start an authorization at once; older states drop out of the session.
MAX_STATES_PER_SESSION = 5
#: Used or expired rows are deleted after this long (they only serve to recognise a replay).
KEEP_USED_STATES = timedelta(days=1)

POPUP = "popup"
TAB = "tab"


class StateProblem(StrEnum):
    """Why a ``state`` was refused; each has its own message for the merchant."""

    MISSING = "missing"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    OTHER_SESSION = "other_session"


class StateError(Exception):
    """The ``state`` Amazon sent back is not one this session may use."""

    def __init__(self, problem: StateProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def consent_url(seller_central_url: str, application_id: str, state: str, redirect_uri: str, *,
                draft: bool) -> str:
    """Return Seller Central's consent page URL for our app.

    ``version=beta`` is added only while the app is a Draft: Amazon shows MD1000 without it, and a
    Published app must not send it.
    """
    params = {"application_id": application_id, "state": state}
    if draft:
        params["version"] = "beta"
    params["redirect_uri"] = redirect_uri
    return seller_central_url.rstrip("/") + "/apps/authorize/consent?" + urlencode(params)


def is_seller_central_url(url: str, seller_central_url: str) -> bool:
    """Return whether ``url`` points into Seller Central (same scheme and host, under its path).

    A plain prefix test would accept ``https://sellercentral.amazon.com.evil.example``.
    """
    target, base = urlsplit(url), urlsplit(seller_central_url)
    if not target.scheme or not target.netloc or target.username or target.password:
        return False
    base_path = base.path.rstrip("/") + "/"
    return (target.scheme.lower() == base.scheme.lower() and target.netloc.lower() == base.netloc.lower()
            and (target.path + "/").startswith(base_path))


def login_uri_redirect(amazon_callback_uri: str, *, amazon_state: str, state: str, redirect_uri: str,
                       draft: bool) -> str:
    """Return where the Login URI flow sends the browser: Amazon's callback with our ``state``."""
    parts = urlsplit(amazon_callback_uri)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in {"amazon_state", "state", "redirect_uri", "version"}]
    query += [("amazon_state", amazon_state), ("state", state), ("redirect_uri", redirect_uri)]
    if draft:
        query.append(("version", "beta"))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def hash_state(value: str) -> str:
    """Return the stored form of a state value."""
    return hashlib.sha256(value.encode()).hexdigest()


def issue_state(db: Session, store: MutableMapping[str, Any], *, user_id: int, account_id: int,
                mode: str = POPUP, expected_selling_partner_id: str | None = None,
                now: datetime | None = None) -> str:
    """Create a state for this user, account and session; return its value (stored hashed)."""
    now = now or utcnow()
    value = secrets.token_urlsafe(32)
    db.exec(delete(OAuthState).where(col(OAuthState.created_at) < now - KEEP_USED_STATES))
    db.add(OAuthState(state_hash=hash_state(value), account_id=account_id, user_id=user_id,
                      mode=mode if mode in (POPUP, TAB) else POPUP,
                      expected_selling_partner_id=expected_selling_partner_id, created_at=now))
    db.commit()
    pending = [v for v in store.get(SESSION_KEY, []) if isinstance(v, str)]
    store[SESSION_KEY] = (pending + [value])[-MAX_STATES_PER_SESSION:]
    return value


def peek_state(db: Session, value: str | None) -> OAuthState | None:
    """Return the row of a state value without checking or using it (to choose how to show an error)."""
    if not value:
        return None
    return db.exec(select(OAuthState).where(OAuthState.state_hash == hash_state(value))).first()


def consume_state(db: Session, store: MutableMapping[str, Any], value: str | None, *, user_id: int,
                  account_id: int, now: datetime | None = None) -> OAuthState:
    """Check ``value`` and mark it used; raise ``StateError`` saying why it cannot be used.

    A state is accepted once, within 10 minutes, in the session that was issued it, by the same user of
    the same account. A refused state is not burnt (except when expired), so a forged callback cannot
    spoil the merchant's own authorization in progress.
    """
    now = now or utcnow()
    if not value:
        raise StateError(StateProblem.MISSING)
    row = peek_state(db, value)
    if row is None:
        raise StateError(StateProblem.UNKNOWN)
    if row.used_at is not None:
        raise StateError(StateProblem.USED)
    in_session = value in store.get(SESSION_KEY, [])
    if not in_session or row.user_id != user_id or row.account_id != account_id:
        raise StateError(StateProblem.OTHER_SESSION)
    _forget(store, value)
    if now - row.created_at > STATE_LIFETIME:
        raise StateError(StateProblem.EXPIRED)
    # Mark it used only if nobody else did in between: two callbacks racing get one winner.
    result = db.exec(update(OAuthState).where(col(OAuthState.id) == row.id, col(OAuthState.used_at).is_(None))
                     .values(used_at=now))
    db.commit()
    if result.rowcount != 1:
        raise StateError(StateProblem.USED)
    db.refresh(row)
    return row


def _forget(store: MutableMapping[str, Any], value: str) -> None:
    store[SESSION_KEY] = [v for v in store.get(SESSION_KEY, []) if v != value]
