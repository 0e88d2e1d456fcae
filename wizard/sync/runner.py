"""The sync engine: plan, batch, submit and follow JSON_LISTINGS_FEED feeds for one account.

A run moves through ``planning → submitting → processing → done``. Every step is written to the database
(through :mod:`wizard.sync.ledger`) before the next one starts, so a worker killed at any moment is resumed by
the next job for the account (the cron runs every ``SYNC_INTERVAL``):

- a batch is recorded (with its SKUs' messages in ``listing_state``) before anything is sent;
- ``submitting`` is committed *before* ``createFeed``, and the ``feedId`` as soon as it comes back; a batch
  found in ``submitting`` is looked up with ``getFeeds`` before it is ever sent again, so no batch becomes
  two feeds;
- polling a feed and applying its report happen in one transaction.

Amazon being slow or throttling is normal operation: when the client runs out of retries, the run keeps every
batch as it is, records "Amazon is busy, retrying at HH:MM UTC" and asks for a follow-up job after a back-off
that doubles with each busy job in a row (:func:`busy_delay`).

:func:`run_account` takes the per-account lock (:mod:`wizard.sync.lock`) and runs a :class:`Syncer`. It
never builds the Flask app and never enqueues: it returns an :class:`Outcome` that says when to come back,
and the job in ``jobs/sync.py`` enqueues it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from sqlalchemy import select
from sqlmodel import col

from wizard.amazon.client import US_MARKETPLACE_ID, AmazonClient
from wizard.amazon.errors import AmazonError, AmazonRequestError, AmazonUnavailable, AuthorizationRevoked
from wizard.amazon.feeds import Feed, FeedsApi
from wizard.connect.service import mark_needs_reauthorization, seller_auth, usable
from wizard.connect.steps import SETUP_INCOMPLETE, facts_for, ready_to_sync
from wizard.crypto import TokenCipher
from wizard.db import session_scope
from wizard.logs import bind, log_context
from wizard.models import Account, AmazonSettings, Connection, ConnectionStatus
from wizard.models.base import utcnow
from wizard.models.sync import BatchStatus, FeedBatch, RunStatus, SyncRun
from wizard.reconcile import gate
from wizard.reconcile import status as reconcile_status
from wizard.reconcile.sweeps import Reconciler
from wizard.rules import Rules
from wizard.sync import dryrun, guard, ledger, urgent, zero
from wizard.sync import plan as sync_plan
from wizard.sync.lock import AccountLock
from wizard.tasks import (
    clear_soon_guard,
    request_full_sweep,
    request_incremental_sweep,
    request_lookups,
    request_urgent_pass,
)

log = logging.getLogger(__name__)

#: A follow-up job only continues an active run; it never starts a new one.
FOLLOW = "follow"
#: Look for a feed created this long before we marked its batch ``submitting`` (clocks differ).
CLOCK_SKEW = timedelta(minutes=5)
#: An uploaded document is re-used for createFeed while it is this young (Amazon keeps ids two days).
DOCUMENT_REUSE = timedelta(hours=24)
#: The busy back-off doubles per busy job in a row, up to this many times ``SYNC_RETRY_DELAY``.
BUSY_BACKOFF_CAP = 16
#: What the merchant reads when the connection stops being usable.
PAUSED = "Amazon updates are paused until you re-authorize Ecommerce."
REVOKED = ("Amazon no longer accepts Ecommerce's access to your seller account. Re-authorize to resume "
           "updates; nothing is lost.")


def busy_message(at: datetime) -> str:
    """Return the calm note shown on a run while Amazon is busy (``at`` is naive UTC)."""
    return (f"Amazon is busy, retrying at {at:%H:%M} UTC. Nothing is lost: every update waits here until "
            "Amazon takes it.")


class SyncStopped(Exception):  # noqa: N818 - a signal, not an error
    """The connection stopped being usable (or the lock was lost): stop at once."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class Outcome:
    """What a job did: a status word, and maybe a follow-up to schedule or an error to raise for RQ."""

    status: str
    follow_up_in: float | None = None
    error: Exception | None = None
    #: Another run was queued behind this one (e.g. "Set all my Amazon quantities to 0 first"): go on now.
    again: bool = False


def run_account(config: Mapping[str, Any], redis: Redis, account_id: int, trigger: str) -> Outcome:
    """Advance one account's sync under its lock; return ``Outcome("busy")`` if another job holds it."""
    lock = AccountLock(redis, account_id, ttl=int(config["SYNC_LOCK_TTL"]))
    if not lock.acquire():
        log.info("account %s: a sync is already running; this one is skipped", account_id)
        return Outcome("busy")
    try:
        with lock.keep_alive():
            try:
                syncer = Syncer(config, redis, account_id, lock=lock)
                outcome = syncer.run(trigger)
                while outcome.again:
                    outcome = syncer.run(FOLLOW)
                return outcome
            finally:
                # The home page shows stored counts: recompute them here, never per page view.
                reconcile_status.refresh(config["DATABASE_URL"], account_id)
    finally:
        lock.release()


def _busy_key(account_id: int) -> str:
    return f"sync:amazon-busy:{account_id}"


def busy_delay(redis: Redis, account_id: int, base: float) -> float:
    """Count one more busy job in a row for the account and return how long to wait before the next one."""
    streak = int(redis.incr(_busy_key(account_id)))
    redis.expire(_busy_key(account_id), 86400)
    return base * float(min(2 ** (streak - 1), BUSY_BACKOFF_CAP))


class Syncer:
    """Advance one account's sync as far as it can go now."""

    def __init__(self, config: Mapping[str, Any], redis: Redis, account_id: int, *,
                 client: AmazonClient | None = None, lock: AccountLock | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.redis = redis
        self.account_id = account_id
        self.client = client or AmazonClient.from_config(config, redis)
        self.feeds = FeedsApi(self.client, max_report_bytes=int(config["AMAZON_REPORT_MAX_BYTES"]))
        self.cipher = TokenCipher(config["TOKEN_ENCRYPTION_KEYS"])
        self.lock = lock
        self.sleep = sleep
        self.clock = clock
        self.limits = sync_plan.FeedLimits(max_messages=int(config["SYNC_FEED_MAX_MESSAGES"]))
        self.poll_initial = float(config["SYNC_POLL_INITIAL"])
        self.poll_max = float(config["SYNC_POLL_MAX"])
        self.poll_inline = float(config["SYNC_POLL_INLINE"])
        self.retry_delay = float(config["SYNC_RETRY_DELAY"])
        self.reconcile_first = bool(config["RECONCILE_BEFORE_SYNC"])
        self.lookup_max = int(config["RECONCILE_LOOKUP_MAX"])
        self._reads: bool | None = None
        #: The documents this job planned, kept for their upload (``_document``).
        self.spool = sync_plan.DocumentSpool()

    # -- entry point

    def run(self, trigger: str) -> Outcome:
        """Plan, submit and follow; return what happened."""
        try:
            return self._run(trigger)
        finally:
            self.spool.close()

    def _run(self, trigger: str) -> Outcome:
        with session_scope(self.config["DATABASE_URL"]) as session:
            self.session = session
            connection = self._connection()
            if connection is None or not usable(connection):
                ledger.stop_active_runs(session, self.account_id, PAUSED, "not_connected")
                return Outcome("not_connected")
            if zero.finish_interrupted(session, self.account_id, amazon=self.client, cipher=self.cipher):
                # The zeros were processed but the disconnection had not happened yet: finish it.
                return Outcome("disconnected")
            account = session.get(Account, self.account_id)
            if account is None or not ready_to_sync(facts_for(session, account)):
                ledger.stop_active_runs(session, self.account_id, SETUP_INCOMPLETE, "setup_incomplete")
                return Outcome("setup_incomplete")
            seller = seller_auth(connection, self.cipher)
            assert seller is not None  # usable() checked the seller and the token
            self.seller = seller
            run = ledger.active_run(session, self.account_id)
            if run is None and not ledger.has_unfinished_batches(session, self.account_id):
                if trigger == FOLLOW:
                    return Outcome("nothing_to_follow")
                if self.reconcile_first and not gate.first_full_sweep_done(session, self.account_id):
                    # Issue 10 §3: the first sync starts after the first full read of Amazon's listings,
                    # which enqueues it when done.
                    request_full_sweep(self.account_id, self.redis)
                    return Outcome("waiting_for_first_read")
                if dryrun.first_sync_waits(self.config, session, self.account_id):
                    # Issue 11 §3: Amazon's own dry run first; the merchant's "Start syncing" lets it go.
                    if dryrun.latest_check(session, self.account_id) is None:
                        dryrun.check_with_amazon(session, self.account_id, self.seller, self.client)
                    return Outcome("waiting_for_check")
                run = ledger.start_run(session, self.account_id, trigger)
                # Changes arriving from now on are not seen by this run's plan: they schedule the next one.
                clear_soon_guard(self.account_id, self.redis)
            if run is not None and run.status == RunStatus.QUEUED:
                ledger.begin(session, run)
                clear_soon_guard(self.account_id, self.redis)
            if run is not None:
                bind(run_id=run.id)  # every later line of this job names the run
            try:
                if (zero.is_zero_run(run) and run is not None
                        and run.status in (RunStatus.QUEUED, RunStatus.PLANNING)
                        and ledger.submitted_batches(session, self.account_id) and not self._follow()):
                    # A SKU in a feed still at Amazon cannot join the zeros: wait for that feed first.
                    return Outcome("processing", follow_up_in=self._next_poll_in())
                if run is not None and run.status in (RunStatus.QUEUED, RunStatus.PLANNING):
                    # The urgent lane never changes what Amazon holds while a feed is being planned.
                    with urgent.planning_lock(self.redis, self.account_id):
                        self._plan(run)
                if (run is not None and run.batches_submitted == 0 and run.batches_total > 0
                        and not zero.is_zero_run(run)):
                    # Issue 11 §2: the blast-radius guard (a zero run was confirmed by the merchant just now).
                    guard.check_run(session, self.config, run)
                if guard.waiting(session, self.account_id) is not None:
                    return Outcome("held")
                self._submit_pending()
                if not self._follow():
                    outcome = Outcome("processing", follow_up_in=self._next_poll_in())
                else:
                    if ledger.finish_processed_runs(session, self.account_id) and self._reads_amazon():
                        # Issue 10 §2: read back what changed on Amazon once a run's feeds are processed.
                        request_incremental_sweep(self.account_id, self.redis)
                    log.info("account %s: every feed is processed; the sync is done", self.account_id)
                    outcome = Outcome("done")
                    if run is not None and zero.disconnect_after(session, run, amazon=self.client,
                                                                 cipher=self.cipher):
                        log.info("account %s: quantities set to 0 on Amazon; disconnected as asked",
                                 self.account_id)
                    elif ledger.active_run(session, self.account_id) is not None:
                        # A run queued behind this one ("Set all my Amazon quantities to 0 first"): go on.
                        outcome = Outcome("done", again=True)
            except AuthorizationRevoked as exc:
                self._mark_needs_reauthorization(exc)
                ledger.stop_active_runs(session, self.account_id, REVOKED, "invalid_grant")
                return Outcome("stopped")
            except SyncStopped as exc:
                ledger.stop_active_runs(session, self.account_id, exc.message, exc.code)
                return Outcome("stopped")
            except AmazonUnavailable as exc:
                # Slow or throttling (the client's retries ran out): normal operation. Keep every batch as
                # it is, say when we try again, and come back after a back-off; never fail the job.
                session.rollback()
                delay = busy_delay(self.redis, self.account_id, self.retry_delay)
                log.info("account %s: Amazon is busy (%s); retrying in %.0f s", self.account_id, exc, delay)
                ledger.note_retry(session, self.account_id, busy_message(utcnow() + timedelta(seconds=delay)),
                                  ledger.BUSY_CODE)
                return Outcome("amazon_busy", follow_up_in=delay)
            except AmazonError as exc:
                # Amazon refused something we did not expect it to: keep every batch, tell the merchant,
                # retry soon, and let RQ record the error for the operator.
                session.rollback()
                ledger.note_retry(session, self.account_id,
                                  "Amazon did not answer as expected; Ecommerce will try again in a minute "
                                  f"and nothing is lost. ({exc.message[:300]})",
                                  exc.code or str(exc.status or ""))
                return Outcome("retrying", follow_up_in=self.retry_delay, error=exc)
            self.redis.delete(_busy_key(self.account_id))
            return outcome

    # -- connection

    def _connection(self) -> Connection | None:
        query = select(Connection).where(col(Connection.account_id) == self.account_id)
        return self.session.scalars(query).first()

    def _check_still_allowed(self) -> None:
        """Stop at once if the connection was revoked or disconnected meanwhile, or the lock was lost."""
        self.session.commit()  # end the read snapshot so we see other processes' writes
        status = self.session.scalar(select(col(Connection.status))
                                     .where(col(Connection.account_id) == self.account_id))
        if status != ConnectionStatus.CONNECTED:
            raise SyncStopped(PAUSED, str(status))
        if self.lock is not None and self.lock.lost:
            raise SyncStopped("This sync was taken over by another worker.", "lock_lost")

    def _mark_needs_reauthorization(self, exc: AuthorizationRevoked) -> None:
        self.session.rollback()
        connection = self._connection()
        if connection is not None:
            mark_needs_reauthorization(self.session, connection, "invalid_grant", exc.message)
        self.client.forget_access_token(self.seller)

    # -- planning

    def _plan(self, run: SyncRun) -> None:
        settings = self.session.get(AmazonSettings, self.account_id)
        rules = Rules.from_settings(settings)
        if self.reconcile_first and not zero.is_zero_run(run):
            # New catalog SKUs are looked up (20 a call) before they are ever sent.
            unchecked = gate.unchecked_skus(self.session, self.account_id)
            if unchecked:
                with log_context():  # the look-up's sweep id stays on the look-up's own lines
                    Reconciler(self.config, self.session, self.account_id, self.seller,
                               self.client).lookup(unchecked)
        changes: Iterable[tuple[str, int | None, int | None]]
        if zero.is_zero_run(run):
            changes = zero.zero_changes(self.session, self.account_id)
        else:
            leave_to_lane = urgent.left_to_lane(self.config, self.redis, self.account_id)
            changes = sync_plan.plan_changes(self.session, self.account_id, rules,
                                             only_on_amazon=self.reconcile_first, leave_to_lane=leave_to_lane)
            if leave_to_lane is not None and urgent.waiting_for_lane(self.session, self.account_id,
                                                                     leave_to_lane):
                request_urgent_pass(self.account_id, self.redis)  # whatever became of the pass asked for
        self.session.commit()
        seq = ledger.next_seq(self.session, run)
        # A run's SKUs are distinct, so none has a row yet when the account had none (its first sync).
        new_skus = not ledger.has_listing_state(self.session, self.account_id)
        for planned in sync_plan.batch_changes(self.seller.selling_partner_id, changes, self.limits):
            batch = ledger.write_batch(self.session, run, seq, planned, new_skus=new_skus)
            self.spool.keep(batch.id or 0, planned.content)
            seq += 1
            del planned  # its document is in the spool: do not hold it while the next feed is built
        del changes
        ledger.planned(self.session, run)
        log.info("run %s planned: %s changes in %s feeds", run.id, run.changed_count, run.batches_total)

    # -- submitting

    def _submit_pending(self) -> None:
        while True:
            batch = ledger.next_to_submit(self.session, self.account_id)
            if batch is None:
                return
            self._check_still_allowed()
            self._submit(batch)

    def _submit(self, batch: FeedBatch) -> None:
        if batch.status == BatchStatus.SUBMITTING:
            found = self._find_submitted_feed(batch)
            if found is not None:
                log.info("batch %s: createFeed had reached Amazon before the crash (feed %s)",
                         batch.id, found)
                ledger.record_submission(self.session, batch, found, first_poll_in=self.poll_initial)
                return
            ledger.reset_for_resend(self.session, batch, document_reusable=self._document_reusable(batch))
        if batch.status == BatchStatus.PLANNED or not self._document_reusable(batch):
            content = self._document(batch)
            upload = self.feeds.create_feed_document(self.seller, sync_plan.CONTENT_TYPE)
            ledger.reserve_document(self.session, batch, upload.feed_document_id)
            self.feeds.upload(upload, content, sync_plan.CONTENT_TYPE)
            ledger.mark_uploaded(self.session, batch)
        # From here on, createFeed may reach Amazon even if we never hear back: say so first.
        ledger.mark_submitting(self.session, batch)
        try:
            feed_id = self.feeds.create_feed(self.seller, batch.feed_document_id or "",
                                             feed_type=sync_plan.FEED_TYPE,
                                             marketplace_ids=[US_MARKETPLACE_ID])
        except AmazonRequestError as exc:
            # Amazon refused the feed outright (4xx): it was not created; do not loop on it. (Time-outs,
            # 5xx and throttles are AmazonUnavailable: the batch stays ``submitting`` and is looked up.)
            ledger.fail_batch(self.session, batch, BatchStatus.FATAL, exc.code or "feed_refused",
                              f"Amazon refused the feed: {exc.message}")
            return
        ledger.record_submission(self.session, batch, feed_id, first_poll_in=self.poll_initial)
        log.info("batch %s sent as feed %s (%s messages)", batch.id, feed_id, batch.message_count,
                 extra={"feed_id": feed_id})

    @staticmethod
    def _document_reusable(batch: FeedBatch) -> bool:
        """Return whether the uploaded document can still be submitted (Amazon keeps it two days)."""
        return (bool(batch.feed_document_id) and batch.uploaded_at is not None
                and utcnow() - batch.uploaded_at < DOCUMENT_REUSE)

    def _document(self, batch: FeedBatch) -> bytes:
        """Return the batch's document, checked byte for byte against the planned one.

        The document this job planned comes from the spool, if the batch still holds every one of its
        messages; any other is rebuilt from its messages in ``listing_state``.
        """
        content = self.spool.take(batch.id or 0)
        if (content is not None and sync_plan.sha256(content) == batch.content_sha256
                and ledger.messages_in_flight(self.session, batch.id or 0) == batch.message_count):
            return content
        rows = sync_plan.batch_messages(self.session, batch.id or 0)
        content = sync_plan.build_document(self.seller.selling_partner_id, rows)
        if sync_plan.sha256(content) != batch.content_sha256:
            raise RuntimeError(f"batch {batch.id}: its messages changed since it was planned; "
                               "refusing to send")
        return content

    def _find_submitted_feed(self, batch: FeedBatch) -> str | None:
        """Return the feed a crashed ``createFeed`` created for ``batch``, if Amazon has one."""
        since = (batch.submitting_at or batch.created_at) - CLOCK_SKEW
        known = ledger.known_feed_ids(self.session, self.account_id)
        feeds: list[Feed] = self.feeds.get_feeds(self.seller, feed_type=sync_plan.FEED_TYPE,
                                                 created_since=since)
        unknown = sorted((f for f in feeds if f.feed_id not in known),
                         key=lambda f: (f.created_time or datetime.min, f.feed_id))
        return unknown[0].feed_id if unknown else None

    # -- reading Amazon back (issue 10 §2)

    def _reads_amazon(self) -> bool:
        """Return whether the account's listings are read back (a full sweep was done: the cron's reads are
        on, and an incremental read has a start); asked once per job."""
        if self._reads is None:
            self._reads = gate.first_full_sweep_done(self.session, self.account_id)
        return self._reads

    def _read_back(self, skus: list[str]) -> None:
        """Look a processed feed's SKUs up on Amazon soon, so its asynchronous issues and live values show.

        Bounded: at most ``RECONCILE_LOOKUP_MAX`` SKUs a feed (``ledger.batch_skus``),
        ``RECONCILE_LOOKUP_CHUNK`` a job, one job every ``RECONCILE_LOOKUP_SPACING`` seconds. A feed of 25,000
        SKUs is then 25 calls spread over 25 s, not 1,250 at once; the rest of it is read by the incremental
        read enqueued when the run ends (every SKU the feed changed has a new ``lastUpdatedDate``).
        """
        if skus and self._reads_amazon():
            request_lookups(self.account_id, skus, self.redis,
                            chunk=int(self.config["RECONCILE_LOOKUP_CHUNK"]),
                            spacing=float(self.config["RECONCILE_LOOKUP_SPACING"]))

    # -- following

    def _follow(self) -> bool:
        """Poll submitted feeds with back-off; return True when none is left, False to continue later."""
        deadline = self.clock() + self.poll_inline
        while True:
            batches = ledger.submitted_batches(self.session, self.account_id)
            if not batches:
                return True
            now = utcnow()
            for batch in batches:
                if batch.next_poll_at is None or batch.next_poll_at <= now:
                    self._check_still_allowed()
                    self._poll(batch)
            wait = self._next_poll_in()
            if wait is None:
                continue
            if self.clock() + wait > deadline:
                return False
            self.sleep(wait)

    def _next_poll_in(self) -> float | None:
        first = ledger.next_poll_at(self.session, self.account_id)
        if first is None:
            return None
        return max(0.0, (first - utcnow()).total_seconds())

    def _poll(self, batch: FeedBatch) -> None:
        with log_context(feed_id=batch.feed_id):
            self._poll_feed(batch)

    def _poll_feed(self, batch: FeedBatch) -> None:
        feed = self.feeds.get_feed(self.seller, batch.feed_id or "")
        if not feed.finished:
            # Back off with the feed's age: quick feeds are seen quickly, hours-long ones every few minutes.
            age = (utcnow() - (batch.submitted_at or utcnow())).total_seconds()
            if age >= ledger.OVERDUE_FEED.total_seconds():
                # Amazon's own worst case is eight hours: past the overdue limit, an operator should look.
                log.error("OPERATOR: feed %s of account %s is still %s after %.1f hours", batch.feed_id,
                          self.account_id, feed.processing_status, age / 3600)
            ledger.schedule_poll(self.session, batch, min(self.poll_max, max(self.poll_initial, age / 4)))
            return
        if feed.processing_status == "DONE" and feed.result_feed_document_id:
            report = self.feeds.processing_report(self.seller, feed.result_feed_document_id)
            skus = ledger.batch_skus(self.session, batch.id or 0, limit=self.lookup_max)
            ledger.apply_report(self.session, batch, report.rejected(), report.summary)
            self._read_back(skus)
            log.info("feed %s processed: %s", batch.feed_id, batch.result_summary)
            return
        cancelled = feed.processing_status == "CANCELLED"
        message = ("Amazon cancelled this feed before processing it" if cancelled else
                   "Amazon could not process this feed (FATAL); its updates go again in the next run")
        ledger.fail_batch(self.session, batch, BatchStatus.CANCELLED if cancelled else BatchStatus.FATAL,
                          "feed_" + feed.processing_status.lower(), message)


__all__ = ["FOLLOW", "Outcome", "SyncStopped", "Syncer", "busy_delay", "busy_message", "run_account"]
