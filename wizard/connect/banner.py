"""The connection banner shown on every page when the Amazon connection needs the merchant."""

from __future__ import annotations

from dataclasses import dataclass

from wizard.connect.steps import connection_of
from wizard.db import get_session
from wizard.models import ConnectionStatus
from wizard.security import can_manage, current_user
from wizard.text import plural


@dataclass(frozen=True)
class Banner:
    """What the banner says; ``level`` is "danger" or "warning"."""

    level: str
    title: str
    message: str


_ASK = " Ask an admin or manager of your Ecommerce account to re-authorize."


def connection_banner() -> Banner | None:
    """Return the banner for the signed-in user's connection, if it needs attention."""
    from wizard.connect.tips import TOKEN_EXPIRED

    user = current_user()
    if user is None:
        return None
    connection = connection_of(get_session(), user.account_id)
    if connection is None or not connection.refresh_token_encrypted:
        return None
    ask = "" if can_manage() else _ASK
    if connection.status == ConnectionStatus.NEEDS_REAUTHORIZATION:
        # The guide's "token expired" row, word for word, where the problem shows.
        return Banner("danger", "Amazon needs you to re-authorize Ecommerce",
                      "Updates to Amazon have stopped: Amazon no longer accepts Ecommerce's access to your "
                      f"seller account. {TOKEN_EXPIRED.what_to_do}{ask}")
    if connection.status == ConnectionStatus.CONNECTED and connection.reauthorization_due_soon():
        days = max(connection.days_left() or 0, 0)
        return Banner("warning", f"Re-authorize Amazon within {plural(days, 'day')}",
                      "Amazon requires sellers to renew an app's authorization every 365 days. Re-authorize "
                      f"now to keep updates flowing; your settings will be preserved.{ask}")
    return None
