"""Merchant accounts, their users and roles, and pending OAuth states."""

from __future__ import annotations

from enum import StrEnum

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from wizard.models.base import utcnow


class Role(StrEnum):
    """What a user may do: admins and managers change integrations, staff only look."""

    ADMIN = "admin"
    MANAGER = "manager"
    STAFF = "staff"

    @property
    def can_manage_integrations(self) -> bool:
        """Return whether this role may grant access, re-authorize, disconnect or change settings."""
        return self in (Role.ADMIN, Role.MANAGER)


class Account(SQLModel, table=True):
    """A merchant account on the Ecommerce platform."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    #: When an admin or manager confirmed the prerequisites (Professional plan, US marketplace).
    prerequisites_acknowledged_at: NaiveDatetime | None = None


class User(SQLModel, table=True):
    """A person who signs in to a merchant account."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    role: Role = Field(default=Role.STAFF)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    #: Stamped into every session at sign-in; signing out or changing the password adds one, which ends
    #: every session (and every copy of its cookie) signed in before.
    session_generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class OAuthState(SQLModel, table=True):
    """A single-use OAuth ``state``, bound to the user's session and account, valid for 10 minutes.

    Only a hash of the value is stored; the session holds the value itself.
    """

    id: int | None = Field(default=None, primary_key=True)
    state_hash: str = Field(max_length=64, unique=True, index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    user_id: int = Field(foreign_key="user.id")
    #: "popup" or "tab": how the consent page was opened, so the callback knows how to finish.
    mode: str = Field(default="popup", max_length=10)
    #: Set by the Login URI flow: the seller Amazon said is authorizing.
    expected_selling_partner_id: str | None = Field(default=None, max_length=64)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    used_at: NaiveDatetime | None = None
