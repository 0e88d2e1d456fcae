"""The sync ledger: every write to ``sync_run``, ``feed_batch`` and ``listing_state``, and the reads of them.

The web ("Sync now") and the worker (``wizard.sync.runner``) both record runs through these functions, so a
run's life is written in one place:

- :func:`queue_manual_run` or :func:`queue_zero_run` (web) or :func:`start_run` (worker) opens a run;
  :func:`begin` starts a queued one;
- :func:`write_batch` records a planned feed with its SKUs' messages before anything is sent;
- :func:`mark_uploaded`, :func:`mark_submitting` and :func:`record_submission` follow ``createFeed``;
- :func:`apply_report` (a processed feed), :func:`fail_batch` (refused, FATAL or CANCELLED) and
  :func:`release` (free SKUs without acceptance) close a batch, counted on its run by :func:`count_processed`;
- :func:`finish_processed_runs`, :func:`stop_active_runs` and :func:`note_retry` close or annotate runs.

Reads for pages: :func:`latest_run`, :func:`last_success`, :func:`history_page` (idle runs collapsed, keyset
pages), :func:`feed_ids_by_run`, :func:`summary` (the home card), :func:`states_for` (the catalog's
per-product cell, one query per page).

Every function takes the caller's session; those that write commit, so each step is durable before the next
one starts (a worker killed at any moment is resumed from here). Nothing here calls Amazon, opens Redis or
imports ``jobs``.

Enum columns store the member *names* (``'PENDING'``), as SQLAlchemy's ``Enum`` type does for the ORM. Core
statements given members are converted by the column type; the one driver-level statement here
(:func:`write_batch`) writes :data:`PENDING_STORED` for the same reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, exists, func, not_, select, update
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.orm import Session
from sqlmodel import col

from wizard.db import table_of
from wizard.models import listing_stats
from wizard.models.base import utcnow
from wizard.models.catalog import Product
from wizard.models.connection import Connection, ConnectionStatus
from wizard.models.sync import (
    ACTIVE_RUN_STATUSES,
    ZERO_THEN_DISCONNECT,
    BatchStatus,
    FeedBatch,
    ListingState,
    ListingStatus,
    RunStatus,
    SyncRun,
    SyncTrigger,
)
from wizard.sync import rejections
from wizard.sync.plan import MessageRow, PlannedBatch

#: Amazon usually processes a feed in minutes; past this the merchant is told it is taking longer.
SLOW_FEED = timedelta(hours=1)
#: Amazon says feeds can take up to eight hours under load; past this a feed is overdue: the merchant is
#: warned and operators are alerted. The one definition of "overdue" (page, fragment and worker log).
OVERDUE_FEED = timedelta(hours=12)

#: Batches Amazon has not finished with (or that were not sent yet).
UNFINISHED_BATCHES = (BatchStatus.PLANNED, BatchStatus.UPLOADED, BatchStatus.SUBMITTING,
                      BatchStatus.SUBMITTED)
#: Batches still to send: planned, uploaded, or caught between ``submitting`` and Amazon's answer.
TO_SUBMIT = (BatchStatus.PLANNED, BatchStatus.UPLOADED, BatchStatus.SUBMITTING)
#: ``sync_run.error_code`` of a run paused because Amazon was slow or throttling (cleared when it finishes).
BUSY_CODE = "amazon_busy"
#: How ``listing_state.status`` stores "pending" (the member name; see the module docstring).
PENDING_STORED = ListingStatus.PENDING.name


# ---- runs --------------------------------------------------------------------------------------------------


def active_run(session: Session, account_id: int) -> SyncRun | None:
    """Return the account's run that still has work to do (at most one), if any."""
    return session.scalars(
        select(SyncRun).where(col(SyncRun.account_id) == account_id,
                              col(SyncRun.status).in_(ACTIVE_RUN_STATUSES))
        .order_by(col(SyncRun.id))
    ).first()


def has_unfinished_batches(session: Session, account_id: int) -> bool:
    """Return whether some batch of the account is not finished (a run to resume)."""
    return (session.scalar(
        select(func.count()).select_from(FeedBatch).where(
            col(FeedBatch.account_id) == account_id, col(FeedBatch.status).in_(UNFINISHED_BATCHES))
    ) or 0) > 0


def queue_manual_run(session: Session, account_id: int) -> SyncRun:
    """Record a "Sync now" run as queued, unless a run is already active; return the run to show.

    Recorded before the job is enqueued, so the page shows it (and polls) before a worker picks it up.
    """
    run = active_run(session, account_id)
    if run is None:
        run = SyncRun(account_id=account_id, trigger=SyncTrigger.MANUAL, status=RunStatus.QUEUED)
        session.add(run)
        session.commit()
    return run


def queue_zero_run(session: Session, account_id: int) -> SyncRun:
    """Record "Set all my Amazon quantities to 0 first" as a queued run; return it (or the one already asked).

    It waits behind a run already active (runs are worked oldest first); the worker disconnects the account
    once Amazon has processed it (:mod:`wizard.sync.zero`).
    """
    run = session.scalars(select(SyncRun).where(
        col(SyncRun.account_id) == account_id, col(SyncRun.status).in_(ACTIVE_RUN_STATUSES),
        col(SyncRun.purpose) == ZERO_THEN_DISCONNECT)).first()
    if run is None:
        run = SyncRun(account_id=account_id, trigger=SyncTrigger.MANUAL, status=RunStatus.QUEUED,
                      purpose=ZERO_THEN_DISCONNECT)
        session.add(run)
        session.commit()
    return run


def start_run(session: Session, account_id: int, trigger: str) -> SyncRun:
    """Open a new run in ``planning`` for ``trigger`` (an unknown trigger counts as the schedule's)."""
    try:
        kind = SyncTrigger(trigger)
    except ValueError:
        kind = SyncTrigger.CRON
    run = SyncRun(account_id=account_id, trigger=kind, status=RunStatus.PLANNING, started_at=utcnow())
    session.add(run)
    session.commit()
    return run


def begin(session: Session, run: SyncRun) -> None:
    """Start planning a run recorded as queued (by "Sync now")."""
    run.status = RunStatus.PLANNING
    run.started_at = utcnow()
    session.commit()


def next_seq(session: Session, run: SyncRun) -> int:
    """Return the sequence number the run's next batch gets."""
    last = session.scalar(select(func.coalesce(func.max(col(FeedBatch.seq)), 0))
                          .where(col(FeedBatch.run_id) == run.id)) or 0
    return int(last) + 1


def planned(session: Session, run: SyncRun) -> None:
    """Record that planning is over: the run goes on to submit its batches (or to wait for them)."""
    run.status = RunStatus.SUBMITTING if run.batches_total > run.batches_submitted else RunStatus.PROCESSING
    run.planned_at = utcnow()
    session.commit()


def note_retry(session: Session, account_id: int, message: str, code: str | None) -> None:
    """Tell the merchant, on the active run, why it paused and when it goes on (nothing else changes)."""
    run = active_run(session, account_id)
    if run is not None:
        run.error = message[:1000]
        run.error_code = (code or "")[:80] or None
        session.commit()


def stop_active_runs(session: Session, account_id: int, message: str, code: str) -> None:
    """Stop the account's runs: unsent batches are cancelled and their SKUs released for the next run.

    Batches already at Amazon are left to finish: the next job follows them.
    """
    session.rollback()
    now = utcnow()
    for batch in session.scalars(select(FeedBatch).where(
            col(FeedBatch.account_id) == account_id,
            col(FeedBatch.status).in_((BatchStatus.PLANNED, BatchStatus.UPLOADED)))):
        batch.status = BatchStatus.CANCELLED
        batch.processed_at = now
        batch.result_summary = ("Not sent: " + message)[:1000]
        release(session, batch.id or 0, "not_sent", message)
    for run in session.scalars(select(SyncRun).where(
            col(SyncRun.account_id) == account_id, col(SyncRun.status).in_(ACTIVE_RUN_STATUSES))):
        run.status = RunStatus.STOPPED
        run.finished_at = now
        run.error = message[:1000]
        run.error_code = code[:80]
    session.commit()


def finish_processed_runs(session: Session, account_id: int) -> int:
    """Mark ``done`` every run of the account whose batches were all processed; return how many of them
    had feeds Amazon processed (the reconcile reads Amazon back after those)."""
    now = utcnow()
    with_feeds = 0
    for run in session.scalars(select(SyncRun).where(
            col(SyncRun.account_id) == account_id,
            col(SyncRun.status).in_((RunStatus.SUBMITTING, RunStatus.PROCESSING)))):
        if run.batches_processed >= run.batches_total:
            run.status = RunStatus.DONE
            run.finished_at = now
            with_feeds += run.batches_processed > 0
            if (run.error and not run.error_code) or run.error_code == BUSY_CODE:
                # A pause note ("Amazon is busy…") is history once the run is done.
                run.error = run.error_code = None
    session.commit()
    return with_feeds


# ---- batches -----------------------------------------------------------------------------------------------


def has_listing_state(session: Session, account_id: int) -> bool:
    """Return whether some SKU of the account has a ``listing_state`` row (none has before a first sync)."""
    state = table_of(ListingState).c
    return bool(session.scalar(select(exists().where(state.account_id == account_id))))


def write_batch(session: Session, run: SyncRun, seq: int, batch_plan: PlannedBatch, *,
                new_skus: bool = False) -> FeedBatch:
    """Record one planned batch and its SKUs' messages (``listing_state.inflight_*``), in one transaction.

    ``new_skus`` says that none of the batch's SKUs has a row yet (the account had none when its run was
    planned: :func:`has_listing_state`), so PostgreSQL may COPY them straight into the table; if one has a row
    after all, the batch is written as any other.
    """
    batch = FeedBatch(run_id=run.id or 0, account_id=run.account_id, seq=seq, status=BatchStatus.PLANNED,
                      message_count=batch_plan.message_count, content_sha256=batch_plan.content_sha256,
                      size_bytes=batch_plan.size_bytes)
    session.add(batch)
    session.flush()
    # One row per SKU through the driver (executemany, or COPY on PostgreSQL): the hot path of a first sync of
    # a million SKUs. listing_state has no foreign keys (checking them was half of this write): these rows'
    # account is the run's and their batch is the one flushed just above, in this transaction; keep it so.
    account_id, batch_id = run.account_id, batch.id or 0  # read once: each is an ORM attribute look-up
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _copy_in_flight(connection, account_id, batch_id, batch_plan.rows, new_skus=new_skus)
    else:
        _insert_in_flight(connection, account_id, batch_id, batch_plan.rows)
    run.batches_total += 1
    run.changed_count += batch_plan.message_count
    session.commit()
    return batch


#: The columns :func:`write_batch` writes, in its rows' order; the first two are the conflict key.
_IN_FLIGHT_COLUMNS = ("account_id", "sku", "status", "inflight_batch_id", "inflight_message_id",
                      "inflight_quantity", "inflight_price_cents")
# Built from the constant column names above only; every value goes through a bound parameter or COPY.
_IN_FLIGHT_NAMES = ", ".join(_IN_FLIGHT_COLUMNS)
_IN_FLIGHT_UPDATE = "UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _IN_FLIGHT_COLUMNS[2:])


def _insert_in_flight(connection: SAConnection, account_id: int, batch_id: int,
                      rows: Sequence[MessageRow]) -> None:
    """Write the rows with one ``INSERT … SELECT`` over the batch given as one JSON text (SQLite).

    SQLite's ``json_each`` reads the rows in C, in the array's (message) order, where executemany bound seven
    values a row from Python. The upsert of one statement handles rows one after the other, as executemany
    did, so a SKU given twice keeps its last message.
    """
    content = json.dumps(rows, separators=(",", ":"))  # [[message_id, sku, quantity, price], …]
    insert = (f"INSERT INTO listing_state ({_IN_FLIGHT_NAMES}) "  # noqa: S608
              "SELECT ?, value ->> 1, ?, ?, value ->> 0, value ->> 2, value ->> 3 FROM json_each(?) "
              "WHERE true ON CONFLICT (account_id, sku) DO ")
    params = (account_id, PENDING_STORED, batch_id, content)
    # Most SKUs of a first sync have no row yet, and a plain insert costs SQLite less than an upsert. If any
    # row was there already, the upsert of every row gives exactly the upsert's result (the rows just
    # inserted get the same values again).
    inserted = connection.exec_driver_sql(insert + "NOTHING", params).rowcount
    if inserted != len(rows):
        connection.exec_driver_sql(insert + _IN_FLIGHT_UPDATE, params)


#: COPY's text format: these characters of a value are written as escapes (``\\``, ``\t``, ``\n``, ``\r``).
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
#: COPY's text format: NULL.
_COPY_NULL = "\\N"


def _copy_text(account_id: int, batch_id: int, rows: Sequence[MessageRow]) -> str:
    """Return ``rows`` as COPY's text format, in the columns of ``_IN_FLIGHT_NAMES``.

    Formatted here, one f-string a row, rather than by psycopg's ``write_row`` (which adapts value by value,
    about 4 s of a million-row first sync). Catalog SKUs hold no control character, but SKUs of Amazon-only
    listings come from Amazon: a batch whose SKUs hold a character COPY reads specially has them escaped.
    """
    head, middle, null = f"{account_id}\t", f"\t{PENDING_STORED}\t{batch_id}\t", _COPY_NULL
    skus = "".join(map(itemgetter(1), rows))  # one C loop (a generator: 1.2 s of a profiled 1M sync)
    if any(c in skus for c in "\\\t\n\r"):
        rows = [(m, sku.translate(_COPY_ESCAPES), q, p) for m, sku, q, p in rows]
    return "".join([f"{head}{sku}{middle}{message_id}\t{null if quantity is None else quantity}\t"
                    f"{null if price is None else price}\n" for message_id, sku, quantity, price in rows])


def _copy_in_flight(connection: SAConnection, account_id: int, batch_id: int, rows: Sequence[MessageRow], *,
                    new_skus: bool) -> None:
    """Write the rows with COPY straight into ``listing_state`` when none of their SKUs has a row yet
    (``new_skus``), else with COPY into a temporary table and one upsert from it (PostgreSQL).

    ``bench/bench_bulk_writes.py``: the upsert takes about a third of executemany's time. The temporary
    table takes its column types from ``listing_state`` (the status enum included) and goes away at commit.
    Rows are inserted in message order, as executemany would insert them. One statement may not update a row
    twice, so a SKU given twice keeps its last message, as executemany's upserts one after the other would.
    """
    from psycopg.errors import UniqueViolation  # only PostgreSQL comes here

    last = {row[1]: row for row in rows}
    if len(last) != len(rows):
        rows = sorted(last.values(), key=lambda row: row[0])
    content = _copy_text(account_id, batch_id, rows)
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        if new_skus:
            # A first sync's SKUs have no row yet: COPY them straight into listing_state, PostgreSQL's
            # cheapest write (no temporary table, no upsert: 7 s of a million-SKU first sync). Should a SKU
            # have a row after all, the COPY fails on the unique key, the savepoint undoes it, and the upsert
            # below writes the batch as any other.
            cursor.execute("SAVEPOINT in_flight_copy")
            try:
                with cursor.copy(f"COPY listing_state ({_IN_FLIGHT_NAMES}) FROM STDIN") as copy:
                    copy.write(content)
            except UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT in_flight_copy")
            else:
                cursor.execute("RELEASE SAVEPOINT in_flight_copy")
                return
        cursor.execute(f"CREATE TEMPORARY TABLE planned_message ON COMMIT DROP AS "  # noqa: S608
                       f"SELECT {_IN_FLIGHT_NAMES} FROM listing_state WITH NO DATA")
        with cursor.copy(f"COPY planned_message ({_IN_FLIGHT_NAMES}) FROM STDIN") as copy:
            copy.write(content)
        cursor.execute(f"INSERT INTO listing_state ({_IN_FLIGHT_NAMES}) "  # noqa: S608
                       f"SELECT {_IN_FLIGHT_NAMES} FROM planned_message ORDER BY inflight_message_id "
                       f"ON CONFLICT (account_id, sku) DO {_IN_FLIGHT_UPDATE}")


def messages_in_flight(session: Session, batch_id: int) -> int:
    """Return how many SKUs still carry a message of the batch (fewer once it was released or cancelled)."""
    state = table_of(ListingState).c
    return int(session.scalar(select(func.count()).where(state.inflight_batch_id == batch_id)) or 0)


def next_to_submit(session: Session, account_id: int) -> FeedBatch | None:
    """Return the account's first batch still to send, in run and sequence order."""
    return session.scalars(
        select(FeedBatch).where(col(FeedBatch.account_id) == account_id, col(FeedBatch.status).in_(TO_SUBMIT))
        .order_by(col(FeedBatch.run_id), col(FeedBatch.seq))
    ).first()


def submitted_batches(session: Session, account_id: int) -> list[FeedBatch]:
    """Return the account's batches Amazon is processing, in run and sequence order."""
    return list(session.scalars(
        select(FeedBatch).where(col(FeedBatch.account_id) == account_id,
                                col(FeedBatch.status) == BatchStatus.SUBMITTED)
        .order_by(col(FeedBatch.run_id), col(FeedBatch.seq))))


def next_poll_at(session: Session, account_id: int) -> datetime | None:
    """Return when the account's next submitted batch is due to be polled, or None if none is at Amazon."""
    return session.scalar(select(func.min(col(FeedBatch.next_poll_at))).where(
        col(FeedBatch.account_id) == account_id, col(FeedBatch.status) == BatchStatus.SUBMITTED))


def known_feed_ids(session: Session, account_id: int) -> set[str]:
    """Return every feed id recorded for the account (to tell a crashed ``createFeed``'s feed apart)."""
    return {cast(str, feed_id) for feed_id in session.scalars(select(col(FeedBatch.feed_id)).where(
        col(FeedBatch.account_id) == account_id, col(FeedBatch.feed_id).is_not(None)))}


def reset_for_resend(session: Session, batch: FeedBatch, *, document_reusable: bool) -> None:
    """Put a batch found in ``submitting`` (no feed at Amazon) back to where it can be sent again."""
    batch.status = BatchStatus.UPLOADED if document_reusable else BatchStatus.PLANNED
    session.commit()


def reserve_document(session: Session, batch: FeedBatch, feed_document_id: str) -> None:
    """Record the feed document reserved for a batch, before its upload."""
    batch.feed_document_id = feed_document_id
    session.commit()


def mark_uploaded(session: Session, batch: FeedBatch) -> None:
    """Record that the batch's document is uploaded."""
    batch.status = BatchStatus.UPLOADED
    batch.uploaded_at = utcnow()
    session.commit()


def mark_submitting(session: Session, batch: FeedBatch) -> None:
    """Record, before calling ``createFeed``, that it may reach Amazon even if we never hear back."""
    batch.status = BatchStatus.SUBMITTING
    batch.submitting_at = utcnow()
    session.commit()


def record_submission(session: Session, batch: FeedBatch, feed_id: str, *, first_poll_in: float) -> None:
    """Record the feed Amazon created for a batch; its SKUs' in-flight values become the values sent."""
    now = utcnow()
    batch.feed_id = feed_id
    batch.status = BatchStatus.SUBMITTED
    batch.submitted_at = now
    batch.next_poll_at = now + timedelta(seconds=first_poll_in)
    state = table_of(ListingState).c
    session.execute(
        update(table_of(ListingState)).where(state.inflight_batch_id == batch.id).values(
            sent_quantity=func.coalesce(state.inflight_quantity, state.sent_quantity),
            sent_price_cents=func.coalesce(state.inflight_price_cents, state.sent_price_cents),
            sent_at=now, status=ListingStatus.PENDING)
    )
    run = session.get(SyncRun, batch.run_id)
    if run is not None:
        run.batches_submitted += 1
        run.sent_count += batch.message_count
        if run.status == RunStatus.SUBMITTING and run.batches_submitted >= run.batches_total:
            run.status = RunStatus.PROCESSING
    session.commit()


def schedule_poll(session: Session, batch: FeedBatch, in_seconds: float) -> None:
    """Record when to ask Amazon about a submitted batch again."""
    batch.next_poll_at = utcnow() + timedelta(seconds=in_seconds)
    session.commit()


def apply_report(session: Session, batch: FeedBatch, rejected: Mapping[int, Any],
                 summary: Mapping[str, Any]) -> None:
    """Apply a processing report in one transaction: rejected messages get Amazon's reason, the rest accepted.

    ``rejected`` maps message ids to an issue with ``code`` and ``message`` (``ReportIssue``). A rejection
    records its kind and when the SKU may go again (``wizard.sync.rejections``); an acceptance forgets both.
    """
    now = utcnow()
    table = table_of(ListingState)
    state = table.c
    if rejected:
        # Earlier rejections of these SKUs (few: a SKU rejected for good is not sent again), for the back-off.
        before = {message_id: (tries, window_at) for message_id, tries, window_at in session.execute(
            select(state.inflight_message_id, state.reject_tries, state.reject_window_at).where(
                state.inflight_batch_id == batch.id, state.reject_tries.is_not(None)))}
        params = []
        for message_id, issue in rejected.items():
            attempts = rejections.after_rejection(issue.code, *before.get(message_id, (None, None)), now)
            params.append({"message_id": message_id, "code": issue.code[:80],
                           "message": issue.message[:1000], "kind": attempts.kind.value,
                           "tries": attempts.tries, "window_at": attempts.window_at,
                           "retry_at": attempts.next_retry_at})
        session.execute(
            update(table).where(state.inflight_batch_id == batch.id,
                                state.inflight_message_id == bindparam("message_id"))
            .values(status=ListingStatus.REJECTED, error_code=bindparam("code"),
                    error_message=bindparam("message"), inflight_batch_id=None, inflight_message_id=None,
                    inflight_quantity=None, inflight_price_cents=None, reject_kind=bindparam("kind"),
                    reject_tries=bindparam("tries"), reject_window_at=bindparam("window_at"),
                    next_retry_at=bindparam("retry_at"), rejected_at=now, rejected_run_id=batch.run_id),
            params,
        )
    accepted = session.execute(  # an UPDATE's result is a CursorResult, which has a rowcount
        update(table).where(state.inflight_batch_id == batch.id).values(
            accepted_quantity=func.coalesce(state.inflight_quantity, state.accepted_quantity),
            accepted_price_cents=func.coalesce(state.inflight_price_cents, state.accepted_price_cents),
            accepted_at=now, status=ListingStatus.ACCEPTED, error_code=None, error_message=None,
            inflight_batch_id=None, inflight_message_id=None, inflight_quantity=None,
            inflight_price_cents=None, **rejections.CLEARED)
    ).rowcount  # type: ignore[attr-defined]
    batch.status = BatchStatus.DONE
    batch.processed_at = now
    batch.accepted_count = int(accepted or 0)
    batch.rejected_count = len(rejected)
    batch.result_summary = (f"{batch.accepted_count} accepted, {batch.rejected_count} rejected "
                            f"({int(summary.get('messagesProcessed', batch.message_count))} processed)")
    count_processed(session, batch, accepted=batch.accepted_count, rejected=batch.rejected_count)
    session.commit()


def batch_skus(session: Session, batch_id: int, *, limit: int) -> list[str]:
    """Return up to ``limit`` SKUs of a batch still in flight, in message order (read before its report)."""
    state = table_of(ListingState).c
    return list(session.scalars(select(state.sku).where(state.inflight_batch_id == batch_id)
                                .order_by(state.inflight_message_id).limit(limit)))


def fail_batch(session: Session, batch: FeedBatch, status: BatchStatus, code: str, message: str) -> None:
    """Close a batch Amazon refused, could not process or cancelled; its SKUs go again in the next run."""
    batch.status = status
    batch.processed_at = utcnow()
    batch.result_summary = message[:1000]
    release(session, batch.id or 0, code, message)
    count_processed(session, batch, accepted=0, rejected=0)
    session.commit()


def release(session: Session, batch_id: int, code: str, message: str) -> None:
    """Free a batch's SKUs without acceptance (in the caller's transaction): the next run plans them again."""
    state = table_of(ListingState).c
    session.execute(
        update(table_of(ListingState)).where(state.inflight_batch_id == batch_id).values(
            status=ListingStatus.PENDING, error_code=code[:80], error_message=message[:1000],
            inflight_batch_id=None, inflight_message_id=None, inflight_quantity=None,
            inflight_price_cents=None)
    )


def count_processed(session: Session, batch: FeedBatch, *, accepted: int, rejected: int) -> None:
    """Add a finished batch to its run's counts (in the caller's transaction)."""
    run = session.get(SyncRun, batch.run_id)
    if run is None:
        return
    run.batches_processed += 1
    run.accepted_count += accepted
    run.rejected_count += rejected
    if batch.status != BatchStatus.DONE and run.status not in (RunStatus.STOPPED, RunStatus.FAILED):
        run.error = batch.result_summary
        run.error_code = f"feed_{batch.status.value}"


# ---- reads for pages ---------------------------------------------------------------------------------------


def latest_run(session: Session, account_id: int) -> SyncRun | None:
    """Return the account's newest run."""
    return session.scalars(select(SyncRun).where(col(SyncRun.account_id) == account_id)
                           .order_by(col(SyncRun.id).desc())).first()


def last_success(session: Session, account_id: int) -> SyncRun | None:
    """Return the account's newest run that sent something and was processed (never an idle run)."""
    return session.scalars(select(SyncRun).where(col(SyncRun.account_id) == account_id,
                                                 col(SyncRun.status) == RunStatus.DONE,
                                                 col(SyncRun.sent_count) > 0)
                           .order_by(col(SyncRun.id).desc())).first()


@cache
def _newest_and_last_success() -> Select[SyncRun]:
    # Built once: the home page and the Sync page run it on every view.
    run, account = col(SyncRun.id), col(SyncRun.account_id) == bindparam("account_id")
    newest = select(func.max(run)).where(account).scalar_subquery()
    succeeded = select(func.max(run)).where(account, col(SyncRun.status) == RunStatus.DONE,
                                            col(SyncRun.sent_count) > 0).scalar_subquery()
    return select(SyncRun).where(run.in_([newest, succeeded]))


def latest_and_last_success(session: Session, account_id: int) -> tuple[SyncRun | None, SyncRun | None]:
    """Return :func:`latest_run` and :func:`last_success` in one query (the home card and the Sync page show
    both)."""
    runs = list(session.scalars(_newest_and_last_success(), {"account_id": account_id}))
    latest = max(runs, key=lambda r: r.id or 0, default=None)
    success = max((r for r in runs if r.status == RunStatus.DONE and r.sent_count > 0),
                  key=lambda r: r.id or 0, default=None)
    return latest, success


def idle_condition() -> ColumnElement[bool]:
    """Return the SQL test of an idle run: done, and it found nothing to send."""
    return and_(col(SyncRun.status) == RunStatus.DONE, col(SyncRun.batches_total) == 0,
                col(SyncRun.purpose).is_(None))


def is_idle(run: SyncRun) -> bool:
    """Return whether ``run`` is done and found nothing to send (the same test as :func:`idle_condition`)."""
    return run.status == RunStatus.DONE and run.batches_total == 0 and run.purpose is None


@dataclass(frozen=True)
class IdleStretch:
    """Consecutive runs that found nothing to send, shown as one history line."""

    count: int
    since: datetime
    until: datetime
    first_id: int
    last_id: int


#: One line of the history: a run, or a stretch of idle runs.
HistoryRow = SyncRun | IdleStretch


@dataclass(frozen=True)
class HistoryPage:
    """One page of the history, newest first, and the cursor of the next (older) page."""

    rows: list[HistoryRow]
    #: Pass as ``before`` for the older page; None on the last page.
    older: int | None


#: The history's cursor when there is none: above any run id (``sync_run.id`` is a 32-bit integer, and
#: PostgreSQL refuses a larger parameter for it).
_NO_CEILING = 2**31 - 1


@cache
def _busy_runs() -> Select[SyncRun]:
    # Built once, like the two statements below: the Sync page runs them on every view.
    return (select(SyncRun).where(col(SyncRun.account_id) == bindparam("account_id"), not_(idle_condition()),
                                  col(SyncRun.id) < bindparam("before"))
            .order_by(col(SyncRun.id).desc()).limit(bindparam("limit")))


@cache
def _idle_stretches() -> Select[Any]:
    runs = select(
        col(SyncRun.id).label("id"), col(SyncRun.created_at).label("created_at"),
        case((idle_condition(), 1), else_=0).label("idle"),
        func.sum(case((idle_condition(), 0), else_=1)).over(order_by=col(SyncRun.id).desc()).label("stretch"),
    ).where(col(SyncRun.account_id) == bindparam("account_id"), col(SyncRun.id) < bindparam("before"),
            col(SyncRun.id) > bindparam("floor")).subquery()
    return (select(runs.c.stretch, func.count(), func.min(runs.c.created_at), func.max(runs.c.created_at),
                   func.min(runs.c.id), func.max(runs.c.id))
            .where(runs.c.idle == 1).group_by(runs.c.stretch))


def history_page(session: Session, account_id: int, *, before: int | None, limit: int) -> HistoryPage:
    """Return at most ``limit`` history lines of runs older than run ``before``, idle stretches collapsed.

    Two queries, whatever the number of runs: the newest ``limit + 1`` runs that are not idle (keyset on
    ``(account_id, id)``), then the idle runs between them counted per stretch by the database (a window
    function numbers the stretches), so a week of idle runs is one aggregated line, never read row by row.
    """
    # No cursor: below every id; no floor: above every id (ids start at 1).
    window = {"account_id": account_id, "before": _NO_CEILING if before is None else before}
    busy = list(session.scalars(_busy_runs(), {**window, "limit": limit + 1}))
    floor = busy[limit].id if len(busy) > limit else None
    busy = busy[:limit]
    stretches: dict[int, IdleStretch] = {}
    for stretch, count, since, until, first_id, last_id in session.execute(
            _idle_stretches(), {**window, "floor": 0 if floor is None else floor}):
        stretches[int(stretch)] = IdleStretch(count=int(count), since=since, until=until,
                                              first_id=int(first_id), last_id=int(last_id))
    # Stretch k lies just above busy run k (newest first); stretch len(busy) lies below the last one.
    lines: list[HistoryRow] = []
    for index in range(len(busy) + 1):
        if index in stretches:
            lines.append(stretches[index])
        if index < len(busy):
            lines.append(busy[index])
    more = len(lines) > limit or floor is not None
    lines = lines[:limit]
    older = None
    if more and lines:
        last = lines[-1]
        older = last.first_id if isinstance(last, IdleStretch) else last.id
    return HistoryPage(rows=lines, older=older)


def history(session: Session, account_id: int, limit: int) -> list[SyncRun]:
    """Return the account's newest ``limit`` runs, newest first."""
    return list(session.scalars(select(SyncRun).where(col(SyncRun.account_id) == account_id)
                                .order_by(col(SyncRun.id).desc()).limit(limit)))


def batches_of(session: Session, run_id: int | None) -> list[FeedBatch]:
    """Return a run's batches in sequence order."""
    return list(session.scalars(select(FeedBatch).where(col(FeedBatch.run_id) == run_id)
                                .order_by(col(FeedBatch.seq))))


def feed_ids_by_run(session: Session, run_ids: Sequence[int | None]) -> dict[int, list[str]]:
    """Return the feed ids of the given runs' batches, per run, in sequence order (one query)."""
    found: dict[int, list[str]] = {}
    if not run_ids:
        return found
    rows = session.execute(select(col(FeedBatch.run_id), col(FeedBatch.feed_id)).where(
        col(FeedBatch.run_id).in_(run_ids), col(FeedBatch.feed_id).is_not(None)).order_by(col(FeedBatch.seq)))
    for run_id, feed_id in rows:
        # The query keeps only batches with a feed id; its column type still says ``str | None``.
        found.setdefault(run_id, []).append(cast(str, feed_id))
    return found


def last_run_created_at(session: Session, account_id: int) -> datetime | None:
    """Return when the account's newest run was recorded (the schedule counts from it)."""
    return session.scalar(_newest_run_created_at(), {"account_id": account_id})


@cache
def _newest_run_created_at() -> Select[datetime]:
    # Built once: the Sync page asks it on every view.
    return select(func.max(col(SyncRun.created_at))).where(col(SyncRun.account_id) == bindparam("account_id"))


def listing_counts(session: Session, account_id: int) -> dict[ListingStatus, int]:
    """Return how many SKUs are pending, accepted and rejected at Amazon (one grouped query)."""
    rows = session.execute(select(col(ListingState.status), func.count())
                           .where(col(ListingState.account_id) == account_id)
                           .group_by(col(ListingState.status)))
    counts = dict.fromkeys(ListingStatus, 0)
    for status, count in rows:
        counts[ListingStatus(status)] = int(count)
    return counts


@dataclass(frozen=True)
class Summary:
    """What the home page's sync card shows."""

    latest: SyncRun | None
    last_success: SyncRun | None
    accepted: int
    rejected: int
    pending: int
    #: The connection needs re-authorization: updates wait until the merchant renews it.
    paused: bool


def summary(session: Session, account_id: int, *, connection: Connection | None = None) -> Summary:
    """Return the home card's figures for ``account_id`` (four queries, whatever the catalog's size).

    The SKU counts are the ones the sync stores after each job (:mod:`wizard.models.listing_stats`), not a
    ``GROUP BY`` of every SKU's state per page view. A caller that already read the account's ``connection``
    passes it, saving the query of its status.
    """
    counts = dict.fromkeys(ListingStatus, 0)
    for name, count in listing_stats.counts(session.connection(), account_id).items():
        if name in ListingStatus.__members__:
            counts[ListingStatus[name]] = count
    status = connection.status if connection is not None else session.scalar(
        select(col(Connection.status)).where(col(Connection.account_id) == account_id))
    latest, success = latest_and_last_success(session, account_id)
    return Summary(latest=latest, last_success=success,
                   accepted=counts[ListingStatus.ACCEPTED], rejected=counts[ListingStatus.REJECTED],
                   pending=counts[ListingStatus.PENDING],
                   paused=status == ConnectionStatus.NEEDS_REAUTHORIZATION)


def state_of(session: Session, account_id: int, sku: str) -> ListingState | None:
    """Return the sync state of one SKU of the account (an indexed lookup)."""
    return session.scalars(select(ListingState).where(col(ListingState.account_id) == account_id,
                                                      col(ListingState.sku) == sku)).first()


def states_for(session: Session, account_id: int, product_ids: Iterable[int]) -> dict[int, ListingState]:
    """Return the sync state of each given product of the account, by product id, in ONE query.

    Products Amazon was never sent have no entry. The catalog view calls this once per page and hands
    the template ``states[product.id]``, instead of one query per row.
    """
    ids = list(product_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(col(Product.id), ListingState)
        .join(ListingState, (col(ListingState.account_id) == col(Product.account_id))
              & (col(ListingState.sku) == col(Product.sku)))
        .where(col(Product.account_id) == account_id, col(Product.id).in_(ids)))
    # Products read from the database always have an id; the cast only narrows ``int | None``.
    return {cast(int, product_id): state for product_id, state in rows}


__all__ = [
    "BUSY_CODE",
    "OVERDUE_FEED",
    "PENDING_STORED",
    "SLOW_FEED",
    "TO_SUBMIT",
    "UNFINISHED_BATCHES",
    "HistoryPage",
    "HistoryRow",
    "IdleStretch",
    "Summary",
    "active_run",
    "apply_report",
    "batches_of",
    "begin",
    "count_processed",
    "fail_batch",
    "feed_ids_by_run",
    "finish_processed_runs",
    "has_listing_state",
    "has_unfinished_batches",
    "history",
    "history_page",
    "idle_condition",
    "is_idle",
    "known_feed_ids",
    "last_run_created_at",
    "last_success",
    "latest_and_last_success",
    "latest_run",
    "listing_counts",
    "mark_submitting",
    "mark_uploaded",
    "next_poll_at",
    "next_seq",
    "next_to_submit",
    "note_retry",
    "planned",
    "queue_manual_run",
    "queue_zero_run",
    "record_submission",
    "release",
    "reserve_document",
    "reset_for_resend",
    "schedule_poll",
    "start_run",
    "state_of",
    "states_for",
    "stop_active_runs",
    "submitted_batches",
    "summary",
    "messages_in_flight",
    "write_batch",
]
