"""Issue 11 pages: "Check with Amazon" (§3, Amazon's own dry run, then "Start syncing") and the sync the
blast-radius guard paused (§2: the numbers, 20 examples before → after, approve or discard; a banner on every
page for admins and managers)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, url_for
from sqlmodel import Session
from werkzeug.wrappers import Response

from wizard.amazon.errors import AmazonError, AuthorizationRevoked
from wizard.connect.steps import connection_of
from wizard.db import get_session
from wizard.models.guard import RunHold
from wizard.models.sync import SyncTrigger
from wizard.reconcile.runner import amazon_client, seller_for
from wizard.rendering import render_page
from wizard.rules import format_usd
from wizard.security import can_manage, current_account, current_user, manage, signed_in
from wizard.services import get_cipher, get_redis
from wizard.sync import dryrun, guard
from wizard.tasks import enqueue_sync

bp = Blueprint("check", __name__, url_prefix="/sync/check")


def _account() -> tuple[Session, int]:
    """Return the request's database session and the signed-in user's account id."""
    account = current_account()
    assert account.id is not None  # an account read from the database has an id
    return get_session(), account.id


@bp.get("/")
@signed_in
def index() -> Response:
    """Show the newest check's answers per SKU, and "Start syncing" / "Fix first"."""
    session, account_id = _account()
    check = dryrun.latest_check(session, account_id)
    return render_page("sync/check", check=check, results=dryrun.results_of(check) if check else [],
                       waiting=dryrun.first_sync_waits(current_app.config, session, account_id),
                       usd=format_usd)


@bp.post("/")
@manage
def run() -> Response:
    """Validate a sample of up to 20 SKUs with Amazon now (nothing changes on Amazon)."""
    session, account_id = _account()
    connection = connection_of(session, account_id)
    seller = seller_for(connection, get_cipher())
    if seller is None:
        flash("Connect your Amazon account first: there is nothing to check with yet.", "danger")
        return redirect(url_for("check.index"))
    user = current_user()
    try:
        check = dryrun.check_with_amazon(session, account_id, seller,
                                         amazon_client(current_app.config, get_redis()),
                                         user_id=user.id if user else None)
    except AuthorizationRevoked:
        flash("Amazon no longer accepts Ecommerce's access to your seller account. Re-authorize, then check "
              "again.", "danger")
        return redirect(url_for("check.index"))
    except AmazonError as exc:
        flash(f"Amazon did not answer the check. Try again in a minute. ({exc.message[:200]})", "danger")
        return redirect(url_for("check.index"))
    if check.invalid_count:
        flash(f"Amazon would refuse {check.invalid_count} of {check.invalid_count + check.valid_count} "
              "updates checked. The tips below say what to fix.", "warning")
    else:
        flash(f"Amazon would accept all {check.valid_count} updates checked. Nothing was changed on Amazon.",
              "success")
    return redirect(url_for("check.index"))


@bp.post("/start")
@manage
def start() -> Response:
    """Start syncing after reading the check's answers ("Start syncing")."""
    session, account_id = _account()
    check = dryrun.latest_check(session, account_id)
    if check is None:
        flash("Check with Amazon first: it takes a few seconds and changes nothing on Amazon.", "danger")
        return redirect(url_for("check.index"))
    user = current_user()
    dryrun.confirm(session, check, user.id if user else None)
    enqueue_sync(account_id, SyncTrigger.MANUAL.value)
    flash("Syncing started. Most changes appear on Amazon within 15 to 30 minutes.", "success")
    return redirect(url_for("sync.index"))


def held_run() -> RunHold | None:
    """Return the signed-in account's paused sync, for the banner admins and managers see (else None)."""
    user = current_user()
    if user is None or not can_manage():
        return None
    return guard.waiting(get_session(), user.account_id)


@bp.app_context_processor
def _held_run() -> dict[str, Any]:
    """Give every template :func:`held_run`; the layout calls it, fragments do not."""
    return {"held_run": held_run}


@bp.get("/held")
@signed_in
def held() -> Response:
    """Show the sync the guard paused: the numbers and 20 examples before → after."""
    session, account_id = _account()
    hold = guard.waiting(session, account_id)
    return render_page("sync/held", hold=hold, examples=guard.examples_of(hold) if hold else [],
                       usd=format_usd)


def _decide(approve: bool) -> Response:
    session, account_id = _account()
    hold = guard.waiting(session, account_id)
    if hold is None:
        flash("No sync is waiting for approval any more.", "info")
        return redirect(url_for("sync.index"))
    user = current_user()
    assert user is not None
    if approve:
        guard.approve(session, hold, user.id)
        enqueue_sync(account_id, SyncTrigger.MANUAL.value)
        flash("Approved: the sync is on its way to Amazon.", "success")
    else:
        guard.discard(session, hold, user.id, user.email)
        flash("Discarded: nothing was sent to Amazon. Correct the catalog or settings; the next sync sends "
              "what they say then.", "success")
    return redirect(url_for("sync.index"))


@bp.post("/held/approve")
@manage
def approve() -> Response:
    """Approve the paused sync: it runs."""
    return _decide(True)


@bp.post("/held/discard")
@manage
def discard() -> Response:
    """Discard the paused sync: nothing is sent, and who discarded it is recorded."""
    return _decide(False)
