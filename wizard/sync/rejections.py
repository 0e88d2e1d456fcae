"""Amazon's issue codes: permanent or transient, a plain-language tip for each, and when to try again.

The ONE table of issue codes (issue 9 §1). The Sync page, the catalog's per-SKU cell, "Check with Amazon" and
the reconcile's listing issues all read their tips here, and the planner reads the kinds:

- a **permanent** rejection (the SKU is not on Amazon, a value Amazon refuses, a listing restriction) is not
  sent again until what would be sent changes (the product's quantity or price), the settings are saved
  again, or the merchant presses "Try again";
- a **transient** one (Amazon's internal error, a duplicate message) is retried with a back-off that doubles
  from :data:`FIRST_BACKOFF` up to a day, or at once when the values to send change;
- a code not in the table is **unknown**: treated as transient, but tried at most :data:`UNKNOWN_TRIES_A_DAY`
  times in any day, whatever changes, unless the merchant presses "Try again".

What a rejection leaves on ``listing_state`` (``reject_kind``, ``reject_tries``, ``reject_window_at``,
``next_retry_at``, ``rejected_at``, ``rejected_run_id``) is computed by :func:`after_rejection`, a pure
function; :func:`held_back` is the planner's SQL condition built from the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from wizard.db import table_of
from wizard.models.catalog import Product
from wizard.models.sync import ListingState, ListingStatus


class Kind(StrEnum):
    """How the sync treats a rejection."""

    PERMANENT = "permanent"
    TRANSIENT = "transient"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Code:
    """One of Amazon's issue codes (or our own, for a feed that failed as a whole): its kind and tip."""

    kind: Kind
    tip: str


#: Amazon's issue codes (and the sync's own codes for a whole feed) -> kind and tip. Numeric codes are
#: Amazon's listing issue codes as its processing reports and ``patchListingsItem`` answers give them
#: (``listings-feed-processing-report-schema-v2.json``: ``issues[].code``).
CODES: dict[str, Code] = {
    # The SKU is not a listing of this seller (FACTS.md; issue 10 §3).
    "4000001": Code(Kind.PERMANENT, (
        "Amazon has no listing with this SKU. Create the listing in Seller Central with exactly this SKU,"
        " or correct the SKU in your catalog.")),
    "4000003": Code(Kind.PERMANENT, (
        "Amazon does not accept this value. Check the product's stock and price in your catalog, and any "
        "minimum or maximum price set in Seller Central.")),
    "4000004": Code(Kind.PERMANENT, (
        "Amazon does not accept this kind of change for this listing. Contact support if it persists.")),
    "90220": Code(Kind.PERMANENT, (
        "The listing is missing product details Amazon requires (title, brand, identifiers). Complete it "
        "in Seller Central.")),
    "8541": Code(Kind.PERMANENT, (
        "The product details do not match Amazon's catalog for this ASIN. Review them in Seller Central.")),
    "5461": Code(Kind.PERMANENT, (
        "This brand needs Amazon's approval before you can list it. Apply in Seller Central.")),
    "18027": Code(Kind.PERMANENT, (
        "Amazon needs more information before this listing can go live. See the listing in Seller "
        "Central.")),
    "90000900": Code(Kind.PERMANENT, (
        "Amazon finds the price invalid. Check the price in your catalog and any minimum or maximum price"
        " set in Seller Central.")),
    # "An internal error occurred. Please resubmit your data." (Seller Central error code 5002).
    "5002": Code(Kind.TRANSIENT, (
        "Amazon had an internal error. Nothing to do: Ecommerce sends the update again shortly.")),
    # The same SKU twice in one feed: the next feed carries it once.
    "4000005": Code(Kind.TRANSIENT, (
        "Amazon saw this SKU twice in one update. Nothing to do: Ecommerce sends it again shortly.")),
    # The sync's own codes for a feed that failed as a whole (its SKUs go again in the next run).
    "feed_fatal": Code(Kind.TRANSIENT, (
        "Amazon could not process the feed. Nothing to do: Ecommerce sends it again on the next sync.")),
    "feed_cancelled": Code(Kind.TRANSIENT, (
        "Amazon cancelled the feed. Nothing to do: Ecommerce sends it again on the next sync.")),
    "feed_refused": Code(Kind.TRANSIENT, (
        "Amazon refused the feed. Ecommerce sends it again on the next sync; contact support if this "
        "keeps happening.")),
    "not_sent": Code(Kind.TRANSIENT, (
        "Not sent because the Amazon connection needs attention. Re-authorize to resume updates.")),
}
#: The tip for a code not in :data:`CODES`.
DEFAULT_TIP = "Open the listing in Seller Central to see what Amazon needs."

#: The first wait before a transient rejection is sent again; it doubles with each rejection in a row.
FIRST_BACKOFF = timedelta(minutes=15)
#: The longest wait between two tries of a transient rejection.
MAX_BACKOFF = timedelta(days=1)
#: An unknown code is tried at most this many times in a day (:data:`DAY`, counted from its first try).
UNKNOWN_TRIES_A_DAY = 3
DAY = timedelta(days=1)

#: How ``listing_state.status`` stores "rejected" (the member name, as for every Enum column).
REJECTED_STORED = ListingStatus.REJECTED.name


def kind_of(code: str | None) -> Kind:
    """Return how the sync treats a rejection with Amazon's ``code`` (unknown codes: :attr:`Kind.UNKNOWN`)."""
    known = CODES.get(code or "")
    return known.kind if known is not None else Kind.UNKNOWN


def tip_for(code: str | None) -> str:
    """Return the plain-language tip for one of Amazon's issue codes (or the sync's own)."""
    known = CODES.get(code or "")
    return known.tip if known is not None else DEFAULT_TIP


@dataclass(frozen=True)
class Attempts:
    """What a SKU's rejections so far leave on ``listing_state`` (``reject_*`` and ``next_retry_at``)."""

    kind: Kind
    #: Rejections in a row (unknown codes: within the day that started at ``window_at``).
    tries: int
    #: When the count of ``tries`` started.
    window_at: datetime
    #: When the planner may send the SKU again on its own; None: only after a change or "Try again".
    next_retry_at: datetime | None


def after_rejection(code: str | None, tries: int | None, window_at: datetime | None,
                    now: datetime) -> Attempts:
    """Return the attempts after one more rejection with ``code``, given the SKU's ``tries`` so far."""
    kind = kind_of(code)
    tries = tries or 0
    if kind == Kind.UNKNOWN:
        if window_at is None or now - window_at >= DAY:
            window_at, tries = now, 0
        tries += 1
        if tries >= UNKNOWN_TRIES_A_DAY:
            return Attempts(kind, tries, window_at, window_at + DAY)
        return Attempts(kind, tries, window_at, now + backoff(tries))
    tries += 1
    window_at = window_at if tries > 1 and window_at is not None else now
    if kind == Kind.PERMANENT:
        return Attempts(kind, tries, window_at, None)
    return Attempts(kind, tries, window_at, now + backoff(tries))


def backoff(tries: int) -> timedelta:
    """Return the wait after the ``tries``-th rejection in a row: 15 min, 30 min, 1 h … at most a day."""
    doubled: timedelta = FIRST_BACKOFF * (2 ** min(max(tries - 1, 0), 20))
    return min(doubled, MAX_BACKOFF)


#: ``listing_state`` values that forget a SKU's rejections (once Amazon accepted it).
CLEARED: dict[str, Any] = {"reject_kind": None, "reject_tries": None, "reject_window_at": None,
                           "next_retry_at": None, "rejected_at": None, "rejected_run_id": None}


# ---- the planner's condition -------------------------------------------------------------------------------


def held_back(state: Any, quantity: Any, price: Any, *, pricing: bool, now: datetime,
              settings_saved_at: datetime | None) -> ColumnElement[bool]:
    """Return the SQL condition "this SKU's last rejection keeps it out of the next feed".

    ``state`` is ``listing_state``'s columns (outer-joined: NULL when the SKU was never sent, which is never
    held back); ``quantity`` and ``price`` are what the rules engine would send now. What was rejected is in
    ``sent_quantity`` / ``sent_price_cents`` (the values sent last, kept after a rejection).
    """
    changed = state.sent_quantity.is_distinct_from(quantity)
    if pricing:
        changed = or_(changed, state.sent_price_cents.is_distinct_from(price))
    settings_changed: ColumnElement[bool] = (
        false() if settings_saved_at is None else state.rejected_at < settings_saved_at)
    not_due = and_(state.next_retry_at.is_not(None), state.next_retry_at > now)
    return and_(
        state.status == ListingStatus.REJECTED, state.reject_kind.is_not(None),
        or_(
            and_(state.reject_kind == Kind.PERMANENT.value, ~changed, ~settings_changed),
            and_(state.reject_kind == Kind.TRANSIENT.value, not_due, ~changed, ~settings_changed),
            and_(state.reject_kind == Kind.UNKNOWN.value, not_due),
        ))


def sendable(state: Any, quantity: Any, price: Any, *, pricing: bool, now: datetime,
             settings_saved_at: datetime | None) -> ColumnElement[bool]:
    """Return the negation of :func:`held_back`, true for SKUs with no ``listing_state`` row (NULL-safe)."""
    return or_(state.status.is_(None), state.reject_kind.is_(None),
               ~held_back(state, quantity, price, pricing=pricing, now=now,
                          settings_saved_at=settings_saved_at))


# ---- reads and "Try again" ---------------------------------------------------------------------------------

STATE = table_of(ListingState)
PRODUCT = table_of(Product)


def _rejected(account_id: Any) -> list[ColumnElement[bool]]:
    # ``rejected_at IS NOT NULL`` selects the partial index ``ix_listing_state_rejected``: these reads touch
    # the account's rejected SKUs only, never the whole catalog.
    return [STATE.c.account_id == account_id, STATE.c.rejected_at.is_not(None),
            STATE.c.status == ListingStatus.REJECTED]


def _in_catalog() -> ColumnElement[bool]:
    return exists().where(PRODUCT.c.account_id == STATE.c.account_id, PRODUCT.c.sku == STATE.c.sku)


def catalog_condition() -> ColumnElement[bool]:
    """Return the SQL condition on ``product`` "Amazon rejected the last update of this product"."""
    rejected = select(STATE.c.account_id, STATE.c.sku).where(
        STATE.c.rejected_at.is_not(None), STATE.c.status == ListingStatus.REJECTED)
    return tuple_(PRODUCT.c.account_id, PRODUCT.c.sku).in_(rejected)


def rejected_skus(account_id: Any) -> Select[tuple[str]]:
    """Return the SELECT of the account's rejected SKUs, read through the partial index.

    As ``product.sku IN (...)`` it lets the rejected SKUs drive a catalog search (SQLite plans
    :func:`catalog_condition`'s pair ``IN`` as a test on every product instead).
    """
    return select(STATE.c.sku).where(*_rejected(account_id))


def rejected_count(session: Session | Connection, account_id: int) -> int:
    """Return how many catalog products Amazon rejected (one indexed query over the rejected SKUs only)."""
    return int(session.scalar(select(func.count()).select_from(STATE).where(
        *_rejected(account_id), _in_catalog())) or 0)


@dataclass(frozen=True)
class RejectedSku:
    """One rejected SKU as the Sync page lists it."""

    sku: str
    code: str
    message: str
    tip: str
    kind: Kind
    next_retry_at: datetime | None


@dataclass(frozen=True)
class RunRejections:
    """The rejected SKUs of a run (at most ``limit`` of them) and how many there are in all."""

    run_id: int | None
    skus: list[RejectedSku]
    total: int

    @property
    def more(self) -> int:
        """Return how many are not listed."""
        return max(0, self.total - len(self.skus))


@cache
def _newest_rejecting_run() -> Select[int]:
    # Built once: the Sync page asks it on every view (building costs more than running it).
    return select(func.max(STATE.c.rejected_run_id)).where(*_rejected(bindparam("account_id")))


def of_last_run(session: Session, account_id: int, *, limit: int = 50) -> RunRejections:
    """Return the SKUs the account's newest run with rejections left rejected (two indexed queries).

    A SKU rejected again since, or accepted since, belongs to that newer run or to none.
    """
    run_id = session.scalar(_newest_rejecting_run(), {"account_id": account_id})
    if run_id is None:
        return RunRejections(None, [], 0)
    conditions = [*_rejected(account_id), STATE.c.rejected_run_id == run_id]
    total = int(session.scalar(select(func.count()).select_from(STATE).where(*conditions)) or 0)
    rows = session.execute(select(STATE.c.sku, STATE.c.error_code, STATE.c.error_message, STATE.c.reject_kind,
                                  STATE.c.next_retry_at)
                           .where(*conditions).order_by(STATE.c.sku).limit(limit))
    skus = [RejectedSku(sku=sku, code=code or "", message=message or "", tip=tip_for(code),
                        kind=Kind(kind) if kind else kind_of(code), next_retry_at=next_retry_at)
            for sku, code, message, kind, next_retry_at in rows]
    return RunRejections(int(run_id), skus, total)


def try_again(session: Session, account_id: int, sku: str | None = None) -> int:
    """Let the next run send the account's rejected SKUs (or just ``sku``) again; return how many (committed).

    The rejection itself stays on show until Amazon answers the new update; only the hold is lifted.
    """
    conditions = _rejected(account_id)
    if sku is not None:
        conditions.append(STATE.c.sku == sku)
    result = session.execute(update(STATE).where(*conditions, STATE.c.reject_kind.is_not(None))
                             .values(reject_kind=None, next_retry_at=None))
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


__all__ = ["CLEARED", "CODES", "DEFAULT_TIP", "REJECTED_STORED", "Attempts", "Code", "Kind", "RejectedSku",
           "RunRejections", "after_rejection", "backoff", "catalog_condition", "held_back", "kind_of",
           "of_last_run", "rejected_count", "sendable", "tip_for", "try_again"]
