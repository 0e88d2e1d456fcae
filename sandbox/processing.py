"""Process feeds in a background thread: IN_QUEUE → IN_PROGRESS → DONE (or FATAL), one per seller at a time.

Each phase lasts ``processing_delay / time_scale`` seconds. A JSON_LISTINGS_FEED document is validated against
Amazon's ``listings-feed-schema-v2.json``; each message then updates the seller's listing store or gets an
ERROR issue in the processing report (``listings-feed-processing-report-schema-v2.json``).
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from sandbox import listings
from sandbox.listings import NOT_SUPPORTED
from sandbox.models import Models, errors_of
from sandbox.store import Document, Feed, Store, utcnow

JSON_LISTINGS_FEED = "JSON_LISTINGS_FEED"
DUPLICATE_MESSAGE = "4000005"


@dataclass
class Change:
    """One message that passed the document checks: the patches to apply to the SKU."""

    message_id: int
    sku: str
    patches: list[dict[str, Any]]


@dataclass
class Outcome:
    """What checking a feed document found, before its messages are applied to the listings."""

    fatal: bool = False
    violations: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)
    invalid: int = 0
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
    seen: set[int] = set()
    for message in document["messages"]:
        message_id, sku = int(message["messageId"]), str(message["sku"])
        if message_id in seen:
            outcome.violations.append(f"feed {feed.id}: messageId {message_id} is used twice")
            outcome.issues.append(_issue(message_id, sku, DUPLICATE_MESSAGE,
                                         "The messageId must be unique within the feed."))
            outcome.invalid += 1
            continue
        seen.add(message_id)
        if message.get("operationType") != "PATCH":
            kind = message.get("operationType")
            outcome.issues.append(_issue(message_id, sku, NOT_SUPPORTED,
                                         f"The sandbox only processes PATCH messages, not {kind}."))
            outcome.invalid += 1
            continue
        outcome.changes.append(Change(message_id, sku, list(message.get("patches", []))))
    outcome.messages = len(document["messages"])
    return outcome


def report_for(feed: Feed, outcome: Outcome, issues: list[dict[str, Any]], accepted: int) -> dict[str, Any]:
    """Return the processing report (``listings-feed-processing-report-schema-v2.json``)."""
    return {
        "header": {"sellerId": feed.seller_id, "version": "2.0", "feedId": feed.id},
        "issues": issues,
        "summary": {"errors": sum(1 for i in issues if i["severity"] == "ERROR"), "warnings": 0,
                    "messagesProcessed": outcome.messages, "messagesAccepted": accepted,
                    "messagesInvalid": outcome.messages - accepted},
    }


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
            if outcome.fatal:
                feed.status = "FATAL"
                return
            issues, accepted = list(outcome.issues), 0
            for change in outcome.changes:
                store.received.append((feed.seller_id, feed.id, change.message_id, change.sku))
                problems, applied = listings.write(store, feed.seller_id, change.sku, change.patches,
                                                   now=feed.ended_at, source="feed", feed_id=feed.id)
                if not applied:
                    issues += [_issue(change.message_id, change.sku, p.code, p.message, p.attribute)
                               for p in problems]
                    continue
                accepted += 1
                store.applied.append((feed.seller_id, feed.id, change.message_id, change.sku))
            report = report_for(feed, outcome, issues, accepted)
            for problem in errors_of(self.models.report_schema, report):
                store.violation("createFeed", f"sandbox bug: report does not match the schema: {problem}")
            result = Document(f"amzn1.tortuga.4.na.result.{feed.id}", feed.seller_id, "application/json",
                              "result", time.monotonic(), gzip_json(report), compressed=True)
            store.documents[result.id] = result
            feed.result_document_id = result.id
            feed.summary = dict(report["summary"])
            feed.status = "DONE"


def init_app(app: Flask) -> None:
    """Attach the (not yet started) feed processor to the app."""
    app.extensions["sandbox_processor"] = Processor(app.extensions["sandbox_store"],
                                                    app.extensions["sandbox_models"])


def get_processor(app: Flask) -> Processor:
    """Return the app's feed processor."""
    processor: Processor = app.extensions["sandbox_processor"]
    return processor
