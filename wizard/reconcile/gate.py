"""What the sync planner asks the reconcile: may this SKU be sent, and what does Amazon really show?

Issue 10 §3, "only listings that exist are sent": a PATCH for a SKU Amazon does not hold is either rejected
(4000001) on every run, or, as developers report (amzn/selling-partner-api-models#4402, #2797), creates an
incomplete offer-only listing. So, when ``RECONCILE_BEFORE_SYNC`` is on:

- an account's first sync waits for its first full sweep (:func:`first_full_sweep_done`);
- a catalog SKU is sent only when a sweep or a look-up saw it on Amazon (:func:`on_amazon`);
- a catalog SKU nobody asked Amazon about yet is looked up before planning (:func:`unchecked_skus`).

Drift: the planner compares the rules engine's decision with :func:`last_known_quantity` /
:func:`last_known_price` instead of what Amazon last accepted. Those are Amazon's own values when a read found
it changed after our last accepted change, so a drifted quantity is re-sent on the next sync without waiting
for a catalog change, and a drifted price too when pricing is enabled.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.orm import Session

from wizard.db import table_of
from wizard.models.catalog import Product
from wizard.models.reconcile import AmazonListing, ReconcileSweep, SweepKind, SweepStatus
from wizard.models.sync import ListingState

LISTING = table_of(AmazonListing)
STATE = table_of(ListingState)
PRODUCT = table_of(Product)


def first_full_sweep_done(session: Session, account_id: int) -> bool:
    """Return whether a full sweep of the account's listings ever finished (the first sync waits for it)."""
    sweep = table_of(ReconcileSweep).c
    return (session.scalar(select(func.count()).where(
        sweep.account_id == account_id, sweep.kind == SweepKind.FULL.value,
        sweep.status == SweepStatus.DONE.value)) or 0) > 0


def on_amazon(account_id: Any, sku: Any) -> ColumnElement[bool]:
    """Return the SQL condition "a sweep or a look-up saw a listing for this SKU on Amazon"."""
    return exists().where(LISTING.c.account_id == account_id, LISTING.c.sku == sku,
                          LISTING.c.on_amazon.is_(True))


def changed_elsewhere(amazon: Any, accepted: Any) -> ColumnElement[bool]:
    return and_(LISTING.c.on_amazon.is_(True), LISTING.c.amazon_updated_at > STATE.c.accepted_at,
                amazon.is_not(None), accepted.is_not(None), amazon != accepted)


def last_known_quantity() -> ColumnElement[Any]:
    """Return Amazon's quantity as far as we know (needs ``amazon_listing`` and ``listing_state`` joined).

    What Amazon last accepted from us, unless a read found it changed on Amazon after that: then Amazon's.
    """
    return case((changed_elsewhere(LISTING.c.quantity, STATE.c.accepted_quantity), LISTING.c.quantity),
                else_=STATE.c.accepted_quantity)


def last_known_price() -> ColumnElement[Any]:
    """Return Amazon's price in cents as far as we know (same rule as :func:`last_known_quantity`)."""
    changed = changed_elsewhere(LISTING.c.price_cents, STATE.c.accepted_price_cents)
    return case((changed, LISTING.c.price_cents), else_=STATE.c.accepted_price_cents)


def join_listing(base: Any, account_id: Any, sku: Any) -> Any:
    """Outer-join ``amazon_listing`` to ``base`` (a FROM clause with the SKU's account and sku columns)."""
    return base.outerjoin(LISTING, and_(LISTING.c.account_id == account_id, LISTING.c.sku == sku))


def unchecked_skus(session: Session, account_id: int, *, limit: int = 10_000) -> list[str]:
    """Return catalog SKUs Amazon was never asked about (new since the last full sweep), in catalog order."""
    known = exists().where(LISTING.c.account_id == PRODUCT.c.account_id, LISTING.c.sku == PRODUCT.c.sku)
    return list(session.scalars(select(PRODUCT.c.sku).where(PRODUCT.c.account_id == account_id, ~known)
                                .order_by(PRODUCT.c.id).limit(limit)))


def zero_requested(session: Session, account_id: int) -> list[tuple[str, int | None]]:
    """Return Amazon-only SKUs the merchant confirmed to set to 0 that were not yet accepted at 0.

    ``(sku, Amazon's quantity)``; a SKU with a message in flight waits for it.
    """
    in_catalog = exists().where(PRODUCT.c.account_id == LISTING.c.account_id, PRODUCT.c.sku == LISTING.c.sku)
    done_or_flying = exists().where(
        STATE.c.account_id == LISTING.c.account_id, STATE.c.sku == LISTING.c.sku,
        (STATE.c.inflight_batch_id.is_not(None))
        | and_(STATE.c.accepted_quantity == 0, STATE.c.accepted_at >= LISTING.c.zero_requested_at))
    rows = session.execute(select(LISTING.c.sku, LISTING.c.quantity).where(
        LISTING.c.account_id == account_id, LISTING.c.zero_requested_at.is_not(None),
        LISTING.c.on_amazon.is_(True), ~in_catalog, ~done_or_flying).order_by(LISTING.c.id))
    return [(str(sku), quantity) for sku, quantity in rows]


__all__ = ["first_full_sweep_done", "join_listing", "last_known_price", "last_known_quantity", "on_amazon",
           "unchecked_skus", "zero_requested"]
