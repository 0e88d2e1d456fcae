"""Where Amazon sends the merchant back: the OAuth redirect URI (callback) and the Login URI.

The callback checks ``state``, exchanges the code at once and stores the tokens encrypted; the Login URI
is where Seller Central starts an authorization (including the yearly re-authorization).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, redirect, render_template, request, session, url_for
from redis.exceptions import RedisError
from werkzeug.wrappers import Response

from wizard.amazon import AmazonError, AmazonUnavailable, AuthorizationRevoked, InvalidClient
from wizard.connect import oauth, tips
from wizard.connect.forms import LoginUriForm
from wizard.connect.service import (
    Outcome,
    SellerNotConfirmed,
    SellerTaken,
    confirm_seller_claim,
    connection_for,
    seller_taken,
    store_authorization,
)
from wizard.connect.tips import CALLBACK_MESSAGES
from wizard.connect.views.common import bp, redirect_uri, signed_in_user
from wizard.db import get_session
from wizard.security import current_account, current_user, manage, public
from wizard.services import get_amazon, get_cipher

log = logging.getLogger(__name__)


def _enqueue_catch_up_sync(account_id: int) -> None:
    """Send what changed while Amazon refused the connection now, not at the next scheduled run."""
    from wizard.tasks import request_run

    try:
        request_run(account_id)
    except RedisError:
        log.exception("could not enqueue the catch-up sync of account %s; the next scheduled run sends it",
                      account_id)


# ---- the OAuth callback ------------------------------------------------------------------------------------

def _callback_page(key: str, mode: str, status: int, **extra: Any) -> tuple[str, int]:
    return render_template("connect/callback.html", result="failed", problem=key,
                           message=CALLBACK_MESSAGES[key], mode=mode, next_url=None,
                           code=extra.get("code", ""), seller=extra.get("seller", "")), status


@bp.get("/amazon/oauth/callback")
@public  # checks the session itself, so an ended session gets a clear page instead of a sign-in loop
def oauth_callback() -> Response | str | tuple[str, int]:
    """Check ``state``, exchange ``spapi_oauth_code`` at once, store the tokens encrypted, then move on."""
    args = request.args
    db = get_session()
    peeked = oauth.peek_state(db, args.get("state"))
    mode = peeked.mode if peeked is not None else oauth.TAB
    user = current_user()
    if user is None:
        return _callback_page("signed_out", mode, 401)
    try:
        state = oauth.consume_state(db, session, args.get("state"), user_id=user.id or 0,
                                    account_id=user.account_id)
    except oauth.StateError as exc:
        log.info("OAuth callback refused for user %s: state %s", user.id, exc.problem.value)
        return _callback_page(exc.problem.value, mode, 400)
    error = args.get("error", "")
    if error:
        log.info("Amazon returned error %r to the OAuth callback for account %s", error, user.account_id)
        if error == "access_denied":
            return _callback_page("cancelled", mode, 200)
        return _callback_page("amazon_error", mode, 400, code=error[:80])
    code, seller = args.get("spapi_oauth_code", ""), args.get("selling_partner_id", "")
    if not code or not seller or len(seller) > 64:
        return _callback_page("incomplete", mode, 400)
    if state.expected_selling_partner_id and state.expected_selling_partner_id != seller:
        return _callback_page("seller_mismatch", mode, 400, seller=seller)
    if not user.role.can_manage_integrations:
        return _callback_page("not_allowed", mode, 403)
    try:
        tokens = get_amazon().exchange_code(code, redirect_uri())
    except AuthorizationRevoked:
        return _callback_page("code_expired", mode, 400)
    except InvalidClient as exc:
        log.error("OPERATOR: LWA rejected the app's credentials during a code exchange (%s). "
                  "Check AMAZON_LWA_CLIENT_ID and AMAZON_LWA_CLIENT_SECRET.", exc.code)
        return _callback_page("operator", mode, 502)
    except AmazonUnavailable:
        return _callback_page("unavailable", mode, 503)
    except AmazonError as exc:
        log.warning("code exchange failed for account %s: %s", user.account_id, exc)
        return _callback_page("amazon_error", mode, 400, code=exc.code)
    try:  # the Seller ID came through the browser: Amazon must confirm it before the one-seller rule runs
        confirm_seller_claim(get_amazon(), seller, tokens)
    except SellerNotConfirmed:
        log.warning("account %s: Amazon refused the new token for claimed seller %s", user.account_id, seller)
        return _callback_page("seller_not_confirmed", mode, 403, seller=seller)
    except AmazonError:
        return _callback_page("unavailable", mode, 503)
    try:
        outcome = store_authorization(db, account_id=user.account_id, user_id=user.id or 0,
                                      selling_partner_id=seller, refresh_token=tokens.refresh_token,
                                      cipher=get_cipher())
    except SellerTaken:
        return _callback_page("seller_taken", mode, 409, seller=seller)
    log.info("account %s authorized seller %s (%s)", user.account_id, seller, outcome.value)
    if outcome == Outcome.REAUTHORIZED:
        _enqueue_catch_up_sync(user.account_id)
    pending = outcome == Outcome.PENDING_CONFIRMATION
    next_url = url_for("connect.confirm_seller") if pending else url_for("connect.verify")
    if mode == oauth.TAB:
        return redirect(next_url)
    return render_template("connect/callback.html", result="pending" if pending else "connected",
                           problem="", message=None, mode=mode, next_url=next_url, code="", seller=seller)


# ---- Amazon's Login URI (Seller Central starts here, including the yearly re-authorization) ----------------

def _login_problem(callback_uri: str, amazon_state: str, seller: str) -> str | None:
    if not callback_uri or not amazon_state or not seller:
        return "Amazon's request is missing amazon_callback_uri, amazon_state or selling_partner_id."
    if not oauth.is_seller_central_url(callback_uri, current_app.config["AMAZON_SELLER_CENTRAL_URL"]):
        return "The address Amazon asked us to return to is not an Amazon Seller Central address."
    if len(seller) > 64:
        return "The Seller ID in Amazon's request is not valid."
    return None


@bp.get("/amazon/login")
@manage
def login_uri() -> tuple[str, int]:
    """Ask the signed-in admin or manager to confirm authorizing Ecommerce for the seller Amazon names."""
    args = request.args
    callback_uri = args.get("amazon_callback_uri", "")
    amazon_state = args.get("amazon_state", "")
    seller = args.get("selling_partner_id", "")
    problem = _login_problem(callback_uri, amazon_state, seller)
    account = current_account()
    form = LoginUriForm(formdata=None, amazon_callback_uri=callback_uri, amazon_state=amazon_state,
                        selling_partner_id=seller, version=args.get("version", ""))
    taken = problem is None and seller_taken(get_session(), account.id or 0, seller)
    connection = connection_for(get_session(), account.id or 0)
    return render_template("connect/login_uri.html", form=form, problem=problem, seller=seller,
                           taken=taken, account=account, connection=connection,
                           tips=tips), 400 if problem else 200


@bp.post("/amazon/login")
@manage
def login_uri_continue() -> Response | tuple[str, int]:
    """Issue our state (expecting this seller) and send the browser back to Amazon's callback."""
    form = LoginUriForm()
    account = current_account()
    problem = None
    if not form.validate_on_submit():
        problem = "Amazon's request is incomplete. Start again from Manage Your Apps in Seller Central."
    else:
        problem = _login_problem(form.amazon_callback_uri.data, form.amazon_state.data,
                                 form.selling_partner_id.data)
    if problem is not None:
        return render_template("connect/login_uri.html", form=form, problem=problem,
                               seller=form.selling_partner_id.data or "", taken=False, account=account,
                               connection=None, tips=tips), 400
    user = signed_in_user()
    state = oauth.issue_state(get_session(), session, user_id=user.id or 0, account_id=account.id or 0,
                              mode=oauth.TAB, expected_selling_partner_id=form.selling_partner_id.data)
    draft = bool(current_app.config["AMAZON_APP_DRAFT"]) or form.version.data == "beta"
    return redirect(oauth.login_uri_redirect(
        form.amazon_callback_uri.data, amazon_state=form.amazon_state.data, state=state,
        redirect_uri=redirect_uri(), draft=draft,
    ))
