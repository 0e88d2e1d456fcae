"""Settings > Amazon without Flask: store a change with its version, read the history, describe a change."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, select
from sqlmodel import Session

from wizard import rules as r
from wizard.db import table_of
from wizard.models import AmazonSettings, SettingsVersion, User
from wizard.models.base import utcnow
from wizard.rules import Rules
from wizard.settings.preview import impact

HISTORY_LIMIT = 20

SETTING_LABELS = {
    "inventory_buffer": "Buffer",
    "inventory_ceiling": "Ceiling",
    "min_price_cents": "Minimum price",
    "disable_pricing": "Disable Pricing",
}


def load_settings(session: Session, account_id: int) -> AmazonSettings | None:
    """Return the account's saved settings row, if any."""
    return session.get(AmazonSettings, account_id)


def apply_rules(session: Session, account_id: int, new: Rules, *, user_id: int | None,
                restored_from_id: int | None = None) -> bool:
    """Store ``new`` as the account's settings and record a version if anything changed.

    The first save always records a version (it completes the wizard). Return whether a version was recorded.
    """
    saved = load_settings(session, account_id)
    before = Rules.from_settings(saved) if saved is not None and saved.saved_at else None
    if saved is None:
        saved = AmazonSettings(account_id=account_id)
    if before == new:
        return False
    summary = impact(session, account_id, before or Rules(), new, examples=0).summary()
    saved.inventory_buffer = new.inventory_buffer
    saved.inventory_ceiling = new.inventory_ceiling
    saved.min_price_cents = new.min_price_cents
    saved.disable_pricing = new.disable_pricing
    saved.saved_at = utcnow()
    saved.saved_by_user_id = user_id
    session.add(saved)
    session.add(SettingsVersion(
        account_id=account_id, user_id=user_id, before=json.dumps(before.as_dict()) if before else None,
        after=json.dumps(new.as_dict()), preview_summary=json.dumps(summary),
        restored_from_id=restored_from_id,
    ))
    session.commit()
    return True


class SavedImpact(NamedTuple):
    """What the preview said when a version was saved: the figures its history line shows."""

    in_stock_after: int
    total: int
    going_out: int
    coming_back: int


@dataclass(frozen=True)
class HistoryRow:
    """One saved version as the history shows it, read without building ORM objects.

    Dates and figures are taken out here, once per row: in the template each ``strftime`` or ``get`` is a
    call through its context, and the history shows up to twenty rows.
    """

    id: int
    #: When it was saved, as the page prints it ("Nov 30, 2026 16:31", UTC), and as ISO 8601 for ``<time>``.
    saved_at: str
    saved_at_iso: str
    restored: bool
    who: str
    after: Rules
    changes: list[str]
    #: None when the version was saved without a preview summary.
    impact: SavedImpact | None
    current: bool


@cache
def _history_query() -> Select[Any]:
    """Return the history's one query: the latest versions with their author's name, for ``:account``."""
    version, user = table_of(SettingsVersion), table_of(User)
    return (
        select(version.c.id, version.c.created_at, version.c.restored_from_id, version.c.user_id,
               version.c.before, version.c.after, version.c.preview_summary, user.c.name)
        .select_from(version.outerjoin(user, user.c.id == version.c.user_id))
        .where(version.c.account_id == bindparam("account"))
        .order_by(version.c.id.desc()).limit(HISTORY_LIMIT)
    )


def _saved_impact(summary_json: str | None) -> SavedImpact | None:
    summary = json.loads(summary_json or "{}")
    if not summary:
        return None
    return SavedImpact(summary.get("in_stock_after", 0), summary.get("total", 0), summary.get("going_out", 0),
                       summary.get("coming_back", 0))


def history(session: Session, account_id: int) -> list[HistoryRow]:
    """Return the latest saved versions, newest first, each with who saved it and what changed."""
    rows = []
    for index, (version_id, created_at, restored_from_id, user_id, before_json, after_json, summary,
                name) in enumerate(session.execute(_history_query(), {"account": account_id})):
        after = Rules.from_dict(json.loads(after_json))
        before = Rules.from_dict(json.loads(before_json)) if before_json else None
        rows.append(HistoryRow(
            id=version_id,
            saved_at=created_at.strftime("%b %d, %Y %H:%M"),
            saved_at_iso=created_at.isoformat(),
            restored=bool(restored_from_id),
            who=(name or "Someone no longer on the account") if user_id else "—",
            after=after,
            changes=describe_changes(before, after),
            impact=_saved_impact(summary),
            current=index == 0,
        ))
    return rows


def describe_setting(name: str, rules: Rules) -> str:
    """Return one setting's value as the merchant reads it."""
    if name == "inventory_buffer":
        return f"{rules.inventory_buffer} units"
    if name == "inventory_ceiling":
        return "no ceiling" if rules.inventory_ceiling is None else f"{rules.inventory_ceiling} units"
    if name == "min_price_cents":
        return r.format_usd(rules.min_price_cents)
    return "on" if rules.disable_pricing else "off"


def describe_changes(before: Rules | None, after: Rules) -> list[str]:
    """Return "Buffer: 0 units → 6 units" lines for what changed (every setting on a first save)."""
    lines = []
    for name, label in SETTING_LABELS.items():
        new = describe_setting(name, after)
        if before is None:
            lines.append(f"{label}: {new}")
        elif getattr(before, name) != getattr(after, name):
            lines.append(f"{label}: {describe_setting(name, before)} → {new}")
    return lines


def gate_example(rules: Rules) -> list[tuple[int, r.Decision]]:
    """Return the gate in action for these settings: just below the buffer, at it, and well above."""
    buffer = rules.inventory_buffer
    price = max(rules.min_price_cents, 1999)
    stocks = sorted({max(buffer - 1, 0), buffer, max(buffer * 3, 10)})
    return [(stock, r.decide(stock, price, Rules(buffer, rules.inventory_ceiling, 0, False)))
            for stock in stocks]
