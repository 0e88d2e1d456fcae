"""What the pages show from the reconcile: Amazon's live value per SKU, drift, issues, unmatched SKUs, counts.

Every page reads a fixed number of queries: the catalog page asks :func:`amazon_views` once for its SKUs, the
home page :func:`counts` once (the stored figures: one row, whatever the catalog's size), the Amazon-only
page :func:`amazon_only` once. The workers recompute the stored figures with :func:`refresh`. Filters are
SQL conditions on ``product`` (:func:`filter_condition`), so the catalog's count and page use the same
definition as the home page's numbers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Select, and_, bindparam, exists, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from wizard.db import engine_for, table_of
from wizard.models import listing_stats
from wizard.models.base import utcnow
from wizard.models.catalog import Product
from wizard.models.reconcile import AmazonListing, DriftKind, ListingDrift
from wizard.reconcile.gate import STATE, changed_elsewhere
from wizard.sync import rejections

LISTING = table_of(AmazonListing)
PRODUCT = table_of(Product)
DRIFT = table_of(ListingDrift)

#: Catalog filters the reconcile adds (value -> label); each has a count on the home page.
FILTERS: dict[str, str] = {
    "amazon_in_stock": "In stock on Amazon (as Amazon shows it)",
    "drifted": "Changed on Amazon outside Ecommerce",
    "rejected": "Rejected by Amazon",
    "not_on_amazon": "Not on Amazon",
    "issues": "With issues on Amazon",
}
#: What to do about a catalog SKU Amazon has no listing for (the words of the 4000001 tip on the Sync page).
NOT_ON_AMAZON_ADVICE = (
    "Amazon has no listing with this SKU, so Ecommerce does not send it. Create the listing in Seller "
    "Central with exactly this SKU, or correct the SKU in your catalog; Ecommerce starts sending it once "
    "Amazon shows it (checked at least daily).")


def _in_catalog() -> Any:
    return exists().where(PRODUCT.c.account_id == LISTING.c.account_id, PRODUCT.c.sku == LISTING.c.sku)


def _listing_of_product(*conditions: Any) -> Any:
    return exists().where(LISTING.c.account_id == PRODUCT.c.account_id, LISTING.c.sku == PRODUCT.c.sku,
                          *conditions)


def _drifted_product() -> Any:
    """SQL: the product's listing changed on Amazon after our last accepted change (not yet corrected)."""
    return exists().where(
        LISTING.c.account_id == PRODUCT.c.account_id, LISTING.c.sku == PRODUCT.c.sku,
        STATE.c.account_id == PRODUCT.c.account_id, STATE.c.sku == PRODUCT.c.sku,
        changed_elsewhere(LISTING.c.quantity, STATE.c.accepted_quantity)
        | changed_elsewhere(LISTING.c.price_cents, STATE.c.accepted_price_cents))


def filter_condition(name: str) -> Any:
    """Return the SQL condition on ``product`` for one of :data:`FILTERS`."""
    if name == "amazon_in_stock":
        return _listing_of_product(LISTING.c.on_amazon.is_(True), LISTING.c.quantity > 0)
    if name == "not_on_amazon":
        return _listing_of_product(LISTING.c.on_amazon.is_(False))
    if name == "issues":
        return _listing_of_product(LISTING.c.on_amazon.is_(True),
                                   (LISTING.c.error_count + LISTING.c.warning_count) > 0)
    if name == "rejected":
        return rejections.catalog_condition()
    if name == "drifted":
        return _drifted_product()
    raise KeyError(name)


@dataclass(frozen=True)
class Counts:
    """The home page's honest numbers, each a link to the filtered catalog (Amazon only: its own page)."""

    amazon_in_stock: int
    drifted: int
    rejected: int
    not_on_amazon: int
    amazon_only: int
    amazon_only_in_stock: int
    issues: int
    read_at: datetime | None


def compute_counts(connection: Connection, account_id: int) -> Counts:
    """Count each state for the account from the tables (it scans the catalog: workers only, no page)."""
    def products(condition: Any) -> int:
        return int(connection.scalar(select(func.count()).select_from(PRODUCT).where(
            PRODUCT.c.account_id == account_id, condition)) or 0)

    amazon_only = select(func.count(), func.coalesce(func.sum(
        (LISTING.c.quantity > 0).cast(_int_type())), 0)).where(
        LISTING.c.account_id == account_id, LISTING.c.on_amazon.is_(True), ~_in_catalog())
    only, only_in_stock = connection.execute(amazon_only).one()
    read_at = connection.scalar(select(func.max(LISTING.c.read_at)).where(LISTING.c.account_id == account_id))
    return Counts(amazon_in_stock=products(filter_condition("amazon_in_stock")),
                  drifted=products(filter_condition("drifted")),
                  rejected=rejections.rejected_count(connection, account_id),
                  not_on_amazon=products(filter_condition("not_on_amazon")), amazon_only=int(only or 0),
                  amazon_only_in_stock=int(only_in_stock or 0), issues=products(filter_condition("issues")),
                  read_at=read_at)


def refresh_in(connection: Connection, account_id: int) -> None:
    """Recompute every stored count of the account in the caller's transaction (see :func:`refresh`)."""
    listing_stats.rebuild(connection, account_id)
    figures = compute_counts(connection, account_id)
    listing_stats.store_amazon_counts(connection, account_id, asdict(figures), figures.read_at)


def refresh(database_url: str, account_id: int) -> None:
    """Recompute the counts the pages show, in a transaction of their own.

    The one refresh of :mod:`wizard.models.listing_stats`: the sync's status counts and the Amazon figures
    together. Workers call it after whatever changes them: a sync job (``wizard.sync.runner``), a sweep or a
    look-up (``jobs/reconcile.py``), a catalog import (``jobs/catalog_import.py``) and an urgent pass.
    """
    with engine_for(database_url).begin() as connection:
        refresh_in(connection, account_id)


def counts(session: Session, account_id: int) -> Counts:
    """Return the account's stored counts (one primary-key read; all zero until the first refresh)."""
    row = listing_stats.amazon_counts(session.connection(), account_id)
    if row is None:
        return Counts(amazon_in_stock=0, drifted=0, rejected=0, not_on_amazon=0, amazon_only=0,
                      amazon_only_in_stock=0, issues=0, read_at=None)
    return Counts(**{name: getattr(row, name) for name in listing_stats.AMAZON_FIGURES}, read_at=row.read_at)


def _int_type() -> Any:
    from sqlalchemy import Integer

    return Integer()


@dataclass(frozen=True)
class Issue:
    """One of Amazon's issues on a listing, with a tip in plain words."""

    code: str
    severity: str
    message: str
    attribute: str | None
    tip: str


@dataclass(frozen=True)
class Drift:
    """The latest change made on Amazon outside Ecommerce, and whether our value went back since."""

    kind: str
    amazon_value: int | None
    our_value: int | None
    our_accepted_at: datetime | None
    detected_at: datetime
    will_correct: bool
    corrected_at: datetime | None


@dataclass(frozen=True)
class AmazonView:
    """What Amazon shows for one catalog SKU (None fields: not read yet)."""

    sku: str
    checked: bool
    on_amazon: bool
    quantity: int | None = None
    price_cents: int | None = None
    status: str = ""
    buyable: bool = False
    read_at: datetime | None = None
    issues: list[Issue] = field(default_factory=list)
    drift: Drift | None = None
    seller_central_url: str = ""


def seller_central_url(base: str, sku: str) -> str:
    """Return the SKU's page in Seller Central: ``{AMAZON_SELLER_CENTRAL_URL}/skucentral?mSku={sku}``."""
    from urllib.parse import quote

    return f"{base.rstrip('/')}/skucentral?mSku={quote(sku, safe='')}"


#: What :func:`views_of` reads per SKU: the listing, and when Amazon last accepted our value. The catalog page
#: selects them beside its products (one statement); :func:`amazon_views` selects them alone.
VIEW_COLUMNS = (LISTING.c.sku, LISTING.c.on_amazon, LISTING.c.quantity, LISTING.c.price_cents,
                LISTING.c.status, LISTING.c.buyable, LISTING.c.read_at, LISTING.c.issues_json,
                STATE.c.accepted_at)


def amazon_views(session: Session, account_id: int, skus: list[str],
                 seller_central: str) -> dict[str, AmazonView]:
    """Return what Amazon shows for ``skus`` (one page of the catalog): two queries whatever the page size."""
    if not skus:
        return {}
    rows = session.execute(select(*VIEW_COLUMNS)
        .select_from(LISTING.outerjoin(STATE, and_(STATE.c.account_id == LISTING.c.account_id,
                                                   STATE.c.sku == LISTING.c.sku)))
        .where(LISTING.c.account_id == account_id, LISTING.c.sku.in_(skus))).all()
    return views_of(session, account_id, rows, seller_central)


def views_of(session: Session, account_id: int, rows: Sequence[Any],
             seller_central: str) -> dict[str, AmazonView]:
    """Return the views of listing ``rows`` (each with the attributes of :data:`VIEW_COLUMNS`).

    Reads their drift in one query, and none when there are no rows (Amazon not read yet).
    """
    if not rows:
        return {}
    drifts: dict[str, Any] = {}
    for row in session.execute(select(DRIFT).where(DRIFT.c.account_id == account_id,
                                                   DRIFT.c.sku.in_([row.sku for row in rows]))
                               .order_by(DRIFT.c.detected_at, DRIFT.c.id)):
        drifts[row.sku] = row  # the latest wins
    views: dict[str, AmazonView] = {}
    for row in rows:
        issues = [Issue(code=i.get("code", ""), severity=i.get("severity", ""), message=i.get("message", ""),
                        attribute=i.get("attribute"),
                        tip=rejections.tip_for(i.get("code")))
                  for i in json.loads(row.issues_json or "[]")]
        drift = None
        if row.sku in drifts:
            d = drifts[row.sku]
            corrected = row.accepted_at if (d.will_correct and row.accepted_at is not None
                                            and row.accepted_at > d.detected_at) else None
            drift = Drift(kind=d.kind, amazon_value=d.amazon_value, our_value=d.our_value,
                          our_accepted_at=d.our_accepted_at, detected_at=d.detected_at,
                          will_correct=d.will_correct, corrected_at=corrected)
        views[row.sku] = AmazonView(sku=row.sku, checked=True, on_amazon=bool(row.on_amazon),
                                    quantity=row.quantity, price_cents=row.price_cents, status=row.status,
                                    buyable=bool(row.buyable), read_at=row.read_at, issues=issues,
                                    drift=drift,
                                    seller_central_url=seller_central_url(seller_central, row.sku))
    return views


@dataclass(frozen=True)
class AmazonOnly:
    """A listing on Amazon that is not in the catalog."""

    sku: str
    item_name: str | None
    quantity: int | None
    price_cents: int | None
    status: str
    zero_requested_at: datetime | None
    seller_central_url: str


def amazon_only(session: Session, account_id: int, seller_central: str, *, limit: int = 200,
                offset: int = 0) -> list[AmazonOnly]:
    """Return Amazon-only listings, those in stock first."""
    rows = session.execute(select(
        LISTING.c.sku, LISTING.c.item_name, LISTING.c.quantity, LISTING.c.price_cents, LISTING.c.status,
        LISTING.c.zero_requested_at).where(LISTING.c.account_id == account_id, LISTING.c.on_amazon.is_(True),
                                           ~_in_catalog())
        .order_by((func.coalesce(LISTING.c.quantity, 0) > 0).desc(), LISTING.c.sku)
        .limit(limit).offset(offset))
    return [AmazonOnly(sku=r.sku, item_name=r.item_name, quantity=r.quantity, price_cents=r.price_cents,
                       status=r.status, zero_requested_at=r.zero_requested_at,
                       seller_central_url=seller_central_url(seller_central, r.sku)) for r in rows]


def request_zero(session: Session, account_id: int, user_id: int | None) -> int:
    """Record the merchant's confirmed "Set these to 0 on Amazon" for every Amazon-only SKU in stock.

    The next sync sends quantity 0 for them through the normal feed pipeline; return how many.
    """
    result = cast("CursorResult[Any]", session.execute(update(LISTING).where(
        LISTING.c.account_id == account_id, LISTING.c.on_amazon.is_(True), LISTING.c.quantity > 0,
        ~_in_catalog()).values(zero_requested_at=utcnow(), zero_requested_by_user_id=user_id)))
    session.commit()
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class PriceDrift:
    """Prices changed on Amazon outside Ecommerce while pricing is enabled."""

    last_day: int
    keeps_happening: bool


def price_drift(session: Session, account_id: int) -> PriceDrift | None:
    """Return the price-drift warning, or None when no price was changed elsewhere in the last day.

    "Keeps happening": prices were also changed elsewhere on at least two other days of the last week,
    which is what a repricer does.
    """
    now = utcnow()
    last_day = int(session.scalar(_price_drifts_since(), {"account_id": account_id,
                                                          "since": now - timedelta(days=1)}) or 0)
    if not last_day:
        return None
    earlier = session.scalars(select(DRIFT.c.detected_at).where(
        *_price_drift_condition(account_id), DRIFT.c.detected_at >= now - timedelta(days=7),
        DRIFT.c.detected_at < now - timedelta(days=1)))
    days = {moment.date() for moment in earlier}
    return PriceDrift(last_day=last_day, keeps_happening=len(days) >= 2)


def _price_drift_condition(account_id: Any) -> list[ColumnElement[bool]]:
    return [DRIFT.c.account_id == account_id, DRIFT.c.kind == DriftKind.PRICE.value,
            DRIFT.c.will_correct.is_(True)]


@cache
def _price_drifts_since() -> Select[int]:
    # Built once: the home and Sync pages ask it on every view (building costs more than running it).
    return (select(func.count(func.distinct(DRIFT.c.sku)))
            .where(*_price_drift_condition(bindparam("account_id")),
                   DRIFT.c.detected_at >= bindparam("since")))


__all__ = ["FILTERS", "NOT_ON_AMAZON_ADVICE", "VIEW_COLUMNS", "AmazonOnly", "AmazonView", "Counts",
           "PriceDrift", "amazon_only", "amazon_views", "compute_counts", "counts", "filter_condition",
           "price_drift", "refresh", "refresh_in", "request_zero", "seller_central_url", "views_of"]
