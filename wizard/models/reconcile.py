"""What Amazon really shows per SKU, the sweeps that read it, and the drift they found.

``amazon_listing`` sits next to ``listing_state`` (what we sent and what a feed report accepted): one row per
SKU Amazon was asked about, in the catalog or not. ``reconcile_sweep`` is a row per read of Amazon (a full
report, an incremental search, a targeted look-up) holding everything a restarted job needs to carry on: the
report id, the time windows still to read and the page token of the current one. ``listing_drift`` records
each time Amazon's value differed from what it last accepted from us after a change made elsewhere.

Status-like columns are plain strings (constants below), so SQLite and PostgreSQL store the same values.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import NaiveDatetime
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from wizard.models.base import utcnow

#: Amazon allows seller SKUs of 40 characters; a report may still carry longer ones from old tools.
AMAZON_SKU_MAX_LENGTH = 200


class SweepKind(StrEnum):
    """How a sweep reads Amazon."""

    FULL = "full"  # GET_MERCHANT_LISTINGS_ALL_DATA: every listing, no issues
    INCREMENTAL = "incremental"  # searchListingsItems over a lastUpdated window
    TARGETED = "targeted"  # searchListingsItems by identifiers, 20 SKUs a call


class SweepStatus(StrEnum):
    """Where a sweep is."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ListingSource(StrEnum):
    """Which read last wrote an ``amazon_listing`` row."""

    REPORT = "report"
    SEARCH = "search"
    LOOKUP = "lookup"


class AmazonListing(SQLModel, table=True):
    """One SKU as Amazon last showed it (or that Amazon showed no listing for it)."""

    __tablename__ = "amazon_listing"
    __table_args__ = (
        UniqueConstraint("account_id", "sku", name="uq_amazon_listing_account_sku"),
        Index("ix_amazon_listing_account_seen", "account_id", "on_amazon", "quantity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    sku: str = Field(max_length=AMAZON_SKU_MAX_LENGTH)
    #: False when a look-up or a full sweep found no listing for the SKU.
    on_amazon: bool = True
    asin: str | None = Field(default=None, max_length=20)
    item_name: str | None = Field(default=None, max_length=500)
    quantity: int | None = None
    price_cents: int | None = None
    #: ``BUYABLE,DISCOVERABLE`` (Listings Items API) or ``Active`` / ``Inactive`` (the report).
    status: str = Field(default="", max_length=60)
    buyable: bool = False
    #: JSON list of ``{"code", "severity", "message", "attribute"}`` (the report carries none: kept as read).
    issues_json: str = "[]"
    error_count: int = 0
    warning_count: int = 0
    #: Amazon's ``lastUpdatedDate`` (None when only the report, which has no such column, has read it).
    amazon_updated_at: NaiveDatetime | None = None
    read_at: NaiveDatetime = Field(default_factory=utcnow)
    source: str = Field(default=ListingSource.SEARCH.value, max_length=20)
    #: The last full sweep that saw it.
    seen_sweep_id: int | None = None
    #: An Amazon-only SKU the merchant confirmed to set to 0 (sent by the next sync, never automatically).
    zero_requested_at: NaiveDatetime | None = None
    zero_requested_by_user_id: int | None = Field(default=None, foreign_key="user.id")


class ReconcileSweep(SQLModel, table=True):
    """One read of Amazon's listings for an account, resumable after a crash."""

    __tablename__ = "reconcile_sweep"
    __table_args__ = (Index("ix_reconcile_sweep_account_kind", "account_id", "kind", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    kind: str = Field(max_length=20)
    status: str = Field(default=SweepStatus.RUNNING.value, max_length=20)
    #: Full sweep: the report requested (polled again after a restart, never requested twice).
    report_id: str | None = Field(default=None, max_length=100)
    report_document_id: str | None = Field(default=None, max_length=200)
    #: Full sweep: rows stored so far (a restart skips them).
    rows_done: int = 0
    next_poll_at: NaiveDatetime | None = None
    #: Incremental sweep: JSON list of ``[after, before]`` windows still to read (the last is current).
    windows_json: str = "[]"
    page_token: str | None = Field(default=None, max_length=2000)
    window_after: NaiveDatetime | None = None
    window_before: NaiveDatetime | None = None
    started_at: NaiveDatetime = Field(default_factory=utcnow)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)
    finished_at: NaiveDatetime | None = None
    items_read: int = 0
    calls: int = 0
    splits: int = 0
    not_on_amazon: int = 0
    error: str | None = Field(default=None, max_length=1000)


class DriftKind(StrEnum):
    """What changed on Amazon outside Ecommerce."""

    QUANTITY = "quantity"
    PRICE = "price"


class ListingDrift(SQLModel, table=True):
    """Amazon showed another value than it last accepted from us, changed after our last accepted change."""

    __tablename__ = "listing_drift"
    __table_args__ = (Index("ix_listing_drift_account_detected", "account_id", "kind", "detected_at"),
                      Index("ix_listing_drift_account_sku", "account_id", "sku"))

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    sku: str = Field(max_length=AMAZON_SKU_MAX_LENGTH)
    kind: str = Field(max_length=20)
    #: Amazon's value and ours (quantity, or price in cents), and when Amazon accepted ours.
    amazon_value: int | None = None
    our_value: int | None = None
    our_accepted_at: NaiveDatetime | None = None
    amazon_updated_at: NaiveDatetime | None = None
    detected_at: NaiveDatetime = Field(default_factory=utcnow)
    #: False when pricing is disabled: recorded, never corrected.
    will_correct: bool = True
