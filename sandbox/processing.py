"""Process feeds in a background thread: IN_QUEUE → IN_PROGRESS → DONE (or FATAL), one per seller at a time.

Each phase lasts ``processing_delay / time_scale`` seconds. A JSON_LISTINGS_FEED document is validated against
Amazon's ``listings-feed-schema-v2.json``; each message then updates the seller's listing store or gets an
ERROR issue in the processing report (``listings-feed-processing-report-schema-v2.json``).
"""

from __future__ import annotations

import gzip
import json
import math
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Flask

from sandbox.models import Models, errors_of
from sandbox.store import Document, Feed, Listing, Store, utcnow

JSON_LISTINGS_FEED = "JSON_LISTINGS_FEED"
US_MARKETPLACE = "ATVPDKIKX0DER"
QUANTITY_PATH = "/attributes/fulfillment_availability"
PRICE_PATH = "/attributes/purchasable_offer"
#: Issue codes in the style of Amazon's numeric listing issue codes.
SKU_NOT_FOUND = "4000001"
INVALID_VALUE = "4000003"
NOT_SUPPORTED = "4000004"
DUPLICATE_MESSAGE = "4000005"
UNKNOWN_SKU_PREFIX = "UNKNOWN-"


@dataclass
class Change:
    """One accepted message: what it sets on the SKU."""

    message_id: int
    sku: str
    quantity: int | None = None
    price: Decimal | None = None


@dataclass
class Outcome:
    """What processing a feed document decided, before it is applied to the store."""

    fatal: bool = False
    violations: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    report: dict[str, Any] | None = None
    messages: int = 0


def gzip_json(value: Any) -> bytes:
    """Return ``value`` as gzipped JSON bytes (how processing reports are stored)."""
    return gzip.compress(json.dumps(value).encode("utf-8"))


def _issue(message_id: int, sku: str, code: str, message: str,
           attribute: str | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {"messageId": message_id, "sku": sku, "code": code, "severity": "ERROR",
                             "message": message}
    if attribute:
        issue["attributeName"] = attribute
    return issue


def _quantity(value: Any) -> tuple[int | None, str | None]:
    items = [v for v in value if isinstance(v, dict) and v.get("fulfillment_channel_code") == "DEFAULT"] \
        if isinstance(value, list) else []
    if not items:
        return None, "fulfillment_availability needs an entry with fulfillment_channel_code DEFAULT."
    quantity = items[0].get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        return None, "The quantity must be a whole number."
    if quantity < 0:
        return None, f"The quantity {quantity} is negative; it must be 0 or more."
    return quantity, None


def _price(value: Any) -> tuple[Decimal | None, str | None]:
    offers = [v for v in value if isinstance(v, dict) and v.get("marketplace_id") == US_MARKETPLACE] \
        if isinstance(value, list) else []
    if not offers:
        return None, f"purchasable_offer needs an entry for marketplace_id {US_MARKETPLACE}."
    offer = offers[0]
    if offer.get("currency") != "USD":
        return None, f"The currency {offer.get('currency')!r} is not valid for Amazon.com; use USD."
    if offer.get("audience") != "ALL":
        return None, "The audience must be ALL."
    try:
        raw = offer["our_price"][0]["schedule"][0]["value_with_tax"]
    except (KeyError, IndexError, TypeError):
        return None, "our_price[0].schedule[0].value_with_tax is required."
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        return None, "value_with_tax must be a number."
    try:
        price = Decimal(str(raw))
    except InvalidOperation:
        return None, "value_with_tax must be a number."
    if price <= 0:
        return None, f"The price {price} must be greater than 0."
    if price != price.quantize(Decimal("0.01")):
        return None, f"The price {price} has more than 2 decimal places."
    return price.quantize(Decimal("0.01")), None


def _message(message: dict[str, Any]) -> tuple[Change | None, list[dict[str, Any]]]:
    message_id, sku = int(message["messageId"]), str(message["sku"])
    if sku.startswith(UNKNOWN_SKU_PREFIX):
        return None, [_issue(message_id, sku, SKU_NOT_FOUND, "The SKU is not in your Amazon catalog")]
    if message.get("operationType") != "PATCH":
        kind = message.get("operationType")
        return None, [_issue(message_id, sku, NOT_SUPPORTED,
                             f"The sandbox only processes PATCH messages, not {kind}.")]
    change, issues = Change(message_id, sku), []
    for patch in message.get("patches", []):
        path, op = patch.get("path"), patch.get("op")
        if path == QUANTITY_PATH and op in ("merge", "replace"):
            change.quantity, problem = _quantity(patch.get("value"))
            attribute = "fulfillment_availability"
        elif path == PRICE_PATH and op in ("merge", "replace"):
            change.price, problem = _price(patch.get("value"))
            attribute = "purchasable_offer"
        else:
            problem, attribute = f"The patch {op} {path} is not supported.", (path or "").rsplit("/", 1)[-1]
        if problem:
            issues.append(_issue(message_id, sku, INVALID_VALUE if "not supported" not in problem
                                 else NOT_SUPPORTED, problem, attribute))
    return (None, issues) if issues else (change, [])


def evaluate(content: bytes | None, feed: Feed, models: Models) -> Outcome:
    """Decide what a feed does: FATAL with violations, or accepted changes plus a processing report."""
    outcome = Outcome()
    if content is None:
        outcome.fatal = True
        return outcome
    if feed.feed_type != JSON_LISTINGS_FEED:
        outcome.violations.append(f"feedType {feed.feed_type} is not processed by the sandbox")
        outcome.fatal = True
        return outcome
    try:
        document = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        outcome.violations.append(f"feed {feed.id}: the document is not UTF-8 JSON ({exc})")
        outcome.fatal = True
        return outcome
    problems = errors_of(models.feed_schema, document)
    if problems:
        outcome.violations.append(f"feed {feed.id} does not match listings-feed-schema-v2: "
                                  + "; ".join(problems))
        outcome.fatal = True
        return outcome
    if document["header"]["sellerId"] != feed.seller_id:
        sent = document["header"]["sellerId"]
        outcome.violations.append(f"feed {feed.id}: header sellerId {sent} is not the "
                                  f"seller of the access token ({feed.seller_id})")
        outcome.fatal = True
        return outcome
    issues: list[dict[str, Any]] = []
    seen: set[int] = set()
    accepted = invalid = 0
    for message in document["messages"]:
        message_id = int(message["messageId"])
        if message_id in seen:
            outcome.violations.append(f"feed {feed.id}: messageId {message_id} is used twice")
            issues.append(_issue(message_id, str(message["sku"]), DUPLICATE_MESSAGE,
                                 "The messageId must be unique within the feed."))
            invalid += 1
            continue
        seen.add(message_id)
        change, found = _message(message)
        issues += found
        if change is None:
            invalid += 1
        else:
            accepted += 1
            outcome.changes.append(change)
    outcome.messages = len(document["messages"])
    outcome.report = {
        "header": {"sellerId": feed.seller_id, "version": "2.0", "feedId": feed.id},
        "issues": issues,
        "summary": {"errors": sum(1 for i in issues if i["severity"] == "ERROR"), "warnings": 0,
                    "messagesProcessed": outcome.messages, "messagesAccepted": accepted,
                    "messagesInvalid": invalid},
    }
    for problem in errors_of(models.report_schema, outcome.report):
        outcome.violations.append(f"sandbox bug: report does not match the schema: {problem}")
    return outcome


class Processor:
    """The background thread that moves feeds through their states."""

    def __init__(self, store: Store, models: Models) -> None:
        self.store = store
        self.models = models
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def ensure_started(self) -> None:
        """Start the thread on first use (nothing runs at import or app creation)."""
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sandbox-feeds", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self.store.changed:
                work, wait = self._next_step()
                if work is None:
                    self.store.changed.wait(timeout=wait)
                    continue
            self._process(*work)

    def _next_step(self) -> tuple[tuple[str, int] | None, float]:
        """Advance queued feeds; return a feed due for processing, or how long to sleep."""
        store = self.store
        if store.paused:
            return None, 0.5
        now = time.monotonic()
        delay = store.processing_delay / max(store.time_scale, 1e-9)
        wait = 0.5
        by_seller: dict[str, list[Feed]] = {}
        for feed in store.feeds.values():
            if feed.status in ("IN_QUEUE", "IN_PROGRESS"):
                by_seller.setdefault(feed.seller_id, []).append(feed)
        for feeds in by_seller.values():
            running = [f for f in feeds if f.status == "IN_PROGRESS"]
            head = running[0] if running else feeds[0]
            if head.ready_at is None:
                head.ready_at = now + delay
            if head.ready_at > now:
                wait = min(wait, head.ready_at - now)
            elif head.status == "IN_PROGRESS":
                return (head.id, store.generation), 0.0
            else:
                head.status, head.started_at, head.ready_at = "IN_PROGRESS", utcnow(), now + delay
                wait = min(wait, delay)
        return None, max(wait, 0.001)

    def _process(self, feed_id: str, generation: int) -> None:
        store = self.store
        with store.lock:
            feed = store.feeds[feed_id]
            document = store.documents.get(feed.input_document_id)
            content = document.content if document else None
        outcome = evaluate(content, feed, self.models)
        with store.lock:
            if store.generation != generation:
                return  # the sandbox was reset meanwhile
            for violation in outcome.violations:
                store.violation("createFeed", violation)
            feed.messages = outcome.messages
            feed.ended_at = utcnow()
            if outcome.fatal or outcome.report is None:
                feed.status = "FATAL"
                return
            for change in outcome.changes:
                listing = store.listings.setdefault(feed.seller_id, {}).setdefault(change.sku, Listing())
                if change.quantity is not None:
                    listing.quantity = change.quantity
                if change.price is not None:
                    listing.price = change.price
                listing.updated_at, listing.feed_id = feed.ended_at, feed.id
                store.applied.append((feed.seller_id, feed.id, change.message_id, change.sku))
            result = Document(f"amzn1.tortuga.4.na.result.{feed.id}", feed.seller_id, "application/json",
                              "result", time.monotonic(), gzip_json(outcome.report), compressed=True)
            store.documents[result.id] = result
            feed.result_document_id = result.id
            feed.summary = dict(outcome.report["summary"])
            feed.status = "DONE"


def init_app(app: Flask) -> None:
    """Attach the (not yet started) feed processor to the app."""
    app.extensions["sandbox_processor"] = Processor(app.extensions["sandbox_store"],
                                                    app.extensions["sandbox_models"])


def get_processor(app: Flask) -> Processor:
    """Return the app's feed processor."""
    return app.extensions["sandbox_processor"]
