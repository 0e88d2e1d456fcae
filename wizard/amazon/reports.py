"""The Reports API 2021-06-30 and a streaming parser for ``GET_MERCHANT_LISTINGS_ALL_DATA``.

Request a report, follow it to DONE, then read its document as a stream: gzip (when
``compressionAlgorithm`` says GZIP) → text → tab-delimited rows, one at a time. The file is never held: a
million-row report parses in the memory of a few rows. Amazon facts: FACTS.md §i, ``reports_2021-06-30.json``.
"""

from __future__ import annotations

import csv
import gzip
import io
import operator
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, cast

from wizard.amazon.client import US_MARKETPLACE_ID
from wizard.amazon.errors import AmazonRequestError
from wizard.amazon.listings import cents, parse_time

if TYPE_CHECKING:
    from wizard.amazon.client import AmazonClient, SellerAuth

REPORTS = "/reports/2021-06-30"
MERCHANT_LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
TERMINAL_STATUSES = frozenset({"DONE", "CANCELLED", "FATAL"})
#: A flat-file field longer than this is not a listing (it bounds what one bad line can cost).
MAX_FIELD = 1 << 20


@dataclass(frozen=True)
class Report:
    """A report's processing state (``Report`` of the model)."""

    report_id: str
    report_type: str
    processing_status: str
    created_time: datetime | None
    report_document_id: str | None

    @property
    def finished(self) -> bool:
        """Return whether Amazon is done with it (DONE, CANCELLED — which also means no data — or FATAL)."""
        return self.processing_status in TERMINAL_STATUSES


@dataclass(frozen=True)
class ReportDocument:
    """Where to download a report file, and whether it is gzipped."""

    report_document_id: str
    url: str
    compression_algorithm: str | None


@dataclass(frozen=True)
class ListingRow:
    """One line of ``GET_MERCHANT_LISTINGS_ALL_DATA``, with the columns a reconcile uses."""

    sku: str
    asin: str | None
    item_name: str
    price_cents: int | None
    quantity: int | None
    status: str
    open_date: str
    fulfillment_channel: str
    listing_id: str

    @property
    def active(self) -> bool:
        """Return whether the report says the listing is Active."""
        return self.status.lower() == "active"


def _report(body: dict[str, Any]) -> Report:
    return Report(report_id=str(body["reportId"]), report_type=str(body.get("reportType", "")),
                  processing_status=str(body.get("processingStatus", "")),
                  created_time=parse_time(body.get("createdTime")),
                  report_document_id=body.get("reportDocumentId"))


def _charset(content_type: str | None) -> str:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip().strip('"')
    return "utf-8"


#: The columns a reconcile reads, in :class:`ListingRow`'s order (header names, lowercase).
_COLUMNS = ("seller-sku", "asin1", "item-name", "price", "quantity", "status", "open-date",
            "fulfillment-channel", "listing-id")


def _int(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() else None


def parse_listings_report(stream: IO[bytes], *, compressed: bool | None = None,
                          encoding: str = "utf-8") -> Iterator[ListingRow]:
    """Yield the rows of a merchant listings report read from a binary stream, one at a time.

    ``compressed`` None looks at the first bytes (gzip's magic number). Columns are found by their header
    names, so Amazon adding or moving a column changes nothing.
    """
    buffered = cast("io.BufferedReader", stream if isinstance(stream, io.BufferedReader)
                    else io.BufferedReader(cast("io.RawIOBase", stream)))
    if compressed is None:
        compressed = buffered.peek(2)[:2] == b"\x1f\x8b"
    binary = cast("IO[bytes]", gzip.GzipFile(fileobj=buffered, mode="rb") if compressed else buffered)
    text = io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="")
    previous = csv.field_size_limit()
    csv.field_size_limit(min(MAX_FIELD, sys.maxsize))
    try:
        reader = csv.reader(text, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            return
        index = {name.strip().lower(): i for i, name in enumerate(header)}
        if "seller-sku" not in index:
            raise AmazonRequestError("The listings report has no seller-sku column", code="invalid_report")
        # One itemgetter per row instead of a lookup per column (the hot loop of a million-row report); a
        # column the header lacks, or a short line, reads as "" from the padding.
        width = len(header)
        pick = operator.itemgetter(*(index.get(name, width) for name in _COLUMNS))
        padding = [""] * width
        for row in reader:
            if len(row) == width:
                row.append("")
            else:  # a short or long line: exactly the header's columns, then the empty slot
                row = [*(row + padding)[:width], ""]
            sku, asin, item_name, price, quantity, status, open_date, channel, listing_id = pick(row)
            if not sku:
                continue
            yield ListingRow(
                sku=sku, asin=asin or None, item_name=item_name,
                price_cents=cents(price) if price else None, quantity=_int(quantity), status=status,
                open_date=open_date, fulfillment_channel=channel, listing_id=listing_id,
            )
    finally:
        csv.field_size_limit(previous)


class ReportsApi:
    """The Reports API operations the full listings sweep needs."""

    def __init__(self, client: AmazonClient) -> None:
        self.client = client

    def create_report(self, seller: SellerAuth, report_type: str = MERCHANT_LISTINGS,
                      marketplace_ids: list[str] | None = None) -> str:
        """Request a report and return its ``reportId`` (``createReport``: about one a minute)."""
        body = self.client.call(seller, "createReport", "POST", f"{REPORTS}/reports", json={
            "reportType": report_type, "marketplaceIds": marketplace_ids or [US_MARKETPLACE_ID]}).json()
        return str(body["reportId"])

    def get_report(self, seller: SellerAuth, report_id: str) -> Report:
        """Return a report's processing state (``getReport``)."""
        return _report(self.client.call(seller, "getReport", "GET", f"{REPORTS}/reports/{report_id}").json())

    def get_report_document(self, seller: SellerAuth, report_document_id: str) -> ReportDocument:
        """Return where to download a report file (``getReportDocument``)."""
        body = self.client.call(seller, "getReportDocument", "GET",
                                f"{REPORTS}/documents/{report_document_id}").json()
        return ReportDocument(report_document_id=str(body["reportDocumentId"]), url=str(body["url"]),
                              compression_algorithm=body.get("compressionAlgorithm"))

    @contextmanager
    def listing_rows(self, document: ReportDocument) -> Iterator[Iterator[ListingRow]]:
        """Open a merchant listings report and give its rows as a stream (closed on leaving the block)."""
        response = self.client.open_download("downloadReportDocument", document.url)
        try:
            response.raw.decode_content = True  # undo a Content-Encoding, if the URL asked for one
            response.raw.auto_close = False  # io wrappers read once more at the end (urllib3's advice)
            compressed = None if document.compression_algorithm == "GZIP" else False
            yield parse_listings_report(response.raw, compressed=compressed,
                                        encoding=_charset(response.headers.get("Content-Type")))
        finally:
            response.close()


__all__ = [
    "MERCHANT_LISTINGS",
    "ListingRow",
    "Report",
    "ReportDocument",
    "ReportsApi",
    "parse_listings_report",
]
