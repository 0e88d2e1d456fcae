"""The connection banner shown on every page when the Amazon connection needs the merchant."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from wizard.db import get_session
from wizard.models import Connection, ConnectionStatus
from wizard.security import current_user


@dataclass(frozen=True)
class Banner:
    """What the banner says; ``level`` is "danger" or "warning"."""

    level: str
    title: str
    message: str


def connection_banner() -> Banner | None:
    """Return the banner for the signed-in user's connection, if it needs attention."""
    user = current_user()
    if user is None:
        return None
    connection = get_session().exec(select(Connection).where(Connection.account_id == user.account_id)).first()
    if connection is None:
        return None
    if connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION:
        return Banner("danger", "Amazon needs you to re-authorize Ecommerce",
                      "Amazon no longer accepts Ecommerce's access to your seller account, so updates to Amazon "
                      "have stopped. Re-authorize to resume them; your settings are preserved.")
    if connection.status == ConnectionStatus.CONNECTED and connection.reauthorization_due_soon():
        days = connection.days_left() or 0
        return Banner("warning", f"Re-authorize within {max(days, 0)} days",
                      "Amazon requires sellers to renew an app's authorization every 365 days. Re-authorize now "
                      "to keep updates flowing; your settings are preserved.")
    return None
