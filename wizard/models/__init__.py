"""The database tables, one module per concern; importing this package registers them all."""

from __future__ import annotations

from wizard.models.accounts import Account, OAuthState, Role, User
from wizard.models.connection import Connection, ConnectionStatus

__all__ = ["Account", "Connection", "ConnectionStatus", "OAuthState", "Role", "User"]
