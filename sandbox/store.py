"""All sandbox state, in memory, behind one lock (the server runs threaded)."""

from __future__ import annotations

import heapq
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox.sellers import SELLERS

#: "An LWA authorization code expires after five minutes." Real minutes: codes ignore the time scale.
CODE_LIFETIME = 300.0
ACCESS_TOKEN_LIFETIME = 3600
PRESIGNED_URL_LIFETIME = 300
MAX_VIOLATIONS = 500


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """Format a time as ISO 8601 with a ``Z`` suffix, as Amazon does."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def processing_model(identity: dict[str, Any], marketplace_ids: list[str], created_at: datetime, status: str,
                     started_at: datetime | None, ended_at: datetime | None,
                     document: tuple[str, str | None]) -> dict[str, Any]:
    """Return a feed or report object as the models have it: identity, marketplaces, times, status, document.

    The result document is named only once processing is ``DONE`` (as Amazon does).
    """
    body: dict[str, Any] = {**identity, "marketplaceIds": marketplace_ids, "createdTime": iso(created_at),
                            "processingStatus": status}
    if started_at:
        body["processingStartTime"] = iso(started_at)
    if ended_at:
        body["processingEndTime"] = iso(ended_at)
    key, document_id = document
    if document_id and status == "DONE":
        body[key] = document_id
    return body


@dataclass
class AuthCode:
    """An ``spapi_oauth_code``: single use, valid five minutes."""

    seller_id: str
    redirect_uri: str | None
    created: float
    used: bool = False


@dataclass
class Grant:
    """A refresh token: one authorization of the app by a seller."""

    seller_id: str
    created_at: datetime
    revoked: bool = False


@dataclass
class AccessToken:
    """An ``Atza|`` token, valid one hour."""

    seller_id: str
    refresh_token: str
    expires: float


@dataclass
class Document:
    """A document on the sandbox's fake S3: a feed upload slot, a processing report or a report file."""

    id: str
    seller_id: str
    content_type: str
    kind: str  # "input", "result" or "report"
    created: float
    content: bytes | None = None
    compressed: bool = False
    #: A report file written to disk (reports can hold a million rows: never kept in memory).
    path: str | None = None


@dataclass
class Feed:
    """One createFeed submission and its processing state."""

    id: str
    seller_id: str
    feed_type: str
    marketplace_ids: list[str]
    input_document_id: str
    created_at: datetime
    status: str = "IN_QUEUE"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    result_document_id: str | None = None
    content_sha256: str | None = None
    messages: int = 0
    ready_at: float | None = None  # monotonic time the current phase ends
    summary: dict[str, int] | None = None

    def as_model(self) -> dict[str, Any]:
        """Return the ``Feed`` object of the Feeds API model."""
        return processing_model({"feedId": self.id, "feedType": self.feed_type}, self.marketplace_ids,
                                self.created_at, self.status, self.started_at, self.ended_at,
                                ("resultFeedDocumentId", self.result_document_id))


@dataclass(slots=True)
class Listing:
    """What the seller's Amazon listing holds for one SKU, compactly (a seller can hold a million).

    The two attributes every listing has are plain fields: the merchant-fulfilled (``DEFAULT``) quantity and
    the US ``ALL`` offer's ``our_price``. Everything else Amazon keeps is in the ``*_extra`` dictionaries:
    the US offer's other sub-attributes (``discounted_price``, ``minimum_seller_allowed_price`` …), the
    DEFAULT availability's other fields, and any other attribute. ``sandbox.listings`` turns these into
    Amazon's attribute JSON and back.
    """

    quantity: int | None = None
    price_cents: int | None = None
    updated_at: datetime | None = None
    feed_id: str | None = None
    created_at: datetime | None = None
    asin: str | None = None
    item_name: str | None = None
    offer_extra: dict[str, Any] | None = None
    availability_extra: dict[str, Any] | None = None
    attributes_extra: dict[str, Any] | None = None
    #: Amazon's issues for the listing (``Issue`` objects of the Listings Items model).
    issues: list[dict[str, Any]] | None = None
    #: Issues that appear later, as Amazon's asynchronous validation does: ``(monotonic time, issue)``.
    pending_issues: list[tuple[float, dict[str, Any]]] | None = None
    #: Created by an offer-only PATCH for a SKU Amazon did not know (not buyable, not in search status).
    incomplete: bool = False
    #: Who changed it last: "feed", "listings_api", "external" or "seed" (shown on the overview).
    source: str | None = None

    @property
    def price(self) -> Decimal | None:
        """Return ``our_price`` in dollars."""
        return None if self.price_cents is None else Decimal(self.price_cents) / 100


@dataclass
class Report:
    """One createReport request and its processing state."""

    id: str
    seller_id: str
    report_type: str
    marketplace_ids: list[str]
    created_at: datetime
    created: float  # monotonic
    status: str = "IN_QUEUE"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    document_id: str | None = None
    generating: bool = False
    rows: int = 0

    def as_model(self) -> dict[str, Any]:
        """Return the ``Report`` object of the Reports API model."""
        return processing_model({"reportId": self.id, "reportType": self.report_type}, self.marketplace_ids,
                                self.created_at, self.status, self.started_at, self.ended_at,
                                ("reportDocumentId", self.document_id))


@dataclass
class Fault:
    """Failures to inject into one operation."""

    throttle: bool = False
    fail_next: int = 0
    status: int = 500
    #: Fail after the call took effect: the change is made and its answer is lost (a gateway timeout after
    #: Amazon applied it, or the caller's connection dropping).
    after: bool = False


class TokenBucket:
    """Amazon's usage plan: ``rate`` tokens per second refill a bucket of ``burst``."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = now

    def take(self, now: float, scale: float) -> bool:
        """Consume one token if there is one; the time scale speeds up the refill."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate * scale)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class AppRegistration:
    """Our app as registered in the developer console: IDs, secret, redirect URIs and Login URI."""

    app_id: str
    client_id: str
    client_secret: str
    draft: bool
    redirect_uris: list[str]
    login_uri: str


class Store:
    """The sandbox's whole state. Every method that touches it holds ``lock``."""

    def __init__(self, registration: AppRegistration, *, time_scale: float, processing_delay: float) -> None:
        self.lock = threading.RLock()
        #: Notified when the feed processor has something new to look at.
        self.changed = threading.Condition(self.lock)
        self.registration = registration
        self.default_time_scale = time_scale
        self.default_processing_delay = processing_delay
        self.reset()

    def reset(self) -> None:
        """Return to a fresh state, keeping the app registration."""
        with self.lock:
            self._remove_report_files()
            self.generation = getattr(self, "generation", 0) + 1
            self.time_scale = self.default_time_scale
            self.processing_delay = self.default_processing_delay
            self.paused = False
            self.codes: dict[str, AuthCode] = {}
            self.grants: dict[str, Grant] = {}
            self.access_tokens: dict[str, AccessToken] = {}
            self.amazon_states: dict[str, tuple[str, bool, float]] = {}  # seller, used, created
            self.revoked_sellers: set[str] = set()
            self.documents: dict[str, Document] = {}
            self.feeds: dict[str, Feed] = {}
            self.reports: dict[str, Report] = {}
            #: Per seller: what a write for a SKU Amazon does not hold does ("exists", "reject",
            #: "create_incomplete"); see ``sandbox.listings.UNKNOWN_SKU_MODES``.
            self.unknown_sku_mode: dict[str, str] = {}
            #: Listings Items API PATCH calls: ``(seller, sku, mode or "", status)``, previews included.
            self.listing_submissions: list[tuple[str, str, str, str]] = []
            #: Each change of a quantity by a write: (seller, sku, quantity, wall-clock time, source).
            self.quantity_changes: list[tuple[str, str, int | None, float, str]] = []
            #: searchListingsItems calls by identifiers: ``(seller, identifiersType, [identifiers])``.
            self.identifier_searches: list[tuple[str, str, list[str]]] = []
            #: Asynchronous issues waiting for the SKU's next accepted write: ``(delay, issue, touch)``.
            self.armed_issues: dict[tuple[str, str], list[tuple[float, dict[str, Any], bool]]] = {}
            #: Writes Amazon refuses for a SKU: ``(seller, sku) -> [code, message, times left (-1: always)]``.
            self.refusals: dict[tuple[str, str], list[Any]] = {}
            #: Every feed message that passed the document checks: ``(seller, feedId, messageId, sku)``.
            self.received: list[tuple[str, str, int, str]] = []
            #: Asynchronous issues due at a monotonic time: ``(due, seller, sku, issue, touch)``.
            self.pending_issues: list[tuple[float, str, str, dict[str, Any], bool]] = []
            self.listings: dict[str, dict[str, Listing]] = {sid: {} for sid in SELLERS}
            self.applied: list[tuple[str, str, int, str]] = []  # (seller, feedId, messageId, sku)
            self.violations: list[dict[str, Any]] = []
            self.calls: Counter[str] = Counter()
            self.throttled: Counter[str] = Counter()
            self.failures_injected = 0
            self.faults: dict[str, Fault] = {}
            self.buckets: dict[tuple[str, str], TokenBucket] = {}
            self.next_feed_number = 50001000001
            self.next_report_number = 70001000001
            self.changed.notify_all()

    def _remove_report_files(self) -> None:
        for document in getattr(self, "documents", {}).values():
            if document.path:
                Path(document.path).unlink(missing_ok=True)

    # ---- violations and counters ----------------------------------------------------------------------

    def violation(self, operation: str, detail: str) -> None:
        """Record a request that does not follow Amazon's documented contract."""
        with self.lock:
            if len(self.violations) < MAX_VIOLATIONS:
                self.violations.append({"operation": operation, "detail": detail, "at": iso(utcnow())})

    def count_call(self, operation: str) -> None:
        """Count one call to ``operation``."""
        with self.lock:
            self.calls[operation] += 1

    def take_fault(self, operation: str, *, after: bool = False) -> int | None:
        """Return the status to fail this call with (429 for a throttle), or None to proceed.

        ``after``: asked once the call took effect, for the faults that lose the answer instead.
        """
        with self.lock:
            fault = self.faults.get(operation)
            if fault is None or fault.after != after:
                return None
            if fault.throttle:
                self.failures_injected += 1
                return 429
            if fault.fail_next > 0:
                fault.fail_next -= 1
                self.failures_injected += 1
                return fault.status
            return None

    def allow(self, seller_id: str, bucket: str, rate: float, burst: int) -> bool:
        """Take a token from the seller's bucket for ``bucket``; False means throttle."""
        now = time.monotonic()
        with self.lock:
            key = (seller_id, bucket)
            if key not in self.buckets:
                self.buckets[key] = TokenBucket(rate, burst, now)
            return self.buckets[key].take(now, self.time_scale)

    # ---- authorization ------------------------------------------------------------------------------------

    def issue_code(self, seller_id: str, redirect_uri: str | None) -> str:
        """Create an authorization code for the seller's consent."""
        code = "AN" + secrets.token_urlsafe(18)
        with self.lock:
            self.codes[code] = AuthCode(seller_id, redirect_uri, time.time())
        return code

    def issue_grant(self, seller_id: str) -> str:
        """Create a refresh token (an authorization); a revoked seller becomes authorized again."""
        token = "Atzr|" + secrets.token_urlsafe(96)
        with self.lock:
            self.grants[token] = Grant(seller_id, utcnow())
            self.revoked_sellers.discard(seller_id)
        return token

    def issue_access_token(self, refresh_token: str) -> str:
        """Create an access token for a valid grant."""
        token = "Atza|" + secrets.token_urlsafe(96)
        with self.lock:
            grant = self.grants[refresh_token]
            self.access_tokens[token] = AccessToken(grant.seller_id, refresh_token,
                                                    time.time() + ACCESS_TOKEN_LIFETIME)
        return token

    def seller_for_access_token(self, token: str) -> str | None:
        """Return the seller of a valid, unexpired, unrevoked access token."""
        with self.lock:
            found = self.access_tokens.get(token)
            if found is None or found.expires <= time.time():
                return None
            grant = self.grants.get(found.refresh_token)
            if grant is None or grant.revoked:
                return None
            return found.seller_id

    def revoke(self, seller_id: str) -> None:
        """Revoke every grant of the seller (as "Remove app" in Manage Your Apps does)."""
        with self.lock:
            for grant in self.grants.values():
                if grant.seller_id == seller_id:
                    grant.revoked = True
            self.revoked_sellers.add(seller_id)

    def restore(self, seller_id: str) -> None:
        """Undo a revocation: the seller's grants work again."""
        with self.lock:
            for grant in self.grants.values():
                if grant.seller_id == seller_id:
                    grant.revoked = False
            self.revoked_sellers.discard(seller_id)

    def authorization_status(self, seller_id: str) -> str:
        """Return "authorized", "revoked" or "not authorized" for the Manage Your Apps page."""
        with self.lock:
            grants = [g for g in self.grants.values() if g.seller_id == seller_id]
            if any(not g.revoked for g in grants):
                return "authorized"
            if grants or seller_id in self.revoked_sellers:
                return "revoked"
            return "not authorized"

    # ---- feeds ---------------------------------------------------------------------------------------------

    def new_feed_id(self) -> str:
        """Return the next numeric feed ID, as Amazon's feed IDs look."""
        with self.lock:
            number = self.next_feed_number
            self.next_feed_number += 1
            return str(number)

    def new_report_id(self) -> str:
        """Return the next numeric report ID, as Amazon's report IDs look."""
        with self.lock:
            number = self.next_report_number
            self.next_report_number += 1
            return str(number)

    def listing_view(self, seller_id: str) -> dict[str, dict[str, Any]]:
        """Return the seller's listings as plain JSON values (price as a 2-decimal string)."""
        with self.lock:
            listings = self.listings.get(seller_id, {})
            return {sku: _listing_json(item) for sku, item in sorted(listings.items())}

    def listing_count(self, seller_id: str) -> int:
        """Return how many listings the seller has."""
        with self.lock:
            return len(self.listings.get(seller_id, {}))

    def recent_listings(self, seller_id: str, limit: int) -> list[tuple[str, dict[str, Any]]]:
        """Return the ``limit`` most recently updated listings, newest first (ties by SKU)."""
        with self.lock:
            items = self.listings.get(seller_id, {}).items()
            newest = heapq.nsmallest(limit, items, key=_newest_first)
            return [(sku, _listing_json(item)) for sku, item in newest]

    def listings_page(self, seller_id: str, prefix: str, page: int,
                      per_page: int) -> tuple[int, int, list[tuple[str, dict[str, Any]]]]:
        """Return how many SKUs start with ``prefix``, the page shown (kept in range) and its listings.

        Listings are in SKU order; a page past the last shows the last one.
        """
        with self.lock:
            listings = self.listings.get(seller_id, {})
            skus = sorted(sku for sku in listings if sku.startswith(prefix))
            page = min(max(page, 1), max(1, -(-len(skus) // per_page)))
            start = (page - 1) * per_page
            shown = skus[start:start + per_page]
            return len(skus), page, [(sku, _listing_json(listings[sku])) for sku in shown]


def _listing_json(item: Listing) -> dict[str, Any]:
    price = None if item.price_cents is None else f"{item.price_cents // 100}.{item.price_cents % 100:02d}"
    return {"quantity": item.quantity, "price": price, "updated_at": iso(item.updated_at),
            "feed_id": item.feed_id, "created_at": iso(item.created_at),
            "offer": dict(item.offer_extra or {}), "sale_price": _schedule_value(item, "discounted_price"),
            "issues": list(item.issues or []), "incomplete": item.incomplete, "source": item.source}


def _schedule_value(item: Listing, sub: str) -> str | None:
    """Return an offer sub-attribute's first price as a 2-decimal string (for the overview pages)."""
    try:
        value = (item.offer_extra or {})[sub][0]["schedule"][0]["value_with_tax"]
        return f"{Decimal(str(value)):.2f}"
    except (KeyError, IndexError, TypeError, ArithmeticError):
        return None


def _newest_first(entry: tuple[str, Listing]) -> tuple[float, str]:
    sku, item = entry
    # Never-updated listings sort last; the SKU breaks ties so a page never reshuffles between refreshes.
    return (-(item.updated_at.timestamp() if item.updated_at else 0.0), sku)
