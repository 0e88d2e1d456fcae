"""Store what Amazon shows in ``amazon_listing``, in batches, and record drift on the way.

Reads come in two shapes: :class:`~wizard.amazon.listings.ListingItem` from ``searchListingsItems`` (with
issues and ``lastUpdatedDate``) and :class:`~wizard.amazon.reports.ListingRow` from the full listings report
(no issues, no update time, possibly hours old). Both are upserted with one ``INSERT … ON CONFLICT`` per
batch, written in SQLAlchemy Core for SQLite and PostgreSQL alike.

Drift (issue 10 §3): Amazon's quantity or price differs from what Amazon last *accepted* from us, and Amazon
updated the listing after that acceptance. Only reads with ``lastUpdatedDate`` can tell the second half, so
drift is found by the searches (incremental and targeted), never by the report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from wizard.amazon.listings import ListingItem
from wizard.amazon.reports import ListingRow
from wizard.db import table_of
from wizard.models.base import utcnow
from wizard.models.catalog import AmazonSettings, Product
from wizard.models.reconcile import AmazonListing, DriftKind, ListingDrift, ListingSource
from wizard.models.sync import ListingState

LISTING = table_of(AmazonListing)
STATE = table_of(ListingState)
PRODUCT = table_of(Product)
#: Rows per upsert statement (a report of a million rows commits every batch).
BATCH = 5000
_ITEM_COLUMNS = ("on_amazon", "asin", "item_name", "quantity", "price_cents", "status", "buyable",
                 "issues_json", "error_count", "warning_count", "amazon_updated_at", "read_at", "source")


def _upsert(session: Session, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    """Insert ``rows`` or update ``columns`` of the existing ones."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    statement: Any = (postgresql.insert(LISTING) if dialect == "postgresql" else sqlite.insert(LISTING))
    statement = statement.on_conflict_do_update(
        index_elements=["account_id", "sku"], set_={name: statement.excluded[name] for name in columns})
    session.execute(statement, rows)


def issue_dicts(item: ListingItem) -> list[dict[str, Any]]:
    """Return an item's issues as stored: code, severity, message, the first attribute concerned."""
    return [{"code": i.code, "severity": i.severity, "message": i.message,
             "attribute": i.attribute_names[0] if i.attribute_names else None} for i in item.issues]


def store_items(session: Session, account_id: int, items: Sequence[ListingItem],
                source: ListingSource = ListingSource.SEARCH) -> int:
    """Store what a search showed for ``items`` and record their drift; return how many drifted."""
    if not items:
        return 0
    now = utcnow()
    drifted = _record_drift(session, account_id, items, now)
    rows = [{
        "account_id": account_id, "sku": item.sku[:200], "on_amazon": True, "asin": item.asin,
        "item_name": (item.item_name or "")[:500] or None, "quantity": item.quantity,
        "price_cents": item.price_cents, "status": ",".join(item.status)[:60], "buyable": item.buyable,
        "issues_json": json.dumps(issue_dicts(item)),
        "error_count": sum(1 for i in item.issues if i.severity == "ERROR"),
        "warning_count": sum(1 for i in item.issues if i.severity == "WARNING"),
        "amazon_updated_at": item.last_updated, "read_at": now, "source": source.value,
    } for item in items]
    _upsert(session, rows, _ITEM_COLUMNS)
    return drifted


def store_missing(session: Session, account_id: int, skus: Iterable[str]) -> int:
    """Record that Amazon has no listing for ``skus`` (a look-up did not find them); return how many."""
    now = utcnow()
    rows = [{"account_id": account_id, "sku": sku, "on_amazon": False, "quantity": None, "price_cents": None,
             "status": "", "buyable": False, "issues_json": "[]", "error_count": 0, "warning_count": 0,
             "amazon_updated_at": None, "read_at": now, "source": ListingSource.LOOKUP.value,
             "asin": None, "item_name": None} for sku in skus]
    _upsert(session, rows, _ITEM_COLUMNS)
    return len(rows)


#: The report's columns, in the order of :func:`_report_upsert_sql`'s parameters.
_REPORT_INSERT = ("account_id", "sku", "on_amazon", "asin", "item_name", "quantity", "price_cents",
                  "status", "buyable", "read_at", "source", "seen_sweep_id", "issues_json", "error_count",
                  "warning_count")
#: Updated from the report only on rows no search read after the report was asked for.
_REPORT_VALUES = ("asin", "item_name", "quantity", "price_cents", "status", "buyable", "read_at", "source")


def _db_time(dialect: str, moment: datetime) -> Any:
    """Return a time as the driver should get it: SQLAlchemy's SQLite text format, or the datetime itself."""
    return moment.isoformat(sep=" ", timespec="microseconds") if dialect == "sqlite" else moment


def _report_upsert_sql(dialect: str, cutoff: datetime) -> str:
    """Return the driver-level upsert of one report row (the hot path of a million-row sweep).

    Built from constant column names and our own cutoff time only; every value is a bound parameter.
    """
    mark = "?" if dialect == "sqlite" else "%s"
    fresh = f"amazon_listing.read_at < '{_db_time('sqlite', cutoff)}'"
    updates = ", ".join(f"{c} = CASE WHEN {fresh} THEN excluded.{c} ELSE amazon_listing.{c} END"
                        for c in _REPORT_VALUES)
    return (f"INSERT INTO amazon_listing ({', '.join(_REPORT_INSERT)}) "  # noqa: S608
            f"VALUES ({', '.join([mark] * len(_REPORT_INSERT))}) ON CONFLICT (account_id, sku) DO UPDATE SET "
            f"{updates}, on_amazon = excluded.on_amazon, seen_sweep_id = excluded.seen_sweep_id")


def store_report_rows(session: Session, account_id: int, sweep_id: int, rows: Sequence[ListingRow],
                      report_started: datetime) -> None:
    """Store a batch of report rows; a row a search read after the report was asked for keeps its values.

    One driver-level ``executemany`` per batch, no ORM or Core parameter processing per row: a million rows
    cost seconds, not a minute.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    now = _db_time(dialect, utcnow())
    report = ListingSource.REPORT.value
    params = [(account_id, row.sku[:200], True, row.asin, row.item_name[:500] or None, row.quantity,
               row.price_cents, row.status[:60], row.active and (row.quantity or 0) > 0, now, report,
               sweep_id, "[]", 0, 0) for row in rows]
    session.connection().exec_driver_sql(_report_upsert_sql(dialect, report_started), params)


def finish_full_sweep(session: Session, account_id: int, sweep_id: int, started: datetime) -> int:
    """Mark what the full sweep did not see as not on Amazon; return how many catalog SKUs are not there.

    A row a search or look-up read after the sweep started is trusted over the (older) report.
    """
    now = utcnow()
    session.execute(update(LISTING).where(
        LISTING.c.account_id == account_id, LISTING.c.read_at < started,
        (LISTING.c.seen_sweep_id.is_(None)) | (LISTING.c.seen_sweep_id != sweep_id),
    ).values(on_amazon=False, quantity=None, price_cents=None, status="", buyable=False, read_at=now,
             source=ListingSource.REPORT.value))
    known = exists().where(LISTING.c.account_id == PRODUCT.c.account_id, LISTING.c.sku == PRODUCT.c.sku)
    session.execute(insert(LISTING).from_select(
        ["account_id", "sku", "on_amazon", "status", "buyable", "issues_json", "error_count", "warning_count",
         "read_at", "source"],
        select(PRODUCT.c.account_id, PRODUCT.c.sku, literal(False), literal(""), literal(False),
               literal("[]"), literal(0), literal(0), literal(now), literal(ListingSource.REPORT.value))
        .where(PRODUCT.c.account_id == account_id, ~known)))
    return int(session.scalar(
        select(func.count()).select_from(LISTING.join(PRODUCT, and_(
            PRODUCT.c.account_id == LISTING.c.account_id, PRODUCT.c.sku == LISTING.c.sku)))
        .where(LISTING.c.account_id == account_id, LISTING.c.on_amazon.is_(False))) or 0)


def _record_drift(session: Session, account_id: int, items: Sequence[ListingItem], now: datetime) -> int:
    """Write a ``listing_drift`` row for every item changed on Amazon after our last accepted change."""
    skus = [item.sku for item in items if item.last_updated is not None]
    if not skus:
        return 0
    accepted = {row.sku: row for row in session.execute(
        select(STATE.c.sku, STATE.c.accepted_quantity, STATE.c.accepted_price_cents, STATE.c.accepted_at,
               STATE.c.inflight_batch_id)
        .where(STATE.c.account_id == account_id, STATE.c.sku.in_(skus)))}
    if not accepted:
        return 0
    known = {row.sku: row for row in session.execute(
        select(LISTING.c.sku, LISTING.c.quantity, LISTING.c.price_cents, LISTING.c.amazon_updated_at)
        .where(LISTING.c.account_id == account_id, LISTING.c.sku.in_(list(accepted))))}
    settings = session.get(AmazonSettings, account_id)
    pricing = not (settings is not None and settings.disable_pricing)
    events: list[dict[str, Any]] = []
    for item in items:
        state = accepted.get(item.sku)
        if state is None or state.accepted_at is None or item.last_updated is None:
            continue
        if state.inflight_batch_id is not None or item.last_updated <= state.accepted_at:
            continue
        before = known.get(item.sku)
        for kind, amazon, ours, seen in (
                (DriftKind.QUANTITY, item.quantity, state.accepted_quantity, before and before.quantity),
                (DriftKind.PRICE, item.price_cents, state.accepted_price_cents,
                 before and before.price_cents)):
            if amazon is None or ours is None or amazon == ours:
                continue
            if before is not None and before.amazon_updated_at == item.last_updated and seen == amazon:
                continue  # this very change was recorded by an earlier, overlapping read
            events.append({"account_id": account_id, "sku": item.sku, "kind": kind.value,
                           "amazon_value": amazon, "our_value": ours, "our_accepted_at": state.accepted_at,
                           "amazon_updated_at": item.last_updated, "detected_at": now,
                           "will_correct": kind == DriftKind.QUANTITY or pricing})
    if events:
        session.execute(insert(table_of(ListingDrift)), events)
    return len({e["sku"] for e in events})


def quantity_drift_since(session: Session, account_id: int, since: datetime) -> bool:
    """Return whether a read since ``since`` found a quantity Amazon changed after our last accepted one."""
    drift = table_of(ListingDrift).c
    return session.scalar(select(drift.id).where(
        drift.account_id == account_id, drift.kind == DriftKind.QUANTITY.value, drift.detected_at >= since)
        .limit(1)) is not None


__all__ = ["BATCH", "finish_full_sweep", "issue_dicts", "quantity_drift_since", "store_items",
           "store_missing", "store_report_rows"]
