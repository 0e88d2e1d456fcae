"""The link between a merchant account and one Amazon seller account."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from wizard.models.base import utcnow

#: Amazon requires sellers to re-authorize a public app every 365 days.
AUTHORIZATION_LIFETIME = timedelta(days=365)
#: Start warning this long before the authorization lapses.
REAUTHORIZATION_WARNING = timedelta(days=30)


class ConnectionStatus(StrEnum):
    """The connection's health, as the merchant sees it."""

    NOT_CONNECTED = "not_connected"
    CONNECTED = "connected"
    NEEDS_REAUTHORIZATION = "needs_reauthorization"
    ERROR = "error"


class Connection(SQLModel, table=True):
    """One per merchant account. Tokens are stored encrypted (see ``wizard.crypto``), never in plain text."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", unique=True, index=True)
    status: ConnectionStatus = Field(default=ConnectionStatus.NOT_CONNECTED)
    #: Amazon's merchant token; one Amazon seller belongs to at most one Ecommerce account.
    selling_partner_id: str | None = Field(default=None, max_length=64, unique=True, index=True)
    refresh_token_encrypted: str | None = None
    authorized_at: NaiveDatetime | None = None
    authorized_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    #: Filled by the Sellers API check (step 3).
    store_name: str | None = Field(default=None, max_length=200)
    selling_plan: str | None = Field(default=None, max_length=40)
    us_participating: bool | None = None
    verified_at: NaiveDatetime | None = None
    #: A re-authorization that came back with a different seller waits here until the merchant confirms.
    pending_selling_partner_id: str | None = Field(default=None, max_length=64)
    pending_refresh_token_encrypted: str | None = None
    #: What went wrong last, for the merchant (a tip key) and the operator (Amazon's code).
    last_error_code: str | None = Field(default=None, max_length=80)
    last_error_message: str | None = Field(default=None, max_length=500)
    #: When the health probe (``jobs/health.py``, or "Check now") last asked Amazon about the connection.
    health_checked_at: NaiveDatetime | None = None
    updated_at: NaiveDatetime = Field(default_factory=utcnow)

    @property
    def has_refresh_token(self) -> bool:
        """Return whether a refresh token is held (the connection step is done)."""
        return bool(self.refresh_token_encrypted)

    @property
    def reauthorize_by(self) -> datetime | None:
        """Return when Amazon's 365-day authorization lapses."""
        return self.authorized_at + AUTHORIZATION_LIFETIME if self.authorized_at else None

    def days_left(self, now: datetime | None = None) -> int | None:
        """Return the whole days left before re-authorization is due (negative once overdue)."""
        due = self.reauthorize_by
        if due is None:
            return None
        return (due - (now or utcnow())).days

    def reauthorization_due_soon(self, now: datetime | None = None) -> bool:
        """Return whether the 30-day warning applies."""
        due = self.reauthorize_by
        return due is not None and due - (now or utcnow()) <= REAUTHORIZATION_WARNING
