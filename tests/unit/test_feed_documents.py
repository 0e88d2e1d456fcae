"""Feed documents: valid JSON_LISTINGS_FEED v2, within Amazon's limits, and byte-for-byte reproducible."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft7Validator

from sandbox.models import models_dir
from wizard import rules as r
from wizard.sync.plan import (
    ChangeBuffer,
    FeedLimits,
    batch_changes,
    build_document,
    format_price,
    message_json,
    sha256,
)

SELLER = "A1PROSELLERUS01"


@pytest.fixture(scope="module")
def feed_schema() -> Draft7Validator:
    schema = json.loads((models_dir() / "listings-feed-schema-v2.json").read_text())
    return Draft7Validator(schema)


def test_a_document_with_quantity_price_and_both_validates_against_amazons_schema(
        feed_schema: Draft7Validator) -> None:
    document = json.loads(build_document(SELLER, [
        (1, "QTY-ONLY", 7, None), (2, "PRICE-ONLY", None, 1999), (3, "BOTH \"quoted\" é", 0, 5)]))

    errors = [e.message for e in feed_schema.iter_errors(document)]

    assert errors == []
    assert document["header"] == {"sellerId": SELLER, "version": "2.0", "issueLocale": "en_US"}
    both = document["messages"][2]
    assert both["sku"] == 'BOTH "quoted" é'
    assert both["operationType"] == "PATCH" and both["productType"] == "PRODUCT"
    assert both["patches"][0] == {"op": "merge", "path": "/attributes/fulfillment_availability",
                                  "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}]}
    assert both["patches"][1] == {"op": "merge", "path": "/attributes/purchasable_offer", "value": [
        {"marketplace_id": "ATVPDKIKX0DER", "currency": "USD", "audience": "ALL",
         "our_price": [{"schedule": [{"value_with_tax": 0.05}]}]}]}


def test_prices_are_written_exactly_with_two_decimals() -> None:
    assert [format_price(c) for c in (0, 5, 100, 1999, 123456789)] == \
        ["0.00", "0.05", "1.00", "19.99", "1234567.89"]
    assert '"value_with_tax":19.99}' in message_json(1, "A", None, 1999)


def test_a_message_with_nothing_to_send_is_refused() -> None:
    with pytest.raises(ValueError, match="nothing to send"):
        message_json(1, "A", None, None)


def test_batches_hold_at_most_the_message_limit_and_number_messages_from_one() -> None:
    changes = [(f"SKU-{i}", i, None) for i in range(12)]

    batches = list(batch_changes(SELLER, changes, FeedLimits(max_messages=5)))

    assert [b.message_count for b in batches] == [5, 5, 2]
    assert [row[0] for row in batches[1].rows] == [1, 2, 3, 4, 5]
    assert [row[1] for row in batches[2].rows] == ["SKU-10", "SKU-11"]


def test_batches_stay_under_the_size_limit_and_their_hash_is_the_documents(
        feed_schema: Draft7Validator) -> None:
    changes = [(f"SKU-{i:05d}", i, 1000 + i) for i in range(100)]
    limit = 4000

    batches = list(batch_changes(SELLER, changes, FeedLimits(max_bytes=limit)))

    assert len(batches) > 1
    assert sum(b.message_count for b in batches) == 100
    for batch in batches:
        content = build_document(SELLER, batch.rows)
        assert len(content) <= limit
        assert len(content) == batch.size_bytes
        assert sha256(content) == batch.content_sha256
        assert not list(feed_schema.iter_errors(json.loads(content)))


def test_a_full_feed_of_the_longest_skus_stays_under_ten_mib() -> None:
    changes = [(f"{i:040d}", 99999, 99999999) for i in range(25_000)]

    batches = list(batch_changes(SELLER, changes))

    assert all(b.size_bytes < 10 * 1024 * 1024 for b in batches)
    assert sum(b.message_count for b in batches) == 25_000


def test_stock_outs_go_first_then_decreases_then_increases_then_prices() -> None:
    buffer = ChangeBuffer()
    buffer.add("PRICE", r.Update(None, 1500, "in_stock", "", r.PRIORITY_PRICE))
    buffer.add("UP", r.Update(9, None, "in_stock", "", r.PRIORITY_INCREASE))
    buffer.add("OUT", r.Update(0, None, "out_of_stock", "", r.PRIORITY_STOCK_OUT))
    buffer.add("DOWN", r.Update(2, 700, "in_stock", "", r.PRIORITY_DECREASE))
    buffer.add("OUT2", r.Update(0, None, "below_buffer", "", r.PRIORITY_STOCK_OUT))

    assert list(buffer) == [("OUT", 0, None), ("OUT2", 0, None), ("DOWN", 2, 700), ("UP", 9, None),
                            ("PRICE", None, 1500)]
    assert len(buffer) == 5


def test_packed_skus_come_back_in_order_with_their_values_and_a_sku_with_a_nul_stays_whole() -> None:
    buffer = ChangeBuffer()
    expected = []
    for n in range(25):
        sku = f"SKU-{n}" if n != 7 else "ODD\0SKU"  # a NUL the catalog would refuse: kept whole anyway
        priority = (r.PRIORITY_STOCK_OUT, r.PRIORITY_INCREASE)[n % 2]
        quantity = 0 if priority == r.PRIORITY_STOCK_OUT else n
        buffer.add(sku, r.Update(quantity, None, "in_stock", "", priority))
        if n % 4 == 3:
            buffer.pack()  # as the planner does after each chunk the cursor read
        expected.append((priority, sku, quantity))
    buffer.add("LAST", r.Update(3, 250, "in_stock", "", r.PRIORITY_PRICE))  # after the last pack

    in_order = [(sku, quantity, None) for _, sku, quantity in sorted(expected, key=lambda e: e[0] != 0)]
    assert list(buffer) == [*in_order, ("LAST", 3, 250)]
    assert len(buffer) == 26 and buffer.count(r.PRIORITY_STOCK_OUT) == 13
