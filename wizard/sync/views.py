"""The Sync page: the current run with its progress, the schedule, the history; and "Sync now".

Also provides, to every template, ``sync_summary(account_id)`` (the home page card) and
``sync_state(product)`` (the catalog's per-SKU result cell).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import Blueprint, current_app, flash, redirect, url_for
from sqlalchemy import func
from sqlmodel import Session, col, select
from werkzeug.wrappers import Response

from wizard.connect.steps import SETUP_INCOMPLETE, facts_for, ready_to_sync
from wizard.db import get_session
from wizard.extensions import htmx
from wizard.models import Connection, ConnectionStatus, listing_stats
from wizard.models.base import utcnow
from wizard.models.sync import (
    ACTIVE_RUN_STATUSES,
    BatchStatus,
    FeedBatch,
    ListingState,
    ListingStatus,
    RunStatus,
    SyncRun,
    SyncTrigger,
)
from wizard.reconcile import status as reconcile_status
from wizard.rendering import render_page
from wizard.security import current_account, manage, signed_in
from wizard.sync import dryrun, urgent
from wizard.text import plural
from wizard.wording import REACHES_AMAZON

bp = Blueprint("sync", __name__, url_prefix="/sync")

HISTORY_LENGTH = 20
#: What "Sync now" answers while Amazon needs a re-authorization (the page shows the button beside it).
REAUTHORIZE_TO_SYNC = ("Re-authorize to resume syncing: Amazon no longer accepts Ecommerce's access to your "
                       "seller account. Your settings are preserved, and the next sync catches up.")

#: Plain-language help for Amazon's issue codes and our own, shown next to a rejected SKU.
TIPS: dict[str, str] = {
    "4000001": "Amazon has no listing with this SKU. Create the listing in Seller Central with exactly this "
               "SKU, or correct the SKU in your catalog; Ecommerce sends it again on the next sync.",
    "4000003": "Amazon refused the value. Check the product's stock and price in your catalog.",
    "4000004": "Amazon does not accept this kind of change for this listing. Contact support if it persists.",
    "feed_fatal": "Amazon could not process the feed. Nothing to do: Ecommerce sends it again on the next "
                  "sync.",
    "feed_cancelled": "Amazon cancelled the feed. Nothing to do: Ecommerce sends it again on the next sync.",
    "not_sent": "Not sent because the Amazon connection needs attention. Re-authorize to resume updates.",
    "feed_refused": "Amazon refused the feed. Ecommerce sends it again on the next sync; contact support if "
                    "this keeps happening.",
}
DEFAULT_TIP = ("Amazon refused this update. Check the product in Seller Central; Ecommerce retries on the "
               "next sync.")


def tip_for(code: str | None) -> str:
    """Return the plain-language tip for an error code."""
    return TIPS.get(code or "", DEFAULT_TIP)


#: Amazon usually processes a feed in minutes; past this the merchant is told it is taking longer.
SLOW_FEED = timedelta(hours=1)
#: Amazon says feeds can take up to eight hours under load; past this something is wrong.
OVERDUE_FEED = timedelta(hours=12)


@dataclass
class Progress:
    """What the progress bar shows for one run."""

    run: SyncRun
    batches: list[FeedBatch]

    def waiting_since(self, now: datetime | None = None) -> timedelta | None:
        """Return how long the oldest feed still at Amazon has been waiting, or None if none is."""
        submitted = [b.submitted_at for b in self.batches
                     if b.status == BatchStatus.SUBMITTED and b.submitted_at is not None]
        return (now or utcnow()) - min(submitted) if submitted else None

    @property
    def slow(self) -> bool:
        """Return whether Amazon has taken longer than usual with a feed of this run."""
        waited = self.waiting_since()
        return waited is not None and waited >= SLOW_FEED

    @property
    def overdue(self) -> bool:
        """Return whether a feed has waited longer than Amazon's own worst case."""
        waited = self.waiting_since()
        return waited is not None and waited >= OVERDUE_FEED

    @property
    def active(self) -> bool:
        """Return whether the run is still going (the fragment keeps polling)."""
        return self.run.status in ACTIVE_RUN_STATUSES

    @property
    def steps_total(self) -> int:
        """Return the progress bar's maximum: each batch is submitted, then processed."""
        return max(1, 2 * self.run.batches_total)

    @property
    def steps_done(self) -> int:
        """Return how far the run got."""
        if self.run.status == RunStatus.DONE:
            return self.steps_total
        return min(self.steps_total, self.run.batches_submitted + self.run.batches_processed)

    @property
    def percent(self) -> int:
        """Return the progress in whole percent."""
        return round(100 * self.steps_done / self.steps_total)

    @property
    def label(self) -> str:
        """Return the sentence read out with the bar."""
        run = self.run
        if run.status == RunStatus.QUEUED:
            return "Queued: starting in a moment…"
        if run.status == RunStatus.PLANNING:
            return "Working out what changed since the last sync…"
        if run.status == RunStatus.DONE and run.batches_total == 0:
            return "Amazon was already up to date: nothing to send."
        if run.status == RunStatus.DONE:
            return (f"Done: {run.accepted_count:,} accepted, {run.rejected_count:,} rejected, "
                    f"in {plural(run.batches_total, 'feed')}.")
        if run.status == RunStatus.STOPPED:
            return "Stopped. " + (run.error or "")
        if run.status == RunStatus.FAILED:
            return "Failed. " + (run.error or "")
        return (f"{plural(run.changed_count, 'update')} in {plural(run.batches_total, 'feed')}: "
                f"{run.batches_submitted} sent to Amazon, "
                f"{run.batches_processed} processed.")


def progress_for(session: Session, run: SyncRun | None) -> Progress | None:
    """Return the progress of ``run`` with its batches."""
    if run is None:
        return None
    batches = list(session.exec(select(FeedBatch).where(FeedBatch.run_id == run.id)
                                .order_by(col(FeedBatch.seq))))
    return Progress(run=run, batches=batches)


def _latest_run(session: Session, account_id: int) -> SyncRun | None:
    return session.exec(select(SyncRun).where(SyncRun.account_id == account_id)
                        .order_by(col(SyncRun.id).desc())).first()


def _last_success(session: Session, account_id: int) -> SyncRun | None:
    return session.exec(select(SyncRun).where(SyncRun.account_id == account_id,
                                              SyncRun.status == RunStatus.DONE)
                        .order_by(col(SyncRun.id).desc())).first()


def next_scheduled_run(session: Session, account_id: int, interval: int) -> datetime | None:
    """Return when the next scheduled sync should start: the last run's start plus the interval."""
    last = session.exec(select(func.max(SyncRun.created_at)).where(SyncRun.account_id == account_id)).one()
    if last is None:
        return None
    due = last + timedelta(seconds=interval)
    return max(due, utcnow())


def sync_summary(account_id: int) -> dict[str, Any]:
    """Return what the home page shows about the sync of ``account_id``."""
    session = get_session()
    # Stored by the sync after each job (a GROUP BY of every SKU's state is the worker's job, not the page's).
    counts = {ListingStatus[name].value if name in ListingStatus.__members__ else name: n
              for name, n in listing_stats.counts(session.connection(), account_id).items()}
    connection = session.exec(select(Connection).where(Connection.account_id == account_id)).first()
    return {
        "latest": _latest_run(session, account_id),
        "last_success": _last_success(session, account_id),
        "accepted": int(counts.get("accepted", 0)),
        "rejected": int(counts.get("rejected", 0)),
        "pending": int(counts.get("pending", 0)),
        "paused": connection is not None and connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION,
    }


def sync_state(product: Any) -> ListingState | None:
    """Return the per-SKU sync result of a catalog product (an indexed lookup by account and SKU)."""
    return get_session().exec(select(ListingState).where(ListingState.account_id == product.account_id,
                                                         ListingState.sku == product.sku)).first()


@bp.app_context_processor
def _sync_helpers() -> dict[str, Any]:
    return {"sync_summary": sync_summary, "sync_state": sync_state, "sync_tip": tip_for}


def _page_context() -> dict[str, Any]:
    session = get_session()
    account = current_account()
    assert account.id is not None
    latest = _latest_run(session, account.id)
    history = list(session.exec(select(SyncRun).where(SyncRun.account_id == account.id)
                                .order_by(col(SyncRun.id).desc()).limit(HISTORY_LENGTH)))
    feed_ids: dict[int, list[str]] = {}
    if history:
        rows = session.exec(select(FeedBatch.run_id, FeedBatch.feed_id).where(
            col(FeedBatch.run_id).in_([r.id for r in history]),
            col(FeedBatch.feed_id).is_not(None)).order_by(col(FeedBatch.seq)))
        for run_id, feed_id in rows:
            # The query keeps only batches with a feed id; its column type still says ``str | None``.
            feed_ids.setdefault(run_id, []).append(cast(str, feed_id))
    connection = session.exec(select(Connection).where(Connection.account_id == account.id)).first()
    connected = connection is not None and connection.status == ConnectionStatus.CONNECTED
    setup_complete = ready_to_sync(facts_for(session, account))
    return {
        "account": account,
        "connection": connection,
        "progress": progress_for(session, latest),
        "history": history,
        "feed_ids": feed_ids,
        "last_success": _last_success(session, account.id),
        "next_run_at": next_scheduled_run(session, account.id, int(current_app.config["SYNC_INTERVAL"])),
        "interval_minutes": int(current_app.config["SYNC_INTERVAL"]) // 60,
        "setup_complete": setup_complete,
        "can_sync": connected and setup_complete,
        "paused": connection is not None and connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION,
        "amazon_counts": reconcile_status.counts(session, account.id),
        "price_drift": reconcile_status.price_drift(session, account.id),
        "check_waiting": dryrun.first_sync_waits(current_app.config, session, account.id),
        "urgent_stats": urgent.stats(session, account.id),
    }


@bp.get("/")
@signed_in
def index() -> Response:
    """Show the Sync page."""
    return render_page("sync/index", **_page_context())


@bp.get("/progress")
@signed_in
def progress() -> Response:
    """Return the progress fragment (it re-requests itself every second while the run is active)."""
    if not htmx:
        return redirect(url_for("sync.index"))
    session = get_session()
    account = current_account()
    assert account.id is not None
    return render_page("sync/progress", progress=progress_for(session, _latest_run(session, account.id)))


@bp.post("/now")
@manage
def sync_now() -> Response:
    """Start a sync of the signed-in account now ("Sync now")."""
    from jobs.queue import enqueue_sync, redis_connection

    account = current_account()
    assert account.id is not None
    connection = get_session().exec(select(Connection).where(Connection.account_id == account.id)).first()
    if connection is not None and connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION:
        flash(REAUTHORIZE_TO_SYNC, "danger")
        return redirect(url_for("sync.index"))
    if connection is None or connection.status != ConnectionStatus.CONNECTED:
        flash("Connect your Amazon account first: there is nowhere to send updates yet.", "danger")
        return redirect(url_for("sync.index"))
    session = get_session()
    if not ready_to_sync(facts_for(session, account)):
        flash(SETUP_INCOMPLETE, "danger")
        return redirect(url_for("sync.index"))
    if session.exec(select(SyncRun).where(SyncRun.account_id == account.id,
                                          col(SyncRun.status).in_(ACTIVE_RUN_STATUSES))).first() is not None:
        # The running sync already sends everything that changed; a second one would send nothing new.
        flash("A sync is already running. Its progress shows below; changes made since it started go in the "
              "next one.", "info")
        return redirect(url_for("sync.index"))
    # Recorded now, so the page shows it (and polls) before a worker picks the job up.
    session.add(SyncRun(account_id=account.id, trigger=SyncTrigger.MANUAL, status=RunStatus.QUEUED))
    session.commit()
    redis = redis_connection(current_app.config["REDIS_URL"])
    try:
        enqueue_sync(account.id, "manual", connection=redis)
    finally:
        redis.close()
    flash(f"Sync started. Progress shows below. {REACHES_AMAZON}",
          "success")
    return redirect(url_for("sync.index"))
