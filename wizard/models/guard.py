"""Issue 11: Amazon's own dry run ("Check with Amazon") and its results, kept per account.

A check is a sample of up to 20 SKUs sent to ``patchListingsItem?mode=VALIDATION_PREVIEW``: Amazon answers
VALID or INVALID with its issues and changes nothing. The merchant reads the answers and starts syncing (the
check is then ``confirmed``) or fixes the catalog first.
"""

from __future__ import annotations

from pydantic import NaiveDatetime
from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from wizard.models.base import utcnow


class AmazonCheck(SQLModel, table=True):
    """One "Check with Amazon": the SKUs sampled and Amazon's answer for each (JSON)."""

    __tablename__ = "amazon_check"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    #: Who asked for it; None when the worker ran it before the account's first sync.
    created_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    valid_count: int = 0
    invalid_count: int = 0
    #: ``[{"sku", "status", "quantity", "price_cents", "why", "issues": [{"code", "message", "severity"}]}]``
    results_json: str = Field(default="[]", sa_type=Text)
    #: Why the check could not finish (Amazon unavailable …), in words a merchant understands.
    error: str | None = Field(default=None, max_length=1000)
    #: "Start syncing": the merchant read the answers and lets the first sync go.
    confirmed_at: NaiveDatetime | None = None
    confirmed_by_user_id: int | None = Field(default=None, foreign_key="user.id")


class UrgentUpdate(SQLModel, table=True):
    """One stock-out (or steep drop) sent at once with ``patchListingsItem`` by the urgent lane (§1)."""

    __tablename__ = "urgent_update"
    __table_args__ = (Index("ix_urgent_update_account_sent", "account_id", "sent_at"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    sku: str = Field(max_length=200)
    quantity: int
    #: When the product changed (``product.updated_at``): the start of "time to Amazon".
    changed_at: NaiveDatetime
    sent_at: NaiveDatetime = Field(default_factory=utcnow)
    answered_at: NaiveDatetime | None = None
    #: Amazon's answer: ACCEPTED or INVALID.
    status: str = Field(default="", max_length=20)
    submission_id: str | None = Field(default=None, max_length=200)
    #: ``[{"code", "message", "severity"}]`` when INVALID.
    issues_json: str = Field(default="[]", sa_type=Text)


class RunHold(SQLModel, table=True):
    """A run paused by the blast-radius guard (§2), or a confirmation given before (a settings save)."""

    __tablename__ = "run_hold"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    #: The run held; None for an approval given in advance (a confirmed settings save or restore).
    run_id: int | None = Field(default=None, foreign_key="sync_run.id", index=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    in_stock_count: int = 0
    zero_count: int = 0
    priced_count: int = 0
    price_drop_count: int = 0
    #: Up to 20 ``{"sku", "quantity_before", "quantity_after", "price_before", "price_after"}``.
    examples_json: str = Field(default="[]", sa_type=Text)
    #: None while waiting; "approved" or "discarded".
    decision: str | None = Field(default=None, max_length=20)
    decided_at: NaiveDatetime | None = None
    decided_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    #: Why it was approved without a pause ("settings save confirmed" …).
    note: str | None = Field(default=None, max_length=200)
