"""Issue 11: Amazon's own dry run ("Check with Amazon") and its results, kept per account.

A check is a sample of up to 20 SKUs sent to ``patchListingsItem?mode=VALIDATION_PREVIEW``: Amazon answers
VALID or INVALID with its issues and changes nothing. The merchant reads the answers and starts syncing (the
check is then ``confirmed``) or fixes the catalog first.
"""

from __future__ import annotations

from pydantic import NaiveDatetime
from sqlalchemy import Text
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
