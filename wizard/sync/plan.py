"""Plan a sync: which SKUs changed, in what order, in which JSON_LISTINGS_FEED documents.

The rules engine (``wizard.rules``) decides every quantity and price; this module only streams the catalog
through it, compares with what Amazon last *accepted* (``listing_state``), and packs what changed into feed
documents. The pure parts (messages, documents, ordering, batching) take plain values; the two queries at the
bottom read the database in id order, a chunk at a time, never the whole catalog.

Document bytes are built from plain values by :func:`build_document`, deterministically: the worker writes a
batch's values and its SHA-256 to the database when it plans it, and rebuilds the very same bytes when it
uploads (after a crash, too), so a batch has one content whatever happens.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import count, islice, starmap
from json.encoder import encode_basestring_ascii
from typing import IO, Any

from sqlalchemy import Select, and_, case, exists, or_, select
from sqlalchemy.engine import Connection as SAConnection
from sqlalchemy.orm import Session

from wizard import rules as r
from wizard.amazon.client import US_MARKETPLACE_ID
from wizard.db import table_of
from wizard.models.base import utcnow
from wizard.models.catalog import AmazonSettings, Product
from wizard.models.catalog_removals import RemovedSku
from wizard.models.sync import ListingState
from wizard.reconcile import gate
from wizard.rules import quantity_expr
from wizard.sync import rejections

FEED_TYPE = "JSON_LISTINGS_FEED"
#: The content type given to createFeedDocument and used again for the upload (Amazon requires the same).
CONTENT_TYPE = "application/json; charset=UTF-8"
#: Amazon's limits for one JSON_LISTINGS_FEED: 25,000 messages, "less than 10 MiB".
MAX_MESSAGES = 25_000
MAX_BYTES = 10 * 1024 * 1024 - 1
#: One message of a feed: ``(message_id, sku, quantity, price_cents)``; None leaves the attribute out.
MessageRow = tuple[int, str, int | None, int | None]
#: No price: the attribute is left out of the message (stored as -1 in the compact buffers).
_NONE = r.NOT_SENT


@dataclass(frozen=True)
class FeedLimits:
    """How big one feed document may get."""

    max_messages: int = MAX_MESSAGES
    max_bytes: int = MAX_BYTES


# ---- messages and documents --------------------------------------------------------------------------------


def format_price(cents: int) -> str:
    """Format cents as a JSON number with two decimals, exactly (no float rounding): 1999 -> "19.99"."""
    whole, part = divmod(cents, 100)
    return f"{whole}.{part:02d}"


# The three message shapes as ``%`` templates, so a message is one formatting operation: a million-SKU first
# sync builds every message twice (planning hashes the document, the upload rebuilds and checks it).
_MESSAGE_HEAD = '{"messageId":%d,"sku":%s,"operationType":"PATCH","productType":"PRODUCT","patches":['
_QUANTITY_PATCH = ('{"op":"merge","path":"/attributes/fulfillment_availability","value":'
                   '[{"fulfillment_channel_code":"DEFAULT","quantity":%d}]}')
# The price is a ``merge`` of the US offer, never a ``replace``: a replace of ``purchasable_offer`` sets the
# whole attribute, so one carrying only ``our_price`` DELETES the merchant's sale price (``discounted_price``)
# and ``minimum_/maximum_seller_allowed_price`` (FACTS.md §f, §i; issue 10 §1). A merge "must provide
# non-empty values for [the] selector field[s]" and makes "no changes to other optional fields if not
# included" (developer-docs "Merge a listing", FACTS.md §f); purchasable_offer's selectors are
# ``marketplace_id``, ``currency`` and ``audience`` (developer-docs "Manage purchasable offer", FACTS.md §i,
# which documents granular updates of the offer's sub-attributes; the 2025-06-16 changelog names
# purchasable_offer as a merge target). So this patch changes only ``our_price`` of the offer it selects.
# The decision and its sources: docs/amazon-listings.md.
_PRICE_PATCH = ('{"op":"merge","path":"/attributes/purchasable_offer","value":'
                f'[{{"marketplace_id":"{US_MARKETPLACE_ID}","currency":"USD","audience":"ALL",'
                '"our_price":[{"schedule":[{"value_with_tax":%d.%02d}]}]}]}')
_QUANTITY_MESSAGE = _MESSAGE_HEAD + _QUANTITY_PATCH + "]}"
_PRICE_MESSAGE = _MESSAGE_HEAD + _PRICE_PATCH + "]}"
_BOTH_MESSAGE = _MESSAGE_HEAD + _QUANTITY_PATCH + "," + _PRICE_PATCH + "]}"
#: ``json.dumps`` of a string with its defaults (``ensure_ascii``) is exactly this C function, minus the
#: generic encoder around it; its output is pure ASCII, so a message's length in characters is its length
#: in bytes.
_json_string = encode_basestring_ascii


def quantity_patch(quantity: int) -> str:
    """Return the patch that sets the merchant-fulfilled quantity, leaving the other fields alone (merge)."""
    return _QUANTITY_PATCH % int(quantity)


def price_patch(price_cents: int) -> str:
    """Return the patch that sets only ``our_price`` of the US offer for every buyer (a merge: the sale
    price and the min/max prices Amazon holds stay as they are)."""
    return _PRICE_PATCH % divmod(price_cents, 100)


def message_json(message_id: int, sku: str, quantity: int | None, price_cents: int | None) -> str:
    """Return one PATCH message as compact JSON (pure ASCII): a quantity patch, a price patch, or both."""
    if price_cents is None:
        if quantity is None:
            raise ValueError(f"message {message_id} for {sku!r} has nothing to send")
        return _QUANTITY_MESSAGE % (message_id, _json_string(sku), quantity)
    if quantity is None:
        return _PRICE_MESSAGE % (message_id, _json_string(sku), price_cents // 100, price_cents % 100)
    return _BOTH_MESSAGE % (message_id, _json_string(sku), quantity, price_cents // 100, price_cents % 100)


def document_head(seller_id: str) -> str:
    """Return the start of a feed document, up to the opening of its messages."""
    return (f'{{"header":{{"sellerId":{json.dumps(seller_id)},"version":"2.0","issueLocale":"en_US"}},'
            '"messages":[')


DOCUMENT_TAIL = "]}"


def build_document(seller_id: str, messages: Iterable[Sequence[Any]]) -> bytes:
    """Return the bytes of a feed document for ``(message_id, sku, quantity, price_cents)`` rows."""
    body = ",".join(starmap(message_json, messages))
    return (document_head(seller_id) + body + DOCUMENT_TAIL).encode()


def sha256(content: bytes) -> str:
    """Return the hex SHA-256 of a document."""
    return hashlib.sha256(content).hexdigest()


# ---- ordering and batching ---------------------------------------------------------------------------------


class ChangeBuffer:
    """Changes grouped by priority, in compact arrays: a million changes take tens of MB, not hundreds.

    Stock-outs go first, then decreases, then increases, then price-only changes; within a priority the
    catalog's order is kept. The values are machine integers (``array``); the SKUs are appended to plain lists
    (the planner's fast path) and :meth:`pack` joins each list into one NUL-separated string, so a million
    SKUs cost one string per 10,000 of them instead of a million objects (about 55 MB of the worker's peak).
    A SKU cannot hold a NUL (the catalog refuses control characters); a list that does anyway stays a list.
    """

    PRIORITIES = (r.PRIORITY_STOCK_OUT, r.PRIORITY_DECREASE, r.PRIORITY_INCREASE, r.PRIORITY_PRICE)

    def __init__(self) -> None:
        self._skus: dict[int, list[str]] = {p: [] for p in self.PRIORITIES}
        self._packed: dict[int, list[str | list[str]]] = {p: [] for p in self.PRIORITIES}
        self._packed_count: dict[int, int] = dict.fromkeys(self.PRIORITIES, 0)
        self._values: dict[int, array[int]] = {p: array("q") for p in self.PRIORITIES}

    def add(self, sku: str, update: r.Update) -> None:
        """Keep ``update`` for ``sku``."""
        priority = update.priority if update.priority in self._skus else r.PRIORITY_INCREASE
        self._skus[priority].append(sku)
        values = self._values[priority]
        values.append(_NONE if update.quantity is None else update.quantity)
        values.append(_NONE if update.price_cents is None else update.price_cents)

    def pack(self) -> None:
        """Move the SKUs appended since the last call into packed strings (order is kept)."""
        for priority, skus in self._skus.items():
            if not skus:
                continue
            joined = "\0".join(skus)
            self._packed[priority].append(joined if joined.count("\0") == len(skus) - 1 else list(skus))
            self._packed_count[priority] += len(skus)
            skus.clear()

    @property
    def skus_by_priority(self) -> dict[int, list[str]]:
        """Return the SKU lists by priority, for a values-only planner to append to."""
        return self._skus

    @property
    def values_by_priority(self) -> dict[int, array[int]]:
        """Return the ``quantity, price`` pairs by priority (``-1``: not sent), beside the SKU lists."""
        return self._values

    def __len__(self) -> int:
        return sum(self.count(priority) for priority in self.PRIORITIES)

    def count(self, priority: int) -> int:
        """Return how many changes have ``priority``."""
        return self._packed_count[priority] + len(self._skus[priority])

    def _skus_of(self, priority: int) -> Iterator[str]:
        for part in self._packed[priority]:
            yield from part.split("\0") if isinstance(part, str) else part
        yield from self._skus[priority]

    def __iter__(self) -> Iterator[tuple[str, int | None, int | None]]:
        """Yield ``(sku, quantity, price_cents)`` in send order."""
        for priority in self.PRIORITIES:
            # One iterator twice in zip: consecutive (quantity, price) pairs, without copying the values.
            values = iter(self._values[priority])
            for sku, quantity, price in zip(self._skus_of(priority), values, values):  # noqa: B905
                yield sku, (None if quantity == _NONE else quantity), (None if price == _NONE else price)


@dataclass
class PlannedBatch:
    """One feed's worth of messages, its document (bytes), the document's hash and size."""

    rows: list[MessageRow] = field(default_factory=list)
    content_sha256: str = ""
    size_bytes: int = 0
    content: bytes = b""

    @property
    def message_count(self) -> int:
        """Return how many messages the feed carries."""
        return len(self.rows)


def batch_changes(seller_id: str, changes: Iterable[tuple[str, int | None, int | None]],
                  limits: FeedLimits | None = None) -> Iterator[PlannedBatch]:
    """Pack changes into feeds of at most ``max_messages`` messages and under ``max_bytes`` bytes.

    ``messageId`` counts from 1 in each feed; the batch keeps it next to the SKU, so the processing report's
    issues join back to SKUs. Each message is built once here; the document is joined and hashed when its
    batch is full.
    """
    limits = limits or FeedLimits()
    max_messages, max_bytes = limits.max_messages, limits.max_bytes
    head = document_head(seller_id)
    # Messages and the head are pure ASCII (``ensure_ascii`` JSON), so lengths in characters are in bytes.
    fixed = len(head) + len(DOCUMENT_TAIL)
    remaining = iter(changes)
    left_over: list[tuple[str, int | None, int | None]] = []
    while chunk := left_over + list(islice(remaining, max_messages - len(left_over))):
        # A feed's worth at a time, numbered from 1: most feeds are full by count long before 10 MiB.
        rows: list[MessageRow] = [(message_id, *change) for message_id, change in enumerate(chunk, 1)]
        messages = list(starmap(message_json, rows))
        fits = len(messages)
        if fixed + sum(map(len, messages)) + fits - 1 > max_bytes:
            size, fits = fixed - 1, 0
            for message in messages:
                size += 1 + len(message)
                if size > max_bytes:
                    break
                fits += 1
            if not fits:
                raise ValueError(f"the update for {chunk[0][0]!r} alone exceeds the feed size limit")
        # What did not fit opens the next feed (numbered from 1 again there).
        left_over = chunk[fits:]
        yield _close(head, rows[:fits], messages[:fits])


def _close(head: str, rows: list[MessageRow], messages: list[str]) -> PlannedBatch:
    content = "".join((head, ",".join(messages), DOCUMENT_TAIL)).encode()
    return PlannedBatch(rows=rows, content_sha256=sha256(content), size_bytes=len(content), content=content)


class DocumentSpool:
    """Keep the documents built while planning until their upload, in one anonymous temporary file.

    The upload then reads the planned bytes instead of rebuilding them from ``listing_state`` (a million-SKU
    first sync would build every message twice). The file is unlinked as soon as it is created, so nothing
    outlives the process, even a killed one; a batch the spool does not hold (planned by another job, or
    before a crash) is rebuilt from the database as before.
    """

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._where: dict[int, tuple[int, int]] = {}

    def keep(self, batch_id: int, content: bytes) -> None:
        """Keep ``content`` as the document of ``batch_id``."""
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(prefix="ecommerce-feeds-")  # noqa: SIM115 - see close()
            offset = self._file.seek(0, os.SEEK_END)
            self._file.write(content)
            self._file.flush()
        except OSError:
            # A full or missing temporary folder costs only speed: the upload rebuilds the document.
            self.close()
            return
        self._where[batch_id] = (offset, len(content))

    def take(self, batch_id: int) -> bytes | None:
        """Return the document kept for ``batch_id`` (once), or None if it is not here."""
        where = self._where.pop(batch_id, None)
        if where is None or self._file is None:
            return None
        try:
            self._file.seek(where[0])
            return self._file.read(where[1])
        except OSError:
            return None  # rebuilt from the ledger instead

    def close(self) -> None:
        """Forget every document kept (the file goes away with its handle)."""
        if self._file is not None:
            self._file.close()
        self._file = None
        self._where.clear()


# ---- what changed: streaming the catalog through the rules engine ------------------------------------------

#: Rows read from the database per round trip.
CHUNK = 10_000
#: Server-side cursors need a name unique within their transaction.
_cursor_names = count(1)


def plan_changes(session: Session, account_id: int, rules: r.Rules, *,
                 only_on_amazon: bool = False, leave_to_lane: Any = None) -> ChangeBuffer:
    """Return every SKU whose quantity or price must be sent, in send order.

    Reads products in id order joined with their ``listing_state`` and what Amazon showed
    (``amazon_listing``); SKUs with a message in flight are left for the next run (a SKU is never in two
    feeds at once). The decision is compared with what Amazon shows as far as we know
    (:func:`wizard.reconcile.gate.last_known_quantity`): what it last accepted from us, or its own value when
    a read found it changed elsewhere since, so drift is corrected. With ``only_on_amazon`` a SKU is sent only
    when a sweep or a look-up saw its listing on Amazon (issue 10 §3). A SQL pre-filter built from the rules
    engine's own definition (``wizard.rules.quantity_expr``) drops rows that surely did not change; every
    remaining row goes through ``wizard.rules.values_planner``, generated from the same rule and checked
    against ``decide`` and ``plan_update`` by a property test. A SKU Amazon rejected is held back as
    :func:`wizard.sync.rejections.held_back` says (permanent: until a change or "Try again"; transient and
    unknown codes: until their next try is due). ``leave_to_lane`` (from
    :func:`wizard.sync.urgent.left_to_lane`) leaves the stock-outs the urgent lane is about to send out of the
    feed.
    """
    buffer = ChangeBuffer()
    pricing = not rules.disable_pricing
    state = table_of(ListingState).c
    product = table_of(Product).c
    last_quantity_expr, last_price_expr = gate.last_known_quantity(), gate.last_known_price()
    expected = quantity_expr(rules, product.available, product.price_cents)
    maybe_changed = or_(last_quantity_expr.is_(None), last_quantity_expr != expected)
    if pricing:
        maybe_changed = or_(maybe_changed, last_price_expr.is_(None), last_price_expr != product.price_cents)
    joined = gate.join_listing(table_of(Product).outerjoin(
        table_of(ListingState), and_(state.account_id == product.account_id, state.sku == product.sku)),
        product.account_id, product.sku)
    # A SKU Amazon rejected waits for a change, its back-off or "Try again" (issue 9 §1).
    settings_saved_at = session.scalar(select(table_of(AmazonSettings).c.saved_at).where(
        table_of(AmazonSettings).c.account_id == account_id))
    not_held = rejections.sendable(state, expected, product.price_cents, pricing=pricing, now=utcnow(),
                                   settings_saved_at=settings_saved_at)
    conditions = [product.account_id == account_id, state.inflight_batch_id.is_(None), maybe_changed,
                  not_held]
    if only_on_amazon:
        conditions.append(gate.LISTING.c.on_amazon.is_(True))
    if leave_to_lane is not None:
        # CASE, not NOT(...): the test is NULL for a SKU Amazon never accepted, and such a SKU is the feed's.
        conditions.append(case((leave_to_lane(expected, last_quantity_expr), 1), else_=0) == 0)
    query = (
        select(product.sku, product.available, product.price_cents, last_quantity_expr, last_price_expr)
        .select_from(joined).where(*conditions).order_by(product.id)
    )
    # The values-only planner: what plan_update(decide(...)) says, without building objects per SKU. It runs
    # on each chunk the cursor reads, and the chunk's SKUs are packed before the next one is read.
    planner = r.values_planner(rules)
    for chunk in driver_chunks(session, query):
        planner(chunk, buffer.skus_by_priority, buffer.values_by_priority)
        buffer.pack()
    forget_settled_removals(session, account_id)
    for sku, last_quantity in removed_products(session, account_id):
        update = r.removed_product_update(last_quantity)
        if update is not None:
            buffer.add(sku, update)
    for sku, amazon_quantity in gate.zero_requested(session, account_id):
        # The merchant confirmed "Set these to 0 on Amazon" for these Amazon-only SKUs.
        shown = "no quantity" if amazon_quantity is None else amazon_quantity
        buffer.add(sku, r.Update(quantity=0, price_cents=None, reason=r.REMOVED_FROM_CATALOG,
                                 explanation=f"Not in the catalog; you asked to set it to 0 (Amazon showed "
                                             f"{shown})", priority=r.PRIORITY_STOCK_OUT))
    return buffer


def forget_settled_removals(session: Session, account_id: int) -> None:
    """Delete the account's ``removed_sku`` rows that can no longer send a 0.

    A row is settled when its SKU is back in the catalog (the triggers record it again if it leaves again),
    when Amazon never had it from us, or when Amazon accepted its 0 and nothing is in flight. Rows still
    waiting for a 0 stay: Amazon shows stock, a 0 is in flight, a 0 was rejected and waits, or the accepted
    quantity is unknown. Without this the table kept every SKU a catalog ever lost, and each run read them
    all.
    """
    removed = table_of(RemovedSku)
    state = table_of(ListingState).c
    product = table_of(Product).c
    back = exists().where(product.account_id == removed.c.account_id, product.sku == removed.c.sku)
    waiting = exists().where(
        state.account_id == removed.c.account_id, state.sku == removed.c.sku,
        or_(state.inflight_batch_id.is_not(None), state.accepted_quantity.is_(None),
            state.accepted_quantity > 0))
    session.execute(removed.delete().where(removed.c.account_id == account_id, or_(back, ~waiting)))


def removed_products(session: Session, account_id: int) -> Iterator[tuple[str, int]]:
    """Yield ``(sku, accepted_quantity)`` of SKUs Amazon shows in stock that left the catalog.

    Only the SKUs the database recorded as removed (``removed_sku``, kept by triggers on ``product``) are
    read, not every SKU of the account: a SKU can leave the catalog only through such a write.
    """
    state = table_of(ListingState).c
    product = table_of(Product).c
    removed = table_of(RemovedSku).c
    in_catalog = exists().where(product.account_id == state.account_id, product.sku == state.sku)
    # A 0 Amazon rejected waits like any rejected update; settings do not change a 0.
    not_held = rejections.sendable(state, 0, None, pricing=False, now=utcnow(), settings_saved_at=None)
    query = (
        select(state.sku, state.accepted_quantity)
        .select_from(table_of(RemovedSku).join(
            table_of(ListingState), and_(state.account_id == removed.account_id, state.sku == removed.sku)))
        .where(removed.account_id == account_id, state.inflight_batch_id.is_(None),
               state.accepted_quantity > 0, ~in_catalog, not_held)
        .order_by(state.id)
    )
    for sku, quantity in driver_rows(session, query):
        yield str(sku), int(quantity)


def batch_messages(session: Session, batch_id: int) -> list[MessageRow]:
    """Return a batch's ``(message_id, sku, quantity, price_cents)`` rows, in message order."""
    state = table_of(ListingState).c
    query = (select(state.inflight_message_id, state.sku, state.inflight_quantity, state.inflight_price_cents)
             .where(state.inflight_batch_id == batch_id).order_by(state.inflight_message_id))
    return list(driver_rows(session, query))


def driver_rows(session: Session, query: Select[Any]) -> Iterator[Any]:
    """Yield the rows of ``query`` straight from the driver's cursor (see :func:`driver_chunks`)."""
    for chunk in driver_chunks(session, query):
        yield from chunk


def driver_chunks(session: Session, query: Select[Any]) -> Iterator[Sequence[Any]]:
    """Yield the rows of ``query`` straight from the driver's cursor, ``CHUNK`` rows at a time.

    For the million-row reads of a sync: the session's own result wraps every row in a ``Row`` (about twice
    the cost of reading it). Only for queries whose *result* columns are plain integers and strings (they
    need no conversion); bound values are converted as usual. The cursor is the session's connection's, so
    it reads in the same transaction.
    """
    connection = session.connection()
    statement, params = driver_statement(connection, query)
    if connection.dialect.name == "postgresql":
        # A server-side cursor (fetchmany reads CHUNK rows per round trip): psycopg's default cursor would
        # hold every row of a million-SKU scan in memory at once.
        cursor = connection.connection.cursor(name=f"driver_rows_{next(_cursor_names)}")
    else:
        cursor = connection.connection.cursor()
    try:
        cursor.execute(statement, params)
        while rows := cursor.fetchmany(CHUNK):
            yield rows
    finally:
        cursor.close()



def driver_statement(connection: SAConnection, query: Select[Any]) -> tuple[str, Any]:
    """Return ``query`` as the driver's SQL text and parameters (a tuple or a dict, as its paramstyle asks).

    Bound values still go through their column types (an Enum member becomes its stored name, a datetime
    SQLite's text): the driver gets exactly what the session would give it.
    """
    compiled = query.compile(dialect=connection.dialect)
    params = compiled.construct_params()
    for name, bind in compiled.binds.items():
        process = bind.type.bind_processor(connection.dialect)
        if process is not None and name in params:
            params[name] = process(params[name])
    if compiled.positional:
        return str(compiled), tuple(params[name] for name in compiled.positiontup or ())
    return str(compiled), params


__all__ = [
    "CONTENT_TYPE",
    "FEED_TYPE",
    "MAX_BYTES",
    "MAX_MESSAGES",
    "ChangeBuffer",
    "DocumentSpool",
    "FeedLimits",
    "PlannedBatch",
    "batch_changes",
    "batch_messages",
    "build_document",
    "driver_statement",
    "message_json",
    "plan_changes",
    "sha256",
]
