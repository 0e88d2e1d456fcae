"""The streaming parser of GET_MERCHANT_LISTINGS_ALL_DATA: columns by name, gzip or not, bounded memory."""

from __future__ import annotations

import gzip
import io
import tracemalloc

from sandbox.reports import COLUMNS
from wizard.amazon.reports import parse_listings_report


def _line(values: dict[str, str], columns: tuple[str, ...] = COLUMNS) -> str:
    return "\t".join(values.get(c, "") for c in columns) + "\n"


def test_rows_are_read_by_column_name_whatever_the_order() -> None:
    columns = tuple(reversed(COLUMNS))
    text = "\t".join(columns) + "\n" + _line({"seller-sku": "TENT-1", "price": "199.99", "quantity": "7",
                                              "status": "Active", "asin1": "B0TENT0001",
                                              "item-name": "Trail tent"}, columns)
    rows = list(parse_listings_report(io.BytesIO(text.encode())))
    assert len(rows) == 1
    row = rows[0]
    assert (row.sku, row.price_cents, row.quantity, row.asin, row.item_name, row.active) == \
        ("TENT-1", 19999, 7, "B0TENT0001", "Trail tent", True)


def test_gzip_is_detected_and_empty_values_are_none() -> None:
    text = "\t".join(COLUMNS) + "\n" + _line({"seller-sku": "FBA-1", "status": "Inactive"})
    rows = list(parse_listings_report(io.BytesIO(gzip.compress(text.encode()))))
    assert (rows[0].sku, rows[0].price_cents, rows[0].quantity, rows[0].asin, rows[0].active) == \
        ("FBA-1", None, None, None, False)


def test_a_large_report_parses_in_bounded_memory() -> None:
    body = "".join(_line({"seller-sku": f"R-{i:08d}", "price": "3.25", "quantity": "2", "status": "Active",
                          "item-name": "A product name of a realistic length for a listing"})
                   for i in range(200_000))
    data = gzip.compress(("\t".join(COLUMNS) + "\n" + body).encode())
    tracemalloc.start()
    count = sum(1 for _ in parse_listings_report(io.BytesIO(data)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 200_000
    # The decompressed file is about 25 MB; row by row, the parser never holds more than a sliver of it.
    assert peak < len(body) // 50
