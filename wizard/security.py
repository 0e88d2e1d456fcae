"""Who is signed in, and what each route lets them do. Every view declares its access level."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, g, redirect, request, session, url_for
from werkzeug.exceptions import Forbidden
from werkzeug.security import check_password_hash, generate_password_hash

from wizard.db import get_session
from wizard.models import Account, User

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


def current_user() -> User | None:
    """Return the signed-in user, loaded once per request."""
    if "current_user" not in g:
        user_id = session.get("user_id")
        g.current_user = get_session().get(User, user_id) if user_id else None
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
    """Return ``target`` only if it is a path on this site (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
