"""Who is signed in, and what each route lets them do. Every view declares its access level."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from functools import cache, wraps
from typing import Any, TypeVar, cast

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import Select, bindparam, select
from sqlmodel import col
from werkzeug.exceptions import Forbidden
from werkzeug.security import check_password_hash, generate_password_hash

from wizard.db import get_session
from wizard.models import Account, AmazonSettings, Connection, User
from wizard.pagecache import fingerprint_params, wants_fingerprint

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
SIGNED_IN = "signed_in"
MANAGE = "manage"
TOKEN = "api_token"  # noqa: S105 - an access level, not a secret; machine-to-machine: authenticated by an API token, not a session


class Refused(Forbidden):
    """A 403 that names the exact reason, where the generic "admin or manager" page would be wrong."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(description=message)
        self.title = title


def hash_password(password: str) -> str:
    """Hash a password for storage."""
    return generate_password_hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Check a password against its stored hash."""
    return check_password_hash(password_hash, password)


@cache
def _dummy_hash() -> str:
    # A hash of a random password, made with the same method and cost as real ones.
    return hash_password(secrets.token_urlsafe(16))


def verify_password_of(user: User | None, password: str) -> bool:
    """Check ``password`` against ``user``'s hash; with no such user, spend the same time and say no.

    Without the dummy check an unknown email answers in a few milliseconds and a known one in the time
    a hash takes, which tells an attacker who has an account.
    """
    if user is None:
        verify_password(_dummy_hash(), password)
        return False
    return verify_password(user.password_hash, password)


#: What a signed-in session holds about the sign-in itself.
SESSION_KEYS = ("user_id", "generation", "signed_in_at")


def start_session(user: User) -> None:
    """Start a fresh session for ``user``: no fixation, no stale OAuth state, stamped for revocation."""
    session.clear()
    session["user_id"] = user.id
    session["generation"] = user.session_generation
    session["signed_in_at"] = int(time.time())
    session.permanent = True
    g.current_user = user


def end_sessions(user: User) -> None:
    """End every session of ``user``, on every device and every copy of its cookie (the caller commits)."""
    user.session_generation += 1


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, with its signing serializer built once per set of keys, not per request.

    Flask builds a new serializer for every request, and building one serializes an empty dict through the
    session's tagged JSON to learn whether it makes text: about a tenth of a millisecond of every page. The
    serializer holds only its keys and settings, so one per (secret key, fallback keys) serves every request;
    a new key gets a new one.
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Return the serializer for the app's current keys, built on first use."""
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        serializers = self._serializers
        if keys in serializers:
            return serializers[keys]
        serializer = super().get_signing_serializer(app)
        self._serializers = {keys: serializer}  # a new key retires the old serializer
        return serializer


def _session_lifetime() -> int:
    return int(current_app.config["SESSION_LIFETIME_HOURS"]) * 3600


@cache
def _user_and_account(fingerprint: bool = False) -> Select[Any]:
    # Built once per shape: building a statement costs more than running it (every request runs this one).
    # With ``fingerprint`` (the cached pages), it also reads the page cache's fingerprint in the same trip.
    from wizard.pagecache import fingerprint_columns
    from wizard.sync.guard import waiting_hold_id

    extra = fingerprint_columns() if fingerprint else []
    return (select(User, Account, Connection, AmazonSettings, waiting_hold_id(col(Account.id)), *extra)
            .join(Account, col(Account.id) == col(User.account_id))
            .outerjoin(Connection, col(Connection.account_id) == col(Account.id))
            .outerjoin(AmazonSettings, col(AmazonSettings.account_id) == col(Account.id))
            .where(col(User.id) == bindparam("user_id")))


def _user_of_session() -> User | None:
    user_id = session.get("user_id")
    if not user_id:
        return None
    # The user, their account, its connection, its settings and its paused sync in one query: nearly every
    # page reads them (the layout's banners, the setup card, the view), and on PostgreSQL each query is a
    # round trip. Kept on ``g`` and in the request's database session (identity map, connection_of's and
    # guard.waiting's per-session memos), they are not read again.
    db = get_session()
    fingerprint = wants_fingerprint()
    params = {"user_id": user_id, **fingerprint_params()} if fingerprint else {"user_id": user_id}
    row = db.execute(_user_and_account(fingerprint), params).first()
    user: User | None = None
    if row is not None:
        from wizard.connect.steps import remember_connection
        from wizard.sync.guard import remember_waiting_hold

        # ``g`` holds the account and settings: the identity map keeps only weak references.
        user, g.signed_in_account, g.signed_in_settings = row[0], row[1], row[3]
        g.signed_in_connection, g.signed_in_hold_id = row[2], row[4]
        if fingerprint:
            g.page_fingerprint = tuple(row[5:])
        remember_connection(db, user.account_id, row[2])
        remember_waiting_hold(db, user.account_id, row[4])
    signed_in_at = session.get("signed_in_at")
    if (user is None or session.get("generation") != user.session_generation
            or not isinstance(signed_in_at, int) or time.time() - signed_in_at > _session_lifetime()):
        # Signed out elsewhere, password changed, or too old: the cookie no longer signs anyone in. Only
        # the sign-in is dropped; clearing everything would also drop a CSRF token the page already used.
        for key in SESSION_KEYS:
            session.pop(key, None)
        return None
    return user


def current_user() -> User | None:
    """Return the signed-in user, loaded once per request; None once the session was ended or expired."""
    if "current_user" not in g:
        g.current_user = _user_of_session()
    user: User | None = g.current_user
    return user


def current_account() -> Account:
    """Return the signed-in user's account (only call behind ``signed_in`` or ``manage``)."""
    user = current_user()
    if user is None:
        abort(401)
    account = get_session().get(Account, user.account_id)
    if account is None:
        abort(401)
    return account


def _mark(view: F, level: str) -> F:
    # Functions take new attributes at run time; Callable has no way to declare this one.
    view._access = level  # type: ignore[attr-defined]
    return view


def public(view: F) -> F:
    """Declare that anyone may open this route."""
    return _mark(view, PUBLIC)


def api_token(view: F) -> F:
    """Declare that this route authenticates with an API token (checked by the view's blueprint)."""
    return _mark(view, TOKEN)


def signed_in(view: F) -> F:
    """Require a signed-in user of any role."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return _to_sign_in()
        return view(*args, **kwargs)

    # wraps() copies the view's name and metadata, and the wrapper takes the same arguments: it is an F.
    return _mark(cast(F, wrapped), SIGNED_IN)


def _to_sign_in() -> Any:
    """Send an anonymous visitor to the sign-in page (htmx requests get a 401 the page reloads on)."""
    if request.headers.get("HX-Request"):
        abort(401)
    return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))


def can_manage() -> bool:
    """Return whether the signed-in user may change integrations (admin or manager)."""
    user = current_user()
    return user is not None and user.role.can_manage_integrations


def manage(view: F) -> F:
    """Require an admin or manager: staff get a 403 page that says whom to ask."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return _to_sign_in()
        if not can_manage():
            abort(403)
        return view(*args, **kwargs)

    # wraps() copies the view's name and metadata, and the wrapper takes the same arguments: it is an F.
    return _mark(cast(F, wrapped), MANAGE)


def access_level(view: Callable[..., Any]) -> str | None:
    """Return the access level a view declared, or None if it forgot to."""
    return getattr(view, "_access", None)


def safe_next(target: str | None, default: str) -> str:
    """Return ``target`` only if it is a path on this site (no open redirects).

    Browsers drop tabs and newlines from URLs, so ``/%09/evil.example`` (a tab) means
    ``//evil.example``, another site; and a newline in a ``Location`` header is refused outright. Any
    control or space character is therefore refused, not cleaned.
    """
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not any(char.isspace() or not char.isprintable() for char in target)):
        return target
    return default
