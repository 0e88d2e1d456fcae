"""Signing in and out."""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, redirect, render_template, request, session, url_for
from sqlmodel import select
from werkzeug.wrappers import Response

from wizard.accounts import throttle
from wizard.db import get_session
from wizard.forms import EmptyForm, SignInForm
from wizard.models import User
from wizard.security import (
    current_user,
    end_sessions,
    public,
    safe_next,
    signed_in,
    start_session,
    verify_password_of,
)
from wizard.services import get_redis

bp = Blueprint("auth", __name__)

NO_MATCH = "That email and password do not match an account. Check both and try again."


@bp.get("/sign-in")
@public
def sign_in() -> str:
    """Show the sign-in form."""
    return render_template("accounts/sign_in.html", form=SignInForm(), next=request.args.get("next", ""))


def _paused(form: SignInForm, target: str, seconds: int) -> Response:
    minutes = throttle.minutes(seconds)
    form.password.errors = [
        "For your security, signing in is paused after several wrong passwords. Try again in "
        f"{minutes} minute{'' if minutes == 1 else 's'}."
    ]
    response = make_response(render_template("accounts/sign_in.html", form=form, next=target), 429)
    response.headers["Retry-After"] = str(seconds)
    return response


@bp.post("/sign-in")
@public
def sign_in_post() -> Response | tuple[str, int]:
    """Check the password (a few tries per email and address), then start a fresh session."""
    form = SignInForm()
    target = request.args.get("next", "")
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        address = request.remote_addr or "unknown"
        limits = throttle.Limits.from_config(current_app.config)
        redis = get_redis()
        wait = throttle.retry_after(redis, email, address, limits)
        if wait is not None:  # refused before the password is looked at, so it cannot be guessed on
            return _paused(form, target, wait)
        user = get_session().exec(select(User).where(User.email == email)).first()
        if verify_password_of(user, form.password.data):
            assert user is not None
            throttle.forget_failures(redis, email, address, limits)
            start_session(user)
            return redirect(safe_next(target, url_for("home.index")))
        wait = throttle.record_failure(redis, email, address, limits)
        if wait is not None:
            return _paused(form, target, wait)
        form.password.errors = [NO_MATCH]
    return render_template("accounts/sign_in.html", form=form, next=target), 400


@bp.post("/sign-out")
@signed_in
def sign_out() -> Response:
    """End the session here and on every other device (and every copy of the cookie)."""
    EmptyForm().validate_on_submit()
    user = current_user()
    if user is not None:
        end_sessions(user)
        get_session().commit()
    session.clear()
    return redirect(url_for("auth.sign_in"))
