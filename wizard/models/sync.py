"""Sync runs, their feed batches, and what Amazon was last sent and accepted per SKU.

Designed for catalogs of a million SKUs: the planner writes these with bulk ``insert`` statements and reads
them with plain column queries, never one ORM object per SKU. The database (not Redis) is the record of what
Amazon has, so a Redis restart loses nothing.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import NaiveDatetime
from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from wizard.models.base import utcnow


class SyncTrigger(StrEnum):
    """Why a run started."""

    CRON = "cron"
    MANUAL = "manual"
    CHANGE = "change"


class RunStatus(StrEnum):
    """Where a run is: planning → submitting → processing → done (or failed / stopped)."""

    QUEUED = "queued"
    PLANNING = "planning"
    SUBMITTING = "submitting"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"
    STOPPED = "stopped"

    @property
    def finished(self) -> bool:
        """Return whether the run will not change any more."""
        return self in (RunStatus.DONE, RunStatus.FAILED, RunStatus.STOPPED)


#: Runs that still have work to do; at most one per account.
ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.PLANNING, RunStatus.SUBMITTING, RunStatus.PROCESSING)


class BatchStatus(StrEnum):
    """One feed's life: planned → uploaded → submitting → submitted → done (or fatal / cancelled).

    ``submitting`` is written *before* ``createFeed`` is called: a batch found in it after a crash may or may
    not have reached Amazon, so it is looked up with ``getFeeds`` before anything is sent again.
    """

    PLANNED = "planned"
    UPLOADED = "uploaded"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    DONE = "done"
    FATAL = "fatal"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """Return whether Amazon finished with this feed."""
        return self in (BatchStatus.DONE, BatchStatus.FATAL, BatchStatus.CANCELLED)


class ListingStatus(StrEnum):
    """Per SKU: waiting for Amazon, accepted by Amazon, or rejected with Amazon's reason."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


#: ``sync_run.purpose`` of "Set all my Amazon quantities to 0 first", then disconnect.
ZERO_THEN_DISCONNECT = "zero_then_disconnect"


class SyncRun(SQLModel, table=True):
    """One sync of one account, updated per batch; the Sync page reads it."""

    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_account_status", "account_id", "status"),
                      # The history's keyset pages (newest first, per account).
                      Index("ix_sync_run_account_newest", "account_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    trigger: SyncTrigger = Field(default=SyncTrigger.CRON)
    status: RunStatus = Field(default=RunStatus.QUEUED)
    #: SKUs whose quantity or price differed from what Amazon last accepted.
    changed_count: int = 0
    #: Messages in feeds that Amazon received (createFeed answered).
    sent_count: int = 0
    accepted_count: int = 0
    rejected_count: int = 0
    batches_total: int = 0
    batches_submitted: int = 0
    batches_processed: int = 0
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    started_at: NaiveDatetime | None = None
    planned_at: NaiveDatetime | None = None
    finished_at: NaiveDatetime | None = None
    #: How many times the feeds were polled, for the back-off between polls.
    polls: int = 0
    #: What went wrong, in words a merchant understands; Amazon's code is kept in ``error_code``.
    error: str | None = Field(default=None, max_length=1000)
    error_code: str | None = Field(default=None, max_length=80)
    #: Why the run exists beyond its trigger: :data:`ZERO_THEN_DISCONNECT` sends quantity 0 for every SKU
    #: Amazon accepted a quantity for, then disconnects (issue 9 §9). None: a normal sync.
    purpose: str | None = Field(default=None, max_length=40)

    @property
    def duration_seconds(self) -> float | None:
        """Return how long the run took (or has taken so far)."""
        if self.started_at is None:
            return None
        return ((self.finished_at or utcnow()) - self.started_at).total_seconds()


class FeedBatch(SQLModel, table=True):
    """One JSON_LISTINGS_FEED document of a run, recorded before it is submitted."""

    __tablename__ = "feed_batch"
    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_feed_batch_run_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="sync_run.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    seq: int
    status: BatchStatus = Field(default=BatchStatus.PLANNED)
    message_count: int = 0
    #: SHA-256 of the document bytes; the document is rebuilt from ``listing_state`` byte for byte.
    content_sha256: str = Field(max_length=64)
    size_bytes: int = 0
    feed_document_id: str | None = Field(default=None, max_length=200)
    feed_id: str | None = Field(default=None, max_length=200, index=True)
    result_document_id: str | None = Field(default=None, max_length=200)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    uploaded_at: NaiveDatetime | None = None
    submitting_at: NaiveDatetime | None = None
    submitted_at: NaiveDatetime | None = None
    processed_at: NaiveDatetime | None = None
    next_poll_at: NaiveDatetime | None = None
    accepted_count: int = 0
    rejected_count: int = 0
    #: A short summary of the processing report (or why the feed failed).
    result_summary: str | None = Field(default=None, max_length=1000)


class ListingState(SQLModel, table=True):
    """Per SKU: what Amazon accepted last, what we sent last, and the message now in flight (if any).

    The message of an in-flight feed lives here (``inflight_*``), not in a table of its own: a first sync of
    a million SKUs then writes one row per SKU, not two. ``inflight_batch_id`` also guarantees a SKU is never
    in two feeds in flight at once: the planner skips SKUs that have one.

    ``account_id`` and ``inflight_batch_id`` have no foreign keys (migration 0016): PostgreSQL checked both
    of every row of a first sync with a trigger each, more than half the cost of writing a million rows. The
    code guarantees both references instead: :func:`wizard.sync.ledger.write_batch` alone inserts rows and
    sets ``inflight_batch_id``, with its run's account and the batch it has just flushed in the same
    transaction, and no code deletes an account or a feed batch.
    """

    __tablename__ = "listing_state"
    __table_args__ = (
        UniqueConstraint("account_id", "sku", name="uq_listing_state_account_sku"),
        Index("ix_listing_state_inflight", "inflight_batch_id", "inflight_message_id"),
        # Partial: only rejected SKUs are in it, so the million rows of a first sync cost it nothing, and the
        # pages count and list the rejected SKUs without reading the catalog (wizard.sync.rejections).
        Index("ix_listing_state_rejected", "account_id", "rejected_run_id",
              sqlite_where=text("rejected_at IS NOT NULL"), postgresql_where=text("rejected_at IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    #: An ``account`` id: no foreign key, see the class docstring.
    account_id: int
    sku: str = Field(max_length=40)
    #: What Amazon last accepted; None until it accepted that attribute once.
    accepted_quantity: int | None = None
    accepted_price_cents: int | None = None
    accepted_at: NaiveDatetime | None = None
    #: The last values sent (kept after acceptance or rejection, for the catalog page).
    sent_quantity: int | None = None
    sent_price_cents: int | None = None
    sent_at: NaiveDatetime | None = None
    status: ListingStatus = Field(default=ListingStatus.PENDING)
    #: Amazon's issue code and message for the last rejection.
    error_code: str | None = Field(default=None, max_length=80)
    error_message: str | None = Field(default=None, max_length=1000)
    #: The feed batch and message carrying this SKU right now; None when nothing is in flight (a
    #: ``feed_batch`` id: no foreign key, see the class docstring).
    inflight_batch_id: int | None = None
    inflight_message_id: int | None = None
    #: The values of the in-flight message (None: that attribute is not in the message).
    inflight_quantity: int | None = None
    inflight_price_cents: int | None = None
    #: The last rejection's kind (``wizard.sync.rejections.Kind``: permanent, transient, unknown); None when
    #: nothing holds the SKU back (never rejected, accepted since, or the merchant pressed "Try again").
    reject_kind: str | None = Field(default=None, max_length=20)
    #: Rejections in a row (unknown codes: within the day that started at ``reject_window_at``).
    reject_tries: int | None = None
    reject_window_at: NaiveDatetime | None = None
    #: When the planner may send a transient or unknown rejection again on its own.
    next_retry_at: NaiveDatetime | None = None
    #: When Amazon last rejected the SKU, and in which run (None for the urgent lane); cleared on acceptance.
    rejected_at: NaiveDatetime | None = None
    rejected_run_id: int | None = None
