"""The sync job: plan, batch, submit and follow JSON_LISTINGS_FEED feeds for one account.

A run moves through ``planning → submitting → processing → done``. Every step is written to the database
before the next one starts, so a worker killed at any moment is resumed by the next job for the account
(the cron runs every ``SYNC_INTERVAL``):

- a batch is recorded (with its SKUs' messages in ``listing_state``) before anything is sent;
- ``submitting`` is committed *before* ``createFeed``, and the ``feedId`` as soon as it comes back; a batch
  found in ``submitting`` is looked up with ``getFeeds`` before it is ever sent again, so no batch becomes
  two feeds;
- polling a feed and applying its report happen in one transaction.

One job per account runs at a time (a Redis lock with an expiry, renewed while the job runs), whatever the
number of workers or cron processes. Jobs never build the Flask app: they read the configuration from the
environment and open their own database session.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from redis import Redis
from sqlalchemy import func, select, update
from sqlmodel import col

from jobs.queue import clear_soon_guard, enqueue_sync, redis_connection, request_full_sweep
from wizard.amazon.client import US_MARKETPLACE_ID, AmazonClient, RetryPolicy, SellerAuth, TokenCache
from wizard.amazon.errors import AmazonError, AmazonRequestError, AmazonUnavailable, AuthorizationRevoked
from wizard.amazon.feeds import Feed, FeedsApi
from wizard.amazon.ratelimit import RedisTokenBuckets
from wizard.config import from_environment
from wizard.connect.steps import SETUP_INCOMPLETE, facts_for, ready_to_sync
from wizard.crypto import TokenCipher
from wizard.db import session_scope, table_of
from wizard.models import Account, AmazonSettings, Connection, ConnectionStatus, listing_stats
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
from wizard.reconcile import gate
from wizard.reconcile.sweeps import Reconciler
from wizard.rules import Rules
from wizard.sync import dryrun, guard, urgent
from wizard.sync import plan as sync_plan

log = logging.getLogger(__name__)

#: A feed still unfinished after this long is logged for operators (Amazon says up to eight hours).
FEED_OVERDUE = timedelta(hours=12)
#: A follow-up job only continues an active run; it never starts a new one.
FOLLOW = "follow"
#: Look for a feed created this long before we marked its batch ``submitting`` (clocks differ).
CLOCK_SKEW = timedelta(minutes=5)
#: An uploaded document is re-used for createFeed while it is this young (Amazon keeps ids two days).
DOCUMENT_REUSE = timedelta(hours=24)


# ---- the jobs ----------------------------------------------------------------------------------------------


def sync_account(account_id: int, trigger: str = SyncTrigger.CRON.value) -> str:
    """Run (or resume) the sync of one account; return what happened, for RQ's result."""
    config = from_environment()
    redis = redis_connection(config["REDIS_URL"])
    try:
        lock = AccountLock(redis, account_id, ttl=int(config["SYNC_LOCK_TTL"]))
        if not lock.acquire():
            log.info("account %s: a sync is already running; this one is skipped", account_id)
            return "busy"
        try:
            with lock.keep_alive():
                try:
                    outcome = Syncer(config, redis, account_id, lock=lock).run(trigger)
                finally:
                    # The home page shows stored counts: recompute them here, never per page view.
                    listing_stats.refresh(config["DATABASE_URL"], account_id)
        finally:
            lock.release()
        if outcome.follow_up_in is not None:
            enqueue_sync(account_id, FOLLOW, connection=redis, delay=max(1.0, outcome.follow_up_in))
        if outcome.error is not None:
            raise outcome.error
        return outcome.status
    finally:
        redis.close()


def enqueue_all_syncs() -> int:
    """Enqueue a sync for every connected account (the ``rq cron`` interval job); return how many."""
    config = from_environment()
    with session_scope(config["DATABASE_URL"]) as session:
        accounts = session.scalars(
            select(Account).join(Connection, col(Connection.account_id) == col(Account.id)).where(
                col(Connection.status) == ConnectionStatus.CONNECTED,
                col(Connection.refresh_token_encrypted).is_not(None),
                col(Connection.selling_partner_id).is_not(None),
            ).order_by(col(Account.id))
        ).all()
        # Rows read from the database always have an id; the ``is not None`` only narrows ``int | None``.
        account_ids = [account.id for account in accounts
                       if account.id is not None and ready_to_sync(facts_for(session, account))]
    redis = redis_connection(config["REDIS_URL"])
    try:
        for account_id in account_ids:
            enqueue_sync(account_id, SyncTrigger.CRON.value, connection=redis)
    finally:
        redis.close()
    return len(account_ids)


# ---- the per-account lock ----------------------------------------------------------------------------------

_EXTEND = ("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end "
           "return 0")
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class AccountLock:
    """One sync job per account at a time; the lock expires if its worker dies, and is renewed meanwhile."""

    def __init__(self, redis: Redis, account_id: int, *, ttl: int = 120) -> None:
        self.redis = redis
        self.key = f"sync:lock:{account_id}"
        self.token = uuid.uuid4().hex
        self.ttl = max(ttl, 3)
        self.lost = False

    def acquire(self) -> bool:
        """Take the lock if free."""
        return bool(self.redis.set(self.key, self.token, nx=True, ex=self.ttl))

    def extend(self) -> bool:
        """Push the expiry back; return False if the lock is no longer ours."""
        ok = bool(self.redis.eval(_EXTEND, 1, self.key, self.token, self.ttl))
        if not ok:
            self.lost = True
        return ok

    def release(self) -> None:
        """Let the next job in (only if the lock is still ours)."""
        try:
            self.redis.eval(_RELEASE, 1, self.key, self.token)
        except Exception:  # noqa: BLE001 - the lock expires by itself; never hide the job's own error
            log.warning("could not release %s; it expires in at most %ss", self.key, self.ttl)

    @contextmanager
    def keep_alive(self) -> Iterator[None]:
        """Renew the lock every third of its lifetime while the block runs (waits for Amazon can be long)."""
        stop = threading.Event()

        def _renew() -> None:
            while not stop.wait(self.ttl / 3):
                try:
                    if not self.extend():
                        return
                except Exception:  # noqa: BLE001 - Redis blipped; the next renewal tries again
                    log.warning("could not renew %s", self.key)

        thread = threading.Thread(target=_renew, name=f"renew-{self.key}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)


# ---- the run itself ----------------------------------------------------------------------------------------


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


class Syncer:
    """Advance one account's sync as far as it can go now."""

    def __init__(self, config: Mapping[str, Any], redis: Redis, account_id: int, *,
                 client: AmazonClient | None = None, lock: AccountLock | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.redis = redis
        self.account_id = account_id
        retry = RetryPolicy(attempts=int(config.get("AMAZON_RETRY_ATTEMPTS", 5)),
                            base_delay=float(config.get("AMAZON_RETRY_BASE_DELAY", 0.5)))
        # The worker's connection is opened without decode_responses, so get() returns bytes as TokenCache
        # says; redis-py's annotations cannot know that and say ``bytes | str | None``.
        self.client = client or AmazonClient.from_config(config, cache=cast(TokenCache, redis), retry=retry,
                                                         limiter=RedisTokenBuckets(redis))
        self.feeds = FeedsApi(self.client)
        self.cipher = TokenCipher(config["TOKEN_ENCRYPTION_KEYS"])
        self.lock = lock
        self.sleep = sleep
        self.clock = clock
        self.limits = sync_plan.FeedLimits(max_messages=int(config.get("SYNC_FEED_MAX_MESSAGES", 25_000)))
        self.poll_initial = float(config.get("SYNC_POLL_INITIAL", 5.0))
        self.poll_max = float(config.get("SYNC_POLL_MAX", 300.0))
        self.poll_inline = float(config.get("SYNC_POLL_INLINE", 120.0))
        self.retry_delay = float(config.get("SYNC_RETRY_DELAY", 60))
        self.reconcile_first = bool(config.get("RECONCILE_BEFORE_SYNC", True))

    # -- entry point

    def run(self, trigger: str) -> Outcome:
        """Plan, submit and follow; return what happened."""
        with session_scope(self.config["DATABASE_URL"]) as session:
            self.session = session
            connection = self._connection()
            if connection is None or not self._usable(connection):
                self._stop_active_runs("Amazon updates are paused until you re-authorize Ecommerce.",
                                       "not_connected")
                return Outcome("not_connected")
            account = session.get(Account, self.account_id)
            if account is None or not ready_to_sync(facts_for(session, account)):
                self._stop_active_runs(SETUP_INCOMPLETE, "setup_incomplete")
                return Outcome("setup_incomplete")
            self.seller = SellerAuth(connection.selling_partner_id or "",
                                     self.cipher.decrypt(connection.refresh_token_encrypted or ""))
            run = self._active_run()
            if run is None and not self._has_unfinished_batches():
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
                run = self._start_run(trigger)
            if run is not None and run.status == RunStatus.QUEUED:
                self._begin(run)
            try:
                if run is not None and run.status in (RunStatus.QUEUED, RunStatus.PLANNING):
                    # The urgent lane never changes what Amazon holds while a feed is being planned.
                    with urgent.planning_lock(self.redis, self.account_id):
                        self._plan(run)
                if run is not None and run.batches_submitted == 0 and run.batches_total > 0:
                    guard.check_run(session, self.config, run)  # issue 11 §2: the blast-radius guard
                if guard.waiting(session, self.account_id) is not None:
                    return Outcome("held")
                self._submit_pending()
                if not self._follow():
                    return Outcome("processing", follow_up_in=self._next_poll_in())
                self._finish_processed_runs()
                return Outcome("done")
            except AuthorizationRevoked as exc:
                self._mark_needs_reauthorization(exc)
                self._stop_active_runs("Amazon no longer accepts Ecommerce's access to your seller account. "
                                       "Re-authorize to resume updates; nothing is lost.", "invalid_grant")
                return Outcome("stopped")
            except SyncStopped as exc:
                self._stop_active_runs(exc.message, exc.code)
                return Outcome("stopped")
            except AmazonError as exc:
                # Amazon is unavailable or refused: keep every batch as it is, tell the merchant, retry soon.
                session.rollback()
                self._note_error(exc)
                return Outcome("retrying", follow_up_in=self.retry_delay, error=exc)

    # -- connection and runs

    def _connection(self) -> Connection | None:
        query = select(Connection).where(col(Connection.account_id) == self.account_id)
        return self.session.scalars(query).first()

    @staticmethod
    def _usable(connection: Connection) -> bool:
        return (connection.status == ConnectionStatus.CONNECTED and bool(connection.refresh_token_encrypted)
                and bool(connection.selling_partner_id))

    def _check_still_allowed(self) -> None:
        """Stop at once if the connection was revoked or disconnected meanwhile, or the lock was lost."""
        self.session.commit()  # end the read snapshot so we see other processes' writes
        status = self.session.scalar(select(col(Connection.status))
                                     .where(col(Connection.account_id) == self.account_id))
        if status != ConnectionStatus.CONNECTED:
            raise SyncStopped("Amazon updates are paused until you re-authorize Ecommerce.", str(status))
        if self.lock is not None and self.lock.lost:
            raise SyncStopped("This sync was taken over by another worker.", "lock_lost")

    def _active_run(self) -> SyncRun | None:
        return self.session.scalars(
            select(SyncRun).where(col(SyncRun.account_id) == self.account_id,
                                  col(SyncRun.status).in_(ACTIVE_RUN_STATUSES))
            .order_by(col(SyncRun.id))
        ).first()

    def _has_unfinished_batches(self) -> bool:
        return (self.session.scalar(
            select(func.count()).select_from(FeedBatch).where(
                col(FeedBatch.account_id) == self.account_id,
                col(FeedBatch.status).in_(_UNFINISHED))
        ) or 0) > 0

    def _start_run(self, trigger: str) -> SyncRun:
        try:
            kind = SyncTrigger(trigger)
        except ValueError:
            kind = SyncTrigger.CRON
        run = SyncRun(account_id=self.account_id, trigger=kind, status=RunStatus.PLANNING,
                      started_at=utcnow())
        self.session.add(run)
        self.session.commit()
        # Changes arriving from now on are not seen by this run's plan: let them schedule the next one.
        clear_soon_guard(self.account_id, self.redis)
        return run

    def _begin(self, run: SyncRun) -> None:
        """Start a run recorded as queued (by "Sync now")."""
        run.status = RunStatus.PLANNING
        run.started_at = utcnow()
        self.session.commit()
        clear_soon_guard(self.account_id, self.redis)

    def _stop_active_runs(self, message: str, code: str) -> None:
        """Stop the account's runs: unsent batches are cancelled (their SKUs go in the next run)."""
        self.session.rollback()
        now = utcnow()
        for batch in self.session.scalars(select(FeedBatch).where(
                col(FeedBatch.account_id) == self.account_id,
                col(FeedBatch.status).in_((BatchStatus.PLANNED, BatchStatus.UPLOADED)))):
            batch.status = BatchStatus.CANCELLED
            batch.processed_at = now
            batch.result_summary = "Not sent: " + message
            self._release(batch.id or 0, "not_sent", message)
        for run in self.session.scalars(select(SyncRun).where(
                col(SyncRun.account_id) == self.account_id,
                col(SyncRun.status).in_(ACTIVE_RUN_STATUSES))):
            run.status = RunStatus.STOPPED
            run.finished_at = now
            run.error = message
            run.error_code = code
        self.session.commit()

    def _mark_needs_reauthorization(self, exc: AuthorizationRevoked) -> None:
        self.session.rollback()
        connection = self._connection()
        if connection is not None:
            connection.status = ConnectionStatus.NEEDS_REAUTHORIZATION
            connection.last_error_code = "invalid_grant"
            connection.last_error_message = exc.message[:500]
            connection.updated_at = utcnow()
            self.session.commit()
        self.client.forget_access_token(self.seller)

    def _note_error(self, exc: AmazonError) -> None:
        run = self._active_run()
        if run is not None:
            run.error = ("Amazon did not answer as expected; Ecommerce will try again in a minute and "
                         f"nothing is lost. ({exc.message[:300]})")
            run.error_code = (exc.code or str(exc.status or ""))[:80] or None
            self.session.commit()

    # -- planning

    def _plan(self, run: SyncRun) -> None:
        settings = self.session.get(AmazonSettings, self.account_id)
        rules = Rules.from_settings(settings)
        if self.reconcile_first:
            # New catalog SKUs are looked up (20 a call) before they are ever sent.
            unchecked = gate.unchecked_skus(self.session, self.account_id)
            if unchecked:
                Reconciler(self.config, self.session, self.account_id, self.seller,
                           self.client).lookup(unchecked)
        changes = sync_plan.plan_changes(self.session, self.account_id, rules,
                                         only_on_amazon=self.reconcile_first)
        self.session.commit()
        seq = self.session.scalar(select(func.coalesce(func.max(col(FeedBatch.seq)), 0))
                                  .where(col(FeedBatch.run_id) == run.id)) or 0
        for planned in sync_plan.batch_changes(self.seller.selling_partner_id, changes, self.limits):
            seq += 1
            self._write_batch(run, seq, planned)
        del changes
        pending = run.batches_total > run.batches_submitted
        run.status = RunStatus.SUBMITTING if pending else RunStatus.PROCESSING
        run.planned_at = utcnow()
        self.session.commit()

    def _write_batch(self, run: SyncRun, seq: int, planned: sync_plan.PlannedBatch) -> None:
        """Record one batch and its messages in one transaction."""
        batch = FeedBatch(run_id=run.id or 0, account_id=self.account_id, seq=seq, status=BatchStatus.PLANNED,
                          message_count=planned.message_count, content_sha256=planned.content_sha256,
                          size_bytes=planned.size_bytes)
        self.session.add(batch)
        self.session.flush()
        # One row per SKU through the driver's executemany: the hot path of a first sync of a million SKUs.
        dialect = self.session.get_bind().dialect
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        columns = ("account_id", "sku", "status", "inflight_batch_id", "inflight_message_id",
                   "inflight_quantity", "inflight_price_cents")
        # Built from the constant column names above only; every value goes through a bound parameter.
        insert = (f"INSERT INTO listing_state ({', '.join(columns)}) "  # noqa: S608
                  f"VALUES ({', '.join([mark] * len(columns))}) ON CONFLICT (account_id, sku) DO ")
        upsert = insert + "UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in columns[2:])
        # Raw SQL skips the Enum type: write the name it stores (what the ORM reads back), not the value.
        pending, batch_id = ListingStatus.PENDING.name, batch.id
        params = [(self.account_id, sku, pending, batch_id, message_id, quantity, price)
                  for message_id, sku, quantity, price in planned.rows]
        connection = self.session.connection()
        # Most SKUs of a first sync have no row yet, and a plain insert costs SQLite less than an upsert.
        # If any row was there already, the upsert of every row gives exactly the upsert's result (the rows
        # just inserted get the same values again).
        inserted = -1
        if dialect.supports_sane_multi_rowcount:
            inserted = connection.exec_driver_sql(insert + "NOTHING", params).rowcount
        if inserted != len(params):
            connection.exec_driver_sql(upsert, params)
        run.batches_total += 1
        run.changed_count += planned.message_count
        self.session.commit()

    # -- submitting

    def _submit_pending(self) -> None:
        while True:
            batch = self.session.scalars(
                select(FeedBatch).where(col(FeedBatch.account_id) == self.account_id,
                                        col(FeedBatch.status).in_(_TO_SUBMIT))
                .order_by(col(FeedBatch.run_id), col(FeedBatch.seq))
            ).first()
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
                self._record_submitted(batch, found)
                return
            batch.status = BatchStatus.UPLOADED if self._document_reusable(batch) else BatchStatus.PLANNED
            self.session.commit()
        if batch.status == BatchStatus.PLANNED or not self._document_reusable(batch):
            content = self._document(batch)
            upload = self.feeds.create_feed_document(self.seller, sync_plan.CONTENT_TYPE)
            batch.feed_document_id = upload.feed_document_id
            self.session.commit()
            self.feeds.upload(upload, content, sync_plan.CONTENT_TYPE)
            batch.status = BatchStatus.UPLOADED
            batch.uploaded_at = utcnow()
            self.session.commit()
        # From here on, createFeed may reach Amazon even if we never hear back: say so first.
        batch.status = BatchStatus.SUBMITTING
        batch.submitting_at = utcnow()
        self.session.commit()
        try:
            feed_id = self.feeds.create_feed(self.seller, batch.feed_document_id or "",
                                             feed_type=sync_plan.FEED_TYPE,
                                             marketplace_ids=[US_MARKETPLACE_ID])
        except AmazonUnavailable:
            raise  # it may have reached Amazon: the batch stays ``submitting`` and is looked up on resume
        except AmazonRequestError as exc:
            if isinstance(exc, AuthorizationRevoked):
                raise
            # Amazon refused the feed outright (4xx): it was not created; do not loop on it.
            batch.status = BatchStatus.FATAL
            batch.processed_at = utcnow()
            batch.result_summary = f"Amazon refused the feed: {exc.message}"[:1000]
            self._release(batch.id or 0, exc.code or "feed_refused", exc.message)
            self._count_processed(batch, accepted=0, rejected=0)
            self.session.commit()
            return
        self._record_submitted(batch, feed_id)

    @staticmethod
    def _document_reusable(batch: FeedBatch) -> bool:
        """Return whether the uploaded document can still be submitted (Amazon keeps it two days)."""
        return (bool(batch.feed_document_id) and batch.uploaded_at is not None
                and utcnow() - batch.uploaded_at < DOCUMENT_REUSE)

    def _document(self, batch: FeedBatch) -> bytes:
        """Rebuild the batch's document from its messages and check it is byte for byte the planned one."""
        rows = sync_plan.batch_messages(self.session, batch.id or 0)
        content = sync_plan.build_document(self.seller.selling_partner_id, rows)
        if sync_plan.sha256(content) != batch.content_sha256:
            raise RuntimeError(f"batch {batch.id}: its messages changed since it was planned; "
                               "refusing to send")
        return content

    def _find_submitted_feed(self, batch: FeedBatch) -> str | None:
        """Return the feed a crashed ``createFeed`` created for ``batch``, if Amazon has one."""
        since = (batch.submitting_at or batch.created_at) - CLOCK_SKEW
        known = set(self.session.scalars(select(col(FeedBatch.feed_id)).where(
            col(FeedBatch.account_id) == self.account_id, col(FeedBatch.feed_id).is_not(None))))
        feeds: list[Feed] = self.feeds.get_feeds(self.seller, feed_type=sync_plan.FEED_TYPE,
                                                 created_since=since)
        unknown = sorted((f for f in feeds if f.feed_id not in known),
                         key=lambda f: (f.created_time or datetime.min, f.feed_id))
        return unknown[0].feed_id if unknown else None

    def _record_submitted(self, batch: FeedBatch, feed_id: str) -> None:
        now = utcnow()
        batch.feed_id = feed_id
        batch.status = BatchStatus.SUBMITTED
        batch.submitted_at = now
        batch.next_poll_at = now + timedelta(seconds=self.poll_initial)
        state = table_of(ListingState).c
        self.session.execute(
            update(table_of(ListingState)).where(state.inflight_batch_id == batch.id).values(
                sent_quantity=func.coalesce(state.inflight_quantity, state.sent_quantity),
                sent_price_cents=func.coalesce(state.inflight_price_cents, state.sent_price_cents),
                sent_at=now, status=ListingStatus.PENDING)
        )
        run = self.session.get(SyncRun, batch.run_id)
        if run is not None:
            run.batches_submitted += 1
            run.sent_count += batch.message_count
            if run.status == RunStatus.SUBMITTING and run.batches_submitted >= run.batches_total:
                run.status = RunStatus.PROCESSING
        self.session.commit()

    # -- following

    def _follow(self) -> bool:
        """Poll submitted feeds with back-off; return True when none is left, False to continue later."""
        deadline = self.clock() + self.poll_inline
        while True:
            batches = list(self.session.scalars(
                select(FeedBatch).where(col(FeedBatch.account_id) == self.account_id,
                                        col(FeedBatch.status) == BatchStatus.SUBMITTED)
                .order_by(col(FeedBatch.run_id), col(FeedBatch.seq))))
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
        first = self.session.scalar(select(func.min(col(FeedBatch.next_poll_at))).where(
            col(FeedBatch.account_id) == self.account_id, col(FeedBatch.status) == BatchStatus.SUBMITTED))
        if first is None:
            return None
        return max(0.0, (first - utcnow()).total_seconds())

    def _poll(self, batch: FeedBatch) -> None:
        feed = self.feeds.get_feed(self.seller, batch.feed_id or "")
        if not feed.finished:
            # Back off with the feed's age: quick feeds are seen quickly, hours-long ones every few minutes.
            age = (utcnow() - (batch.submitted_at or utcnow())).total_seconds()
            if age >= FEED_OVERDUE.total_seconds():
                # Amazon's own worst case is eight hours: past twelve, an operator should look.
                log.error("OPERATOR: feed %s of account %s is still %s after %.1f hours", batch.feed_id,
                          self.account_id, feed.processing_status, age / 3600)
            interval = min(self.poll_max, max(self.poll_initial, age / 4))
            batch.next_poll_at = utcnow() + timedelta(seconds=interval)
            self.session.commit()
            return
        if feed.processing_status == "DONE" and feed.result_feed_document_id:
            report = self.feeds.processing_report(self.seller, feed.result_feed_document_id)
            self._apply_report(batch, report.rejected(), report.summary)
        else:
            cancelled = feed.processing_status == "CANCELLED"
            message = ("Amazon cancelled this feed before processing it" if cancelled else
                       "Amazon could not process this feed (FATAL); its updates go again in the next run")
            batch.status = BatchStatus.CANCELLED if cancelled else BatchStatus.FATAL
            batch.processed_at = utcnow()
            batch.result_summary = message
            self._release(batch.id or 0, "feed_" + feed.processing_status.lower(), message)
            self._count_processed(batch, accepted=0, rejected=0)
            self.session.commit()

    def _apply_report(self, batch: FeedBatch, rejected: Mapping[int, Any],
                      summary: Mapping[str, Any]) -> None:
        """Mark rejected messages with Amazon's reason and the rest as accepted, in one transaction."""
        now = utcnow()
        state = table_of(ListingState).c
        table = table_of(ListingState)
        if rejected:
            self.session.execute(
                update(table).where(state.inflight_batch_id == batch.id,
                                    state.inflight_message_id == _param("message_id"))
                .values(status=ListingStatus.REJECTED, error_code=_param("code"),
                        error_message=_param("message"), inflight_batch_id=None, inflight_message_id=None,
                        inflight_quantity=None, inflight_price_cents=None),
                [{"message_id": message_id, "code": issue.code[:80], "message": issue.message[:1000]}
                 for message_id, issue in rejected.items()],
            )
        accepted = self.session.exec(
            update(table).where(state.inflight_batch_id == batch.id).values(
                accepted_quantity=func.coalesce(state.inflight_quantity, state.accepted_quantity),
                accepted_price_cents=func.coalesce(state.inflight_price_cents, state.accepted_price_cents),
                accepted_at=now, status=ListingStatus.ACCEPTED, error_code=None, error_message=None,
                inflight_batch_id=None, inflight_message_id=None, inflight_quantity=None,
                inflight_price_cents=None)
        ).rowcount
        batch.status = BatchStatus.DONE
        batch.processed_at = now
        batch.accepted_count = int(accepted or 0)
        batch.rejected_count = len(rejected)
        batch.result_summary = (f"{batch.accepted_count} accepted, {batch.rejected_count} rejected "
                                f"({int(summary.get('messagesProcessed', batch.message_count))} processed)")
        self._count_processed(batch, accepted=batch.accepted_count, rejected=batch.rejected_count)
        self.session.commit()

    def _release(self, batch_id: int, code: str, message: str) -> None:
        """Free a batch's SKUs without acceptance: the next run plans them again."""
        state = table_of(ListingState).c
        self.session.execute(
            update(table_of(ListingState)).where(state.inflight_batch_id == batch_id).values(
                status=ListingStatus.PENDING, error_code=code[:80], error_message=message[:1000],
                inflight_batch_id=None, inflight_message_id=None, inflight_quantity=None,
                inflight_price_cents=None)
        )

    def _count_processed(self, batch: FeedBatch, *, accepted: int, rejected: int) -> None:
        run = self.session.get(SyncRun, batch.run_id)
        if run is None:
            return
        run.batches_processed += 1
        run.accepted_count += accepted
        run.rejected_count += rejected
        if batch.status != BatchStatus.DONE and run.status not in (RunStatus.STOPPED, RunStatus.FAILED):
            run.error = batch.result_summary
            run.error_code = f"feed_{batch.status.value}"

    def _finish_processed_runs(self) -> None:
        now = utcnow()
        for run in self.session.scalars(select(SyncRun).where(
                col(SyncRun.account_id) == self.account_id,
                col(SyncRun.status).in_((RunStatus.SUBMITTING, RunStatus.PROCESSING)))):
            if run.batches_processed >= run.batches_total:
                run.status = RunStatus.DONE
                run.finished_at = now
                if run.error and not run.error_code:
                    run.error = None
        self.session.commit()


_UNFINISHED = (BatchStatus.PLANNED, BatchStatus.UPLOADED, BatchStatus.SUBMITTING, BatchStatus.SUBMITTED)
_TO_SUBMIT = (BatchStatus.PLANNED, BatchStatus.UPLOADED, BatchStatus.SUBMITTING)


def _param(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name)


__all__ = ["AccountLock", "Outcome", "SyncStopped", "Syncer", "enqueue_all_syncs", "sync_account"]
