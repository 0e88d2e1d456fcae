"""The Sync page: the current run with its progress, the schedule, the history; and "Sync now".

Also provides, to every template, ``sync_tip(code)`` and, until the catalog view passes the states it reads
with :func:`wizard.sync.ledger.states_for`, ``sync_state(product)`` (the catalog's per-SKU result cell).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from wizard.connect.service import connection_for, usable
from wizard.connect.steps import SETUP_INCOMPLETE, facts_for, ready_to_sync
from wizard.db import get_session, reads_only
from wizard.extensions import htmx
from wizard.models import ConnectionStatus
from wizard.models.base import utcnow
from wizard.models.sync import ListingState, SyncRun, SyncTrigger
from wizard.reconcile import status as reconcile_status
from wizard.rendering import render_fragment, render_page
from wizard.security import current_account, manage, signed_in
from wizard.sync import dryrun, ledger, rejections, urgent
from wizard.sync.progress import Progress, history_lines
from wizard.tasks import enqueue_sync
from wizard.wording import REACHES_AMAZON

bp = Blueprint("sync", __name__, url_prefix="/sync")

HISTORY_LENGTH = 20
#: Rejected SKUs of the last run listed on the Sync page; the rest are a link to the filtered catalog.
REJECTED_LISTED = 50
#: What "Sync now" answers while Amazon needs a re-authorization (the page shows the button beside it).
REAUTHORIZE_TO_SYNC = ("Re-authorize to resume syncing: Amazon no longer accepts Ecommerce's access to your "
                       "seller account. Your settings are preserved, and the next sync catches up.")

def tip_for(code: str | None) -> str:
    """Return the plain-language tip for an error code (the one table: ``wizard.sync.rejections``)."""
    return rejections.tip_for(code)


def progress_for(session: Session, run: SyncRun | None) -> Progress | None:
    """Return the progress of ``run`` with its batches."""
    if run is None:
        return None
    return Progress(run=run, batches=ledger.batches_of(session, run.id))


def next_scheduled_run(session: Session, account_id: int, interval: int) -> datetime | None:
    """Return when the next scheduled sync should start: the last run's start plus the interval."""
    last = ledger.last_run_created_at(session, account_id)
    if last is None:
        return None
    return max(last + timedelta(seconds=interval), utcnow())


def sync_state(product: Any) -> ListingState | None:
    """Return the per-SKU sync result of one catalog product.

    For a page of products, call :func:`wizard.sync.ledger.states_for` once in the view instead.
    """
    return ledger.state_of(get_session(), product.account_id, product.sku)


@bp.app_context_processor
def _sync_helpers() -> dict[str, Any]:
    return {"sync_state": sync_state, "sync_tip": tip_for}


def _history_before() -> int | None:
    """Return the history page's cursor (``?before=<run id>``), None for the newest page."""
    return request.args.get("before", type=int)


def _history_context(session: Session, account_id: int, before: int | None,
                     last_success: SyncRun | None) -> dict[str, Any]:
    """Return what the History card and "Last successful sync" (``last_success``) render (three bounded
    queries)."""
    page = ledger.history_page(session, account_id, before=before, limit=HISTORY_LENGTH)
    return {
        "history": history_lines(page.rows),
        "history_older": page.older,
        "history_first_page": before is None,
        "feed_ids": ledger.feed_ids_by_run(session, [row.id for row in page.rows
                                                     if isinstance(row, SyncRun)]),
        "last_success": last_success,
    }


def _page_context() -> dict[str, Any]:
    session = get_session()
    account = current_account()
    assert account.id is not None
    connection = connection_for(session, account.id)
    setup_complete = ready_to_sync(facts_for(session, account))
    latest, last_success = ledger.latest_and_last_success(session, account.id)
    return {
        "account": account,
        "connection": connection,
        # The card's run is the same ORM object as its History row (one session, one identity map).
        "progress": progress_for(session, latest),
        **_history_context(session, account.id, _history_before(), last_success),
        "next_run_at": next_scheduled_run(session, account.id, int(current_app.config["SYNC_INTERVAL"])),
        "interval_minutes": int(current_app.config["SYNC_INTERVAL"]) // 60,
        "setup_complete": setup_complete,
        "can_sync": usable(connection) and setup_complete,
        "paused": connection is not None and connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION,
        "amazon_counts": reconcile_status.counts(session, account.id),
        "price_drift": reconcile_status.price_drift(session, account.id),
        # A successful sync means a sync finished: no need to count checks and runs to know it.
        "check_waiting": last_success is None and dryrun.first_sync_waits(current_app.config, session,
                                                                          account.id),
        "urgent_stats": urgent.stats(session, account.id),
        "rejected": rejections.of_last_run(session, account.id, limit=REJECTED_LISTED),
    }


@bp.get("/")
@reads_only
@signed_in
def index() -> Response:
    """Show the Sync page (``?before=<run id>``: an older page of the history)."""
    return render_page("sync/index", **_page_context())


@bp.get("/history")
@reads_only
@signed_in
def history() -> Response:
    """Return one page of the History card for htmx; without htmx, the whole page at that history page."""
    before = _history_before()
    if not htmx:
        return redirect(url_for("sync.index", before=before))
    session = get_session()
    account = current_account()
    assert account.id is not None
    return render_fragment("sync/history", **_history_context(session, account.id, before,
                                                                 ledger.last_success(session, account.id)))


@bp.get("/progress")
@reads_only
@signed_in
def progress() -> Response:
    """Return the progress fragment (it re-requests itself every second while the run is active).

    With ``?history=1`` (the page shows the newest history), the same response carries the History card and
    "Last successful sync" as out-of-band swaps, read in the same request as the card: when the card says
    "Done", the history says so too.
    """
    if not htmx:
        return redirect(url_for("sync.index"))
    session = get_session()
    account = current_account()
    assert account.id is not None
    latest = ledger.latest_run(session, account.id)
    extra: dict[str, Any] = {"with_history": False}
    if request.args.get("history") == "1":
        history = _history_context(session, account.id, None, ledger.last_success(session, account.id))
        extra = {"with_history": True, **history}
    return render_page("sync/progress", progress=progress_for(session, latest), **extra)


@bp.post("/now")
@manage
def sync_now() -> Response:
    """Start a sync of the signed-in account now ("Sync now")."""
    account = current_account()
    assert account.id is not None
    session = get_session()
    connection = connection_for(session, account.id)
    if connection is not None and connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION:
        flash(REAUTHORIZE_TO_SYNC, "danger")
        return redirect(url_for("sync.index"))
    if not usable(connection):
        flash("Connect your Amazon account first: there is nowhere to send updates yet.", "danger")
        return redirect(url_for("sync.index"))
    if not ready_to_sync(facts_for(session, account)):
        flash(SETUP_INCOMPLETE, "danger")
        return redirect(url_for("sync.index"))
    if ledger.active_run(session, account.id) is not None:
        # The running sync already sends everything that changed; a second one would send nothing new.
        flash("A sync is already running. Its progress shows below; changes made since it started go in the "
              "next one.", "info")
        return redirect(url_for("sync.index"))
    ledger.queue_manual_run(session, account.id)
    enqueue_sync(account.id, SyncTrigger.MANUAL.value)
    flash(f"Sync started. Progress shows below. {REACHES_AMAZON}", "success")
    return redirect(url_for("sync.index"))
