"""The floor the sync's planning is measured against (``bench_sync.py`` prints the ratio).

What no sync can avoid: a bare scan of the same columns (product joined with listing_state, through the
driver's cursor, server-side on PostgreSQL as the planner's), the same rule in a tight hand-written loop,
and the same messages serialized with ``orjson`` into feed documents of at most 25,000 messages, written to
files. No ordering by priority, no database writes, no hashing: a lower bound, not a competitor.

    .venv/bin/python bench/sync_floor.py DATABASE_URL ACCOUNT_ID   # prints one JSON line
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

SELLER = "A1PROSELLERUS01"
MAX_MESSAGES = 25_000
CHUNK = 10_000
SCAN = ("SELECT p.sku, p.available, p.price_cents, s.accepted_quantity, s.accepted_price_cents "
        "FROM product p LEFT JOIN listing_state s ON s.account_id = p.account_id AND s.sku = p.sku "
        "WHERE p.account_id = {mark} ORDER BY p.id")


def _message(message_id: int, sku: str, quantity: int | None, price: int | None) -> dict[str, Any]:
    patches: list[dict[str, Any]] = []
    if quantity is not None:
        patches.append({"op": "merge", "path": "/attributes/fulfillment_availability",
                        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}]})
    if price is not None:
        patches.append({"op": "replace", "path": "/attributes/purchasable_offer",
                        "value": [{"marketplace_id": "ATVPDKIKX0DER", "currency": "USD", "audience": "ALL",
                                   "our_price": [{"schedule": [{"value_with_tax": price / 100}]}]}]})
    return {"messageId": message_id, "sku": sku, "operationType": "PATCH", "productType": "PRODUCT",
            "patches": patches}


def floor(database_url: str, account_id: int) -> dict[str, Any]:
    """Scan, apply the rule, serialize and write what changed; return the time and what it wrote."""
    from wizard.db import engine_for
    from wizard.models import AmazonSettings
    from wizard.rules import Rules

    engine = engine_for(database_url)
    with engine.connect() as connection:
        settings = connection.execute(
            AmazonSettings.__table__.select().where(  # type: ignore[attr-defined]
                AmazonSettings.__table__.c.account_id == account_id)).first()  # type: ignore[attr-defined]
    rules = Rules() if settings is None else Rules(settings.inventory_buffer, settings.inventory_ceiling,
                                                  settings.min_price_cents, settings.disable_pricing)
    gate, ceiling, threshold = max(rules.inventory_buffer, 1), rules.inventory_ceiling, rules.min_price_cents
    pricing = not rules.disable_pricing
    out = Path(tempfile.mkdtemp(prefix="sync-floor-"))
    header = {"sellerId": SELLER, "version": "2.0", "issueLocale": "en_US"}
    # Millions of short-lived dicts would wake the cycle collector over and over: a floor does without it.
    gc.disable()
    started = time.perf_counter()
    raw = engine.raw_connection()
    # The planner's kind of cursor (``wizard.sync.plan.driver_rows``): on PostgreSQL a server-side one, read
    # CHUNK rows a round trip; psycopg's default cursor would hold all the rows in memory at once, which a
    # worker under its memory target cannot do.
    cursor = raw.cursor(name="sync_floor") if engine.dialect.name == "postgresql" else raw.cursor()
    mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    cursor.execute(SCAN.format(mark=mark), (account_id,))
    messages: list[dict[str, Any]] = []
    documents = changed = size = 0

    def flush() -> None:
        nonlocal documents, size
        content = orjson.dumps({"header": header, "messages": messages})
        (out / f"feed-{documents}.json").write_bytes(content)
        documents += 1
        size += len(content)
        messages.clear()

    while rows := cursor.fetchmany(CHUNK):
        for sku, available, price, last_quantity, last_price in rows:
            if price < threshold:
                quantity, listed = 0, False
            elif available < gate:
                quantity, listed = 0, True
            else:
                quantity, listed = (available if ceiling is None or available <= ceiling else ceiling), True
            send_price = price if pricing and listed and price > 0 and price != last_price else None
            send_quantity = quantity if quantity != last_quantity else None
            if send_quantity is None and send_price is None:
                continue
            changed += 1
            messages.append(_message(len(messages) + 1, sku, send_quantity, send_price))
            if len(messages) == MAX_MESSAGES:
                flush()
    if messages:
        flush()
    cursor.close()
    raw.close()
    elapsed = time.perf_counter() - started
    gc.enable()
    return {"changed": changed, "documents": documents, "document_mb": round(size / 2**20, 1),
            "floor_s": round(elapsed, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


if __name__ == "__main__":
    print(json.dumps(floor(sys.argv[1], int(sys.argv[2]))))
