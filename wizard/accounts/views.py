"""Signing in and out."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from sqlmodel import select
from werkzeug.wrappers import Response

from wizard.db import get_session
from wizard.forms import EmptyForm, SignInForm
from wizard.models import User
from wizard.security import public, safe_next, signed_in, verify_password

bp = Blueprint("auth", __name__)


@bp.get("/sign-in")
@public
def sign_in() -> str:
    """Show the sign-in form."""
    return render_template("accounts/sign_in.html", form=SignInForm(), next=request.args.get("next", ""))


@bp.post("/sign-in")
@public
def sign_in_post() -> Response | tuple[str, int]:
    """Check the password and start a fresh session."""
    form = SignInForm()
    target = request.args.get("next", "")
    if form.validate_on_submit():
        user = get_session().exec(select(User).where(User.email == form.email.data.strip().lower())).first()
        if user is not None and verify_password(user.password_hash, form.password.data):
            session.clear()  # a new session on sign-in: no fixation, no stale OAuth state
            session["user_id"] = user.id
            session.permanent = True
            return redirect(safe_next(target, url_for("home.index")))
        form.password.errors = ["That email and password do not match an account. Check both and try again."]
    return render_template("accounts/sign_in.html", form=form, next=target), 400


@bp.post("/sign-out")
@signed_in
def sign_out() -> Response:
    """End the session."""
    EmptyForm().validate_on_submit()
    session.clear()
    return redirect(url_for("auth.sign_in"))
