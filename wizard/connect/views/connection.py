"""The Amazon integration page and what it leads to: re-authorize, confirm a different seller, disconnect."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from wizard.accounts.service import managers_of
from wizard.connect import tips
from wizard.connect.service import (
    Check,
    SellerTaken,
    confirm_pending,
    connection_for,
    discard_pending,
    disconnect_and_restart,
    pending_seller_glance,
    probe_connection,
    usable,
)
from wizard.connect.steps import StepName, current_step, ready_to_sync
from wizard.connect.tips import CALLBACK_MESSAGES
from wizard.connect.views.common import PREFIX, bp, facts, page_context, signed_in_user, step_url
from wizard.db import get_session
from wizard.forms import EmptyForm
from wizard.models.base import utcnow
from wizard.models.sync import SyncTrigger
from wizard.rendering import render_page
from wizard.security import can_manage, current_account, manage, signed_in
from wizard.services import get_amazon, get_cipher
from wizard.sync import guard, ledger, zero
from wizard.tasks import enqueue_sync

log = logging.getLogger(__name__)


# ---- the Amazon integration page ---------------------------------------------------------------------------

@bp.get(PREFIX + "/")
@signed_in
def index() -> Response:
    """Show the connection's status, or send an admin or manager to the step they are at."""
    account = current_account()
    step = current_step(facts(account))
    if can_manage() and step in (StepName.PREREQUISITES, StepName.GRANT_ACCESS, StepName.VERIFY):
        connection = connection_for(get_session(), account.id or 0)
        if connection is not None and connection.pending_selling_partner_id:
            return redirect(url_for("connect.confirm_seller"))
        return redirect(step_url(step))
    return render_page("connect/index", **page_context(account, None), form=EmptyForm(),
                       managers=managers_of(get_session(), account.id or 0), now=utcnow())


@bp.post(PREFIX + "/check")
@manage
def check_now() -> Response:
    """Ask Amazon now whether the connection still works ("Check now"), as the hourly health probe does."""
    account = current_account()
    connection = connection_for(get_session(), account.id or 0)
    if connection is None or not connection.refresh_token_encrypted:
        return redirect(url_for("connect.index"))
    # Through the shared rate buckets, like every other Sellers API call (0.016 rps, burst 15).
    amazon = get_amazon()
    result = probe_connection(get_session(), connection, amazon=amazon, cipher=get_cipher())
    if result.check == Check.VERIFIED:
        flash("Checked just now: Amazon accepts the connection.", "success")
    elif result.check == Check.UNAVAILABLE:
        flash("Amazon did not answer just now. Nothing changed here; try again in a few minutes.", "info")
    else:
        flash("Checked just now: the connection needs your attention (see below).", "danger")
    return redirect(url_for("connect.index"))


# ---- re-authorize -----------------------------------------------------------------------------------------

@bp.post(PREFIX + "/reauthorize")
@manage
def reauthorize() -> Response:
    """Start a re-authorization: the same Grant Access flow, which keeps every setting."""
    return redirect(url_for("connect.grant_access"))


# ---- a different seller came back: confirm or cancel -------------------------------------------------------

@bp.get(PREFIX + "/confirm-seller")
@manage
def confirm_seller() -> Response | str:
    """Warn that the re-authorization came back with a different seller and ask before replacing it."""
    account = current_account()
    connection = connection_for(get_session(), account.id or 0)
    if connection is None or not connection.pending_selling_partner_id:
        return redirect(url_for("connect.index"))
    # No "needs re-authorization" banner over the question: the merchant is answering it right here.
    pending = pending_seller_glance(connection, amazon=get_amazon(), cipher=get_cipher())
    return render_template("connect/confirm_seller.html", connection=connection, form=EmptyForm(), tips=tips,
                           problem=None, banner=None, pending=pending)


@bp.post(PREFIX + "/confirm-seller")
@manage
def confirm_seller_post() -> Response | tuple[str, int]:
    """Replace the stored seller with the new one; the settings stay."""
    account = current_account()
    connection = connection_for(get_session(), account.id or 0)
    if connection is None:
        return redirect(url_for("connect.index"))
    try:
        confirm_pending(get_session(), connection, user_id=signed_in_user().id or 0)
    except SellerTaken:
        return render_template("connect/confirm_seller.html", connection=connection, form=EmptyForm(),
                               tips=tips, problem=CALLBACK_MESSAGES["seller_taken"], banner=None,
                               pending=pending_seller_glance(connection, amazon=get_amazon(),
                                                             cipher=get_cipher())), 409
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
    """Ask before forgetting the connection, and say what stays (settings) and what to do on Amazon.

    With ``?different=1`` this is "Use a different Amazon account": the same disconnect, then Step 1.
    """
    account = current_account()
    connection = connection_for(get_session(), account.id or 0)
    if connection is None or not (connection.refresh_token_encrypted or connection.selling_partner_id):
        return redirect(url_for("connect.index"))
    session = get_session()
    return render_template("connect/disconnect.html", connection=connection, form=EmptyForm(), tips=tips,
                           different=request.args.get("different") == "1",
                           managed=zero.managed_count(session, account.id or 0),
                           can_zero=usable(connection) and ready_to_sync(facts(account)),
                           held=guard.waiting(session, account.id or 0) is not None)


@bp.post(PREFIX + "/disconnect/zero-first")
@manage
def disconnect_zero_first() -> Response:
    """Send quantity 0 for every SKU Amazon accepted one for, then disconnect (once Amazon processed it)."""
    account = current_account()
    session = get_session()
    connection = connection_for(session, account.id or 0)
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("connect.disconnect_confirm"))
    if not (usable(connection) and ready_to_sync(facts(account))):
        flash("Ecommerce cannot reach Amazon right now, so it cannot set your quantities to 0. Re-authorize "
              "first, or disconnect and set them to 0 in Seller Central.", "danger")
        return redirect(url_for("connect.disconnect_confirm"))
    user = signed_in_user()
    hold = guard.waiting(session, account.id or 0)
    if hold is not None:
        # A run held for approval would keep the zeros waiting behind it; nothing of it was sent, and the
        # merchant now asks for 0 everywhere instead.
        guard.discard(session, hold, user.id, user.email)
    ledger.queue_zero_run(session, account.id or 0)
    enqueue_sync(account.id or 0, SyncTrigger.MANUAL.value)
    log.info("account %s asked to set every Amazon quantity to 0, then disconnect (user %s)", account.id,
             user.id)
    flash(tips.ZERO_FIRST_STARTED, "success")
    return redirect(url_for("sync.index"))


@bp.post(PREFIX + "/disconnect")
@manage
def disconnect_post() -> Response:
    """Forget the tokens here; keep every setting."""
    account = current_account()
    connection = connection_for(get_session(), account.id or 0)
    # The guide: after the wrong account, "start over from Step 1": Step 1 is confirmed again, for the next.
    if connection is not None:
        disconnect_and_restart(get_session(), account, connection, amazon=get_amazon(), cipher=get_cipher())
        log.info("account %s disconnected Amazon (user %s)", account.id, signed_in_user().id)
    else:
        account.prerequisites_acknowledged_at = None
        get_session().add(account)
        get_session().commit()
    if request.form.get("different") == "1":
        flash("Disconnected. Start over from Step 1, and sign in to Amazon as the seller account you want to "
              "connect. " + tips.REVOKE_HOW_TO, "info")
        return redirect(url_for("connect.prerequisites"))
    return redirect(url_for("connect.disconnected"))


@bp.get(PREFIX + "/disconnected")
@signed_in
def disconnected() -> str:
    """Confirm the disconnection and explain how to revoke access in Seller Central."""
    return render_template("connect/disconnected.html", tips=tips)
