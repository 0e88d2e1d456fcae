"""The connect flow's routes: prerequisites, Grant Access, the OAuth callback, Login URI, verify, and more.

Progress comes from the database (``wizard.connect.steps``); the session holds only the user id and
OAuth states.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from wizard.accounts.service import managers_of
from wizard.amazon import AmazonError, AmazonUnavailable, AuthorizationRevoked, InvalidClient
from wizard.connect import oauth, tips
from wizard.connect.forms import AcknowledgeForm, LoginUriForm, StartAuthorizationForm
from wizard.connect.service import (
    Check,
    CheckResult,
    Outcome,
    SellerTaken,
    confirm_pending,
    connection_for,
    discard_pending,
    disconnect,
    seller_taken,
    store_authorization,
    verify_seller,
)
from wizard.connect.steps import (
    STEP_INFO,
    Facts,
    StepName,
    checklist,
    current_step,
    facts_for,
    is_allowed,
    wizard_steps,
)
from wizard.db import get_session
from wizard.extensions import htmx
from wizard.forms import EmptyForm
from wizard.models import Account, Connection, ConnectionStatus, User
from wizard.models.base import utcnow
from wizard.rendering import render_page
from wizard.security import can_manage, current_account, current_user, manage, public, signed_in
from wizard.services import get_amazon, get_cipher

log = logging.getLogger(__name__)

bp = Blueprint("connect", __name__)

PREFIX = "/settings/integrations/amazon"
SETTINGS_ENDPOINT = "amazon_settings.index"


# ---- helpers -----------------------------------------------------------------------------------------------

def _facts(account: Account) -> Facts:
    return facts_for(get_session(), account)


def _settings_url() -> str | None:
    return url_for(SETTINGS_ENDPOINT) if SETTINGS_ENDPOINT in current_app.view_functions else None


def _step_url(step: StepName) -> str:
    """Return the page of ``step``; past step 3 that is the settings page, or the integration page."""
    if step in (StepName.PREREQUISITES, StepName.GRANT_ACCESS, StepName.VERIFY):
        return url_for(STEP_INFO[step][1])
    return _settings_url() or url_for("connect.index")


def _guard(step: StepName, account: Account) -> Response | None:
    """Send the merchant back to the step they are at if ``step`` is not open yet."""
    facts = _facts(account)
    if is_allowed(step, facts):
        return None
    return redirect(_step_url(current_step(facts)))


def _redirect_uri() -> str:
    """Return the OAuth redirect URI registered with Amazon: the public base URL plus the callback path."""
    return str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/") + url_for("connect.oauth_callback")


def _page_context(account: Account, page: StepName | None) -> dict[str, Any]:
    facts = _facts(account)
    return {
        "account": account,
        "connection": connection_for(get_session(), account.id or 0),
        "facts": facts,
        "steps": wizard_steps(facts),
        "current": page.value if page else "",
        "checklist": checklist(facts),
        "tips": tips,
        "settings_url": _settings_url(),
    }


def _user() -> User:
    user = current_user()
    if user is None:  # the access decorators make this unreachable
        abort(401)
    return user


def stored_check(connection: Connection | None) -> CheckResult | None:
    """Return the last seller check as stored on the connection, for a page rendered without a live check."""
    if connection is None or not connection.refresh_token_encrypted:
        return None
    if connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION:
        return CheckResult(Check.NEEDS_REAUTHORIZATION)
    if connection.verified_at:
        return CheckResult(Check.VERIFIED)
    if connection.us_participating is False:
        return CheckResult(Check.NO_US_MARKETPLACE)
    if connection.selling_plan:
        return CheckResult(Check.INDIVIDUAL_PLAN, connection.selling_plan)
    return None


# ---- the Amazon integration page ---------------------------------------------------------------------------

@bp.get(PREFIX + "/")
@signed_in
def index() -> Response:
    """Show the connection's status, or send an admin or manager to the step they are at."""
    account = current_account()
    facts = _facts(account)
    step = current_step(facts)
    if can_manage() and step in (StepName.PREREQUISITES, StepName.GRANT_ACCESS, StepName.VERIFY):
        connection = connection_for(get_session(), account.id or 0)
        if connection is not None and connection.pending_selling_partner_id:
            return redirect(url_for("connect.confirm_seller"))
        return redirect(_step_url(step))
    return render_page("connect/index", **_page_context(account, None), form=EmptyForm(),
                       managers=managers_of(get_session(), account.id or 0), now=utcnow())


# ---- step 1: prerequisites ---------------------------------------------------------------------------------

@bp.get(PREFIX + "/prerequisites")
@signed_in
def prerequisites() -> Response:
    """State what is needed; staff see why they cannot continue and whom to ask."""
    account = current_account()
    form = AcknowledgeForm()
    if account.prerequisites_acknowledged_at and not form.is_submitted():
        form.professional_plan.data = form.us_marketplace.data = True
    return render_page("connect/prerequisites", **_page_context(account, StepName.PREREQUISITES), form=form,
                       managers=managers_of(get_session(), account.id or 0))


@bp.post(PREFIX + "/prerequisites")
@manage
def acknowledge() -> Response:
    """Record that an admin or manager confirmed the prerequisites, then go to Grant Access."""
    account = current_account()
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        return render_page("connect/prerequisites", status=400,
                           **_page_context(account, StepName.PREREQUISITES), form=form,
                           managers=managers_of(get_session(), account.id or 0))
    if account.prerequisites_acknowledged_at is None:
        account.prerequisites_acknowledged_at = utcnow()
        get_session().add(account)
        get_session().commit()
    return redirect(url_for("connect.grant_access"))


@bp.get(PREFIX + "/popup")
@signed_in
def popup() -> str:
    """Show the tiny page a new window opens on first (the pop-up test, and "Opening Amazon…")."""
    return render_template("connect/popup.html", purpose=request.args.get("purpose", "consent"))


# ---- step 2: Grant Access ----------------------------------------------------------------------------------

def _since(connection: Connection | None) -> str:
    return connection.authorized_at.isoformat() if connection and connection.authorized_at else ""


@bp.get(PREFIX + "/grant-access")
@manage
def grant_access() -> Response:
    """Show the Grant Access button (a pop-up, or the same tab as a fallback) and watch for the connection."""
    account = current_account()
    if (redirected := _guard(StepName.GRANT_ACCESS, account)) is not None:
        return redirected
    context = _page_context(account, StepName.GRANT_ACCESS)
    connection = context["connection"]
    return render_page("connect/grant_access", **context, form=StartAuthorizationForm(mode="popup"),
                       tab_form=StartAuthorizationForm(mode="tab"), since=_since(connection),
                       reauthorizing=bool(connection and connection.refresh_token_encrypted),
                       waiting=request.args.get("waiting") == "1")


@bp.get(PREFIX + "/grant-access/status")
@manage
def grant_status() -> Response:
    """Report whether the authorization finished (polled by the Grant Access page until it has)."""
    if not htmx:
        return redirect(url_for("connect.grant_access"))
    account = current_account()
    connection = connection_for(get_session(), account.id or 0)
    since = request.args.get("since", "")
    try:
        since_at = datetime.fromisoformat(since) if since else None
    except ValueError:
        since_at = None
    next_url = None
    if connection is not None and connection.pending_selling_partner_id:
        next_url = url_for("connect.confirm_seller")
    elif (connection is not None and connection.refresh_token_encrypted and connection.authorized_at
          and (since_at is None or connection.authorized_at > since_at)):
        next_url = url_for("connect.verify")
    response = make_response(render_template("partial/connect/grant_status.html", next_url=next_url,
                                              since=since))
    response.headers["Vary"] = "HX-Request"
    if next_url:
        response.headers["HX-Redirect"] = next_url
    return response


@bp.post(PREFIX + "/grant-access")
@manage
def start_authorization() -> Response:
    """Issue a state and send this window (the pop-up, or the tab) to Amazon's consent page."""
    account = current_account()
    if (redirected := _guard(StepName.GRANT_ACCESS, account)) is not None:
        return redirected
    form = StartAuthorizationForm()
    mode = form.mode.data if form.validate_on_submit() else oauth.TAB
    user = _user()
    state = oauth.issue_state(get_session(), session, user_id=user.id or 0, account_id=account.id or 0,
                              mode=mode or oauth.TAB)
    config = current_app.config
    return redirect(oauth.consent_url(config["AMAZON_SELLER_CENTRAL_URL"], config["AMAZON_APP_ID"], state,
                                      _redirect_uri(), draft=bool(config["AMAZON_APP_DRAFT"])))


@bp.post(PREFIX + "/reauthorize")
@manage
def reauthorize() -> Response:
    """Start a re-authorization: the same Grant Access flow, which keeps every setting."""
    return redirect(url_for("connect.grant_access"))


# ---- the OAuth callback ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CallbackMessage:
    """What the callback page says when it cannot finish."""

    title: str
    message: str
    action: str  # "retry", "sign_in", "integration", "support", "close"


CALLBACK_MESSAGES: dict[str, CallbackMessage] = {
    "signed_out": CallbackMessage(
        "Sign in again to finish connecting",
        "Your Ecommerce session ended before Amazon sent you back, so nothing was connected. Sign in, then "
        "click Grant Access again.", "sign_in"),
    "missing": CallbackMessage(
        "The connection could not be checked",
        "Amazon sent you back without the security code Ecommerce needs, so nothing was connected. Click "
        "Grant Access to start again.", "retry"),
    "unknown": CallbackMessage(
        "This link did not come from Ecommerce",
        "The security code in this link is not one Ecommerce issued, so it was not used and nothing changed. "
        "If you were connecting your Amazon account, click Grant Access to start again.", "retry"),
    "used": CallbackMessage(
        "This authorization was already used",
        "Each authorization link works once. If you just connected, your connection is already in place: "
        "open the integration page to see it. Otherwise click Grant Access to start again.", "integration"),
    "expired": CallbackMessage(
        "The authorization took too long",
        "For your security, an authorization must be finished within 10 minutes of clicking Grant Access. "
        "Nothing was connected. Click Grant Access to start again.", "retry"),
    "other_session": CallbackMessage(
        "This authorization was started somewhere else",
        "It was started in another browser, another session or by another user, so it was not used and "
        "nothing changed. Click Grant Access here to start again.", "retry"),
    "cancelled": CallbackMessage(
        "You cancelled on Amazon",
        "Nothing was connected. When you are ready, click Grant Access and choose Authorize on Amazon's "
        "page.", "retry"),
    "amazon_error": CallbackMessage(
        "Amazon did not complete the authorization",
        "Amazon reported a problem, so nothing was connected. Click Grant Access to try again. If it happens "
        "again, contact Ecommerce support and mention the code below.", "retry"),
    "incomplete": CallbackMessage(
        "Amazon's answer was incomplete",
        "Amazon sent you back without an authorization code or Seller ID, so nothing was connected. Click "
        "Grant Access to try again.", "retry"),
    "seller_mismatch": CallbackMessage(
        "A different seller came back",
        "Amazon started this authorization for one seller account and finished it for another, so nothing "
        "was connected. Start again from Manage Your Apps in Seller Central, signed in as the seller you "
        "want to connect.", "retry"),
    "seller_taken": CallbackMessage(
        "This Amazon account is connected to another Ecommerce account",
        "Each Ecommerce account connects to one Amazon seller account, and each seller account to one "
        "Ecommerce account, so nothing was connected. Authorize with a different Amazon seller account, or "
        "contact Ecommerce support if this seller account should move here.", "retry"),
    "code_expired": CallbackMessage(
        "The authorization code expired — try again",
        "Amazon's authorization code is only valid for a few minutes and it was no longer accepted. Nothing "
        "was connected. Click Grant Access to try again.", "retry"),
    "operator": CallbackMessage(
        "Ecommerce could not finish the connection",
        "This is a problem on Ecommerce's side, not something you did: Amazon did not accept Ecommerce's "
        "application credentials. Our team has been alerted. Please contact Ecommerce support; your Amazon "
        "authorization is safe to retry later.", "support"),
    "unavailable": CallbackMessage(
        "Amazon is not answering right now",
        "Amazon's sign-in service did not answer in time, so nothing was connected. Wait a few minutes, then "
        "click Grant Access to try again.", "retry"),
    "not_allowed": CallbackMessage(
        "Admin or manager access needed",
        "Only admins and managers can connect Amazon. Nothing was connected. Ask an admin of your Ecommerce "
        "account to do it.", "integration"),
}


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
    if seller_taken(db, user.account_id, seller):
        return _callback_page("seller_taken", mode, 409, seller=seller)
    try:
        tokens = get_amazon().exchange_code(code, _redirect_uri())
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
    try:
        outcome = store_authorization(db, account_id=user.account_id, user_id=user.id or 0,
                                      selling_partner_id=seller, refresh_token=tokens.refresh_token,
                                      cipher=get_cipher())
    except SellerTaken:
        return _callback_page("seller_taken", mode, 409, seller=seller)
    log.info("account %s authorized seller %s (%s)", user.account_id, seller, outcome.value)
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
    user = _user()
    state = oauth.issue_state(get_session(), session, user_id=user.id or 0, account_id=account.id or 0,
                              mode=oauth.TAB, expected_selling_partner_id=form.selling_partner_id.data)
    draft = bool(current_app.config["AMAZON_APP_DRAFT"]) or form.version.data == "beta"
    return redirect(oauth.login_uri_redirect(
        form.amazon_callback_uri.data, amazon_state=form.amazon_state.data, state=state,
        redirect_uri=_redirect_uri(), draft=draft,
    ))


# ---- step 3: Verify Seller ID ------------------------------------------------------------------------------

@bp.get(PREFIX + "/verify")
@manage
def verify() -> Response:
    """Show the Seller ID; the page checks it live with Amazon as soon as it loads (htmx)."""
    account = current_account()
    if (redirected := _guard(StepName.VERIFY, account)) is not None:
        return redirected
    context = _page_context(account, StepName.VERIFY)
    if context["connection"].pending_selling_partner_id:
        return redirect(url_for("connect.confirm_seller"))
    return render_page("connect/verify", **context, result=stored_check(context["connection"]),
                       form=EmptyForm(), live=True)


@bp.post(PREFIX + "/verify")
@manage
def verify_check() -> Response:
    """Check the seller with the Sellers API now; answer the result fragment, or redirect without htmx."""
    account = current_account()
    if (redirected := _guard(StepName.VERIFY, account)) is not None:
        return redirected
    connection = connection_for(get_session(), account.id or 0)
    assert connection is not None  # the guard guarantees a refresh token
    result = verify_seller(get_session(), connection, amazon=get_amazon(), cipher=get_cipher())
    if not htmx:
        return redirect(url_for("connect.verify"))
    context = _page_context(account, StepName.VERIFY)
    response = make_response(render_template("partial/connect/verify_check.html", **context, result=result,
                                              form=EmptyForm(), live=False))
    response.headers["Vary"] = "HX-Request"
    return response


# ---- a different seller came back: confirm or cancel -------------------------------------------------------

@bp.get(PREFIX + "/confirm-seller")
@manage
def confirm_seller() -> Response | str:
    """Warn that the re-authorization came back with a different seller and ask before replacing it."""
    account = current_account()
    connection = connection_for(get_session(), account.id or 0)
    if connection is None or not connection.pending_selling_partner_id:
        return redirect(url_for("connect.index"))
    return render_template("connect/confirm_seller.html", connection=connection, form=EmptyForm(), tips=tips,
                           problem=None)


@bp.post(PREFIX + "/confirm-seller")
@manage
def confirm_seller_post() -> Response | tuple[str, int]:
    """Replace the stored seller with the new one; the settings stay."""
    account = current_account()
    connection = connection_for(get_session(), account.id or 0)
    if connection is None:
        return redirect(url_for("connect.index"))
    try:
        confirm_pending(get_session(), connection, user_id=_user().id or 0)
    except SellerTaken:
        return render_template("connect/confirm_seller.html", connection=connection, form=EmptyForm(),
                               tips=tips, problem=CALLBACK_MESSAGES["seller_taken"]), 409
    return redirect(url_for("connect.verify"))


@bp.post(PREFIX + "/confirm-seller/cancel")
@manage
def cancel_seller_change() -> Response:
    """Keep the stored seller and discard the other seller's token."""
    account = current_account()
    connection = connection_for(get_session(), account.id or 0)
    if connection is not None:
        discard_pending(get_session(), connection)
    return redirect(url_for("connect.index"))


# ---- disconnect --------------------------------------------------------------------------------------------

@bp.get(PREFIX + "/disconnect")
@manage
def disconnect_confirm() -> Response | str:
    """Ask before forgetting the connection, and say what stays (settings) and what to do on Amazon."""
    account = current_account()
    connection = connection_for(get_session(), account.id or 0)
    if connection is None or not (connection.refresh_token_encrypted or connection.selling_partner_id):
        return redirect(url_for("connect.index"))
    return render_template("connect/disconnect.html", connection=connection, form=EmptyForm(), tips=tips)


@bp.post(PREFIX + "/disconnect")
@manage
def disconnect_post() -> Response:
    """Forget the tokens here; keep every setting."""
    account = current_account()
    connection = connection_for(get_session(), account.id or 0)
    if connection is not None:
        disconnect(get_session(), connection, amazon=get_amazon(), cipher=get_cipher())
        log.info("account %s disconnected Amazon (user %s)", account.id, _user().id)
    return redirect(url_for("connect.disconnected"))


@bp.get(PREFIX + "/disconnected")
@signed_in
def disconnected() -> str:
    """Confirm the disconnection and explain how to revoke access in Seller Central."""
    return render_template("connect/disconnected.html", tips=tips)
