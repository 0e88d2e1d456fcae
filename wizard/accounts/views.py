"""Signing in and out."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlmodel import select
from werkzeug.wrappers import Response

from wizard.accounts import throttle
from wizard.accounts.service import change_password as set_password
from wizard.db import get_session
from wizard.forms import ChangePasswordForm, EmptyForm, SignInForm
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


def _pause_message(seconds: int) -> str:
    minutes = throttle.minutes(seconds)
    return ("For your security, signing in is paused after several wrong passwords. Try again in "
            f"{minutes} minute{'' if minutes == 1 else 's'}.")


def _paused(form: SignInForm, target: str, seconds: int) -> Response:
    form.password.errors = [_pause_message(seconds)]
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


@bp.get("/account/password")
@signed_in
def password() -> str:
    """Show the change-password form."""
    return render_template("accounts/password.html", form=ChangePasswordForm())


@bp.post("/account/password")
@signed_in
def change_password() -> Response | tuple[str, int]:
    """Check the current password (failures count towards the sign-in pause), set the new one, sign out
    every other session."""
    form = ChangePasswordForm()
    user = current_user()
    assert user is not None  # @signed_in
    if form.validate_on_submit():
        address = request.remote_addr or "unknown"
        limits = throttle.Limits.from_config(current_app.config)
        redis = get_redis()
        # A stolen cookie must not give a faster way to guess the password than the sign-in form.
        wait = throttle.retry_after(redis, user.email, address, limits)
        if wait is None and verify_password_of(user, form.current_password.data):
            set_password(get_session(), user, form.new_password.data)  # ends every session, this one too
            start_session(user)  # so sign this browser in again
            flash("Your password is changed. Every other device and browser is signed out.", "success")
            return redirect(url_for("auth.password"))
        if wait is None:
            wait = throttle.record_failure(redis, user.email, address, limits)
        if wait is not None:
            form.current_password.errors = [_pause_message(wait)]
            return render_template("accounts/password.html", form=form), 429
        form.current_password.errors = ["That is not your current password. Check it and try again."]
    return render_template("accounts/password.html", form=form), 400
