"""The wizard's step pages: 1 Prerequisites, 2 Grant Access (and its status poll), 3 Verify Seller ID.

Progress comes from the database (``wizard.connect.steps``); the session holds only the user id and
OAuth states.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, make_response, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from wizard.accounts.service import managers_of
from wizard.connect import oauth
from wizard.connect.forms import AcknowledgeForm, StartAuthorizationForm
from wizard.connect.service import connection_for, stored_check, verify_seller
from wizard.connect.steps import StepName
from wizard.connect.views.common import PREFIX, bp, guard, page_context, redirect_uri, signed_in_user
from wizard.db import get_session
from wizard.extensions import htmx
from wizard.forms import EmptyForm
from wizard.models import Connection
from wizard.models.base import utcnow
from wizard.rendering import render_page
from wizard.security import current_account, manage, signed_in
from wizard.services import get_amazon, get_cipher

# ---- step 1: prerequisites ---------------------------------------------------------------------------------

@bp.get(PREFIX + "/prerequisites")
@signed_in
def prerequisites() -> Response:
    """State what is needed; staff see why they cannot continue and whom to ask."""
    account = current_account()
    form = AcknowledgeForm()
    if account.prerequisites_acknowledged_at and not form.is_submitted():
        form.professional_plan.data = form.us_marketplace.data = True
    return render_page("connect/prerequisites", **page_context(account, StepName.PREREQUISITES), form=form,
                       managers=managers_of(get_session(), account.id or 0))


@bp.post(PREFIX + "/prerequisites")
@manage
def acknowledge() -> Response:
    """Record that an admin or manager confirmed the prerequisites, then go to Grant Access."""
    account = current_account()
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        return render_page("connect/prerequisites", status=400,
                           **page_context(account, StepName.PREREQUISITES), form=form,
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
    if (redirected := guard(StepName.GRANT_ACCESS, account)) is not None:
        return redirected
    context = page_context(account, StepName.GRANT_ACCESS)
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
    if (redirected := guard(StepName.GRANT_ACCESS, account)) is not None:
        return redirected
    form = StartAuthorizationForm()
    mode = form.mode.data if form.validate_on_submit() else oauth.TAB
    user = signed_in_user()
    state = oauth.issue_state(get_session(), session, user_id=user.id or 0, account_id=account.id or 0,
                              mode=mode or oauth.TAB)
    config = current_app.config
    return redirect(oauth.consent_url(config["AMAZON_SELLER_CENTRAL_URL"], config["AMAZON_APP_ID"], state,
                                      redirect_uri(), draft=bool(config["AMAZON_APP_DRAFT"])))


# ---- step 3: Verify Seller ID ------------------------------------------------------------------------------

@bp.get(PREFIX + "/verify")
@manage
def verify() -> Response:
    """Show the Seller ID; the page checks it live with Amazon as soon as it loads (htmx)."""
    account = current_account()
    if (redirected := guard(StepName.VERIFY, account)) is not None:
        return redirected
    context = page_context(account, StepName.VERIFY)
    if context["connection"].pending_selling_partner_id:
        return redirect(url_for("connect.confirm_seller"))
    return render_page("connect/verify", **context, result=stored_check(context["connection"]),
                       form=EmptyForm(), live=True)


@bp.post(PREFIX + "/verify")
@manage
def verify_check() -> Response:
    """Check the seller with the Sellers API now; answer the result fragment, or redirect without htmx."""
    account = current_account()
    if (redirected := guard(StepName.VERIFY, account)) is not None:
        return redirected
    connection = connection_for(get_session(), account.id or 0)
    assert connection is not None  # the guard guarantees a refresh token
    result = verify_seller(get_session(), connection, amazon=get_amazon(), cipher=get_cipher())
    if not htmx:
        return redirect(url_for("connect.verify"))
    context = page_context(account, StepName.VERIFY)
    response = make_response(render_template("partial/connect/verify_check.html", **context, result=result,
                                              form=EmptyForm(), live=False))
    response.headers["Vary"] = "HX-Request"
    return response
